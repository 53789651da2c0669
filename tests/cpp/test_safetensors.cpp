// safetensors: round trips of every dtype (mmap and copied, file and bytes), non-contiguous and
// empty tensors, metadata, the atomic write, and a FormatError (never a crash) for every malformed
// or truncated file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lamina/io/safetensors.h"
#include "lamina/io/safetensors_header.h"
#include "lamina/lamina.h"

using namespace lamina;

namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "lamina_st_" + name; }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The raw bytes of `t` in C order.
std::string raw(const Tensor& t) {
  Tensor c = t.contiguous();
  return {static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel() * c.element_size())};
}

// A tensor of `shape` and `dt` whose bytes follow a pattern from `seed` (0 / 1 for bool).
Tensor patterned(const Shape& shape, Dtype dt, int seed) {
  Tensor t = empty(shape, {dt, kCPU});
  auto* p = static_cast<unsigned char*>(t.data_ptr());
  const int64_t n = t.numel() * t.element_size();
  for (int64_t i = 0; i < n; ++i)
    p[i] = dt == Dtype::Bool ? static_cast<unsigned char>((i + seed) % 3 == 0)
                             : static_cast<unsigned char>(i * 7 + seed * 13 + 1);
  if (dt == Dtype::Float16 || dt == Dtype::BFloat16 || dt == Dtype::Float32 || dt == Dtype::Float64) {
    // keep the values finite and NaN-free so value comparisons are meaningful
    copy_(t, arange(Scalar(0.5 * seed), Scalar(0.5 * seed + 0.25 * static_cast<double>(t.numel())), Scalar(0.25),
                    {dt, kCPU})
                 .reshape(shape));
  }
  return t;
}

bool same(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && raw(a) == raw(b);
}

// A file image with header `json` (padded to `pad` bytes when larger) and `data` bytes.
std::string image(const std::string& json, const std::string& data, uint64_t declared = ~0ull) {
  const uint64_t n = declared == ~0ull ? json.size() : declared;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + json + data;
}

const Dtype kAll[] = {Dtype::Bool,    Dtype::UInt8,    Dtype::Int8,    Dtype::Int32,  Dtype::Int64,
                      Dtype::Float16, Dtype::BFloat16, Dtype::Float32, Dtype::Float64};

void expect_format_error(const std::string& bytes, const std::string& fragment) {
  try {
    io::load_bytes(bytes);
    ADD_FAILURE() << "no FormatError for " << fragment;
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDtypeFileAndBytes) {
  io::TensorMap in;
  int seed = 0;
  for (const Dtype dt : kAll) in.emplace_back(std::string(dtype_name(dt)), patterned({3, 5}, dt, ++seed));
  const std::string path = temp_path("all.safetensors");
  io::save_file(in, path, {{"format", "pt"}, {"note", "h\xc3\xa9llo"}});
  for (const bool mmap : {true, false}) {
    io::LoadedFile f = io::load_file(path, mmap);
    ASSERT_EQ(f.tensors.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ(f.tensors[i].first, in[i].first);  // header order = the order given
      EXPECT_TRUE(same(f.tensors[i].second, in[i].second)) << in[i].first;
    }
    EXPECT_EQ(f.metadata.at("format"), "pt");
    EXPECT_EQ(f.metadata.at("note"), "h\xc3\xa9llo");
  }
  const std::string bytes = io::save_bytes(in, {{"format", "pt"}, {"note", "h\xc3\xa9llo"}});
  EXPECT_EQ(bytes, read_bytes(path));
  io::LoadedFile b = io::load_bytes(bytes);
  for (size_t i = 0; i < in.size(); ++i) EXPECT_TRUE(same(b.tensors[i].second, in[i].second));
  // the data buffer starts 8-aligned and every tensor is aligned to its item size
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  const io::ParsedHeader h =
      io::parse_header(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int64_t>(bytes.size()), "x");
  for (const auto& e : h.entries) EXPECT_EQ(e.begin % io::st_itemsize(e.dtype), 0) << e.name;
}

TEST(Safetensors, MmapTensorsViewTheMappingAndOutliveIt) {
  const std::string path = temp_path("mmap.safetensors");
  Tensor w = patterned({4, 4}, Dtype::Float32, 1);
  io::save_file({{"w", w}}, path);
  Tensor loaded;
  {
    io::LoadedFile f = io::load_file(path, true);
    loaded = f.tensors[0].second;
  }
  std::filesystem::remove(path);  // the mapping stays valid
  EXPECT_TRUE(same(loaded, w));
  copy_(loaded, zeros_like(loaded));  // private pages: writable
  EXPECT_FALSE(same(loaded, w));
}

TEST(Safetensors, NonContiguousZeroDimAndEmptyTensors) {
  Tensor base = patterned({4, 6}, Dtype::Float64, 2);
  Tensor t = base.t();                                 // transposed
  Tensor s = base.slice(1, 0, 6, 2);                   // strided
  Tensor e0 = empty({0, 3}, {Dtype::Float32, kCPU});   // empty
  Tensor scalar = scalar_tensor(Scalar(int64_t{42}));  // 0-d
  Tensor eb = empty({0}, {Dtype::Bool, kCPU});
  io::TensorMap in{{"t", t}, {"s", s}, {"e0", e0}, {"scalar", scalar}, {"eb", eb}};
  const std::string path = temp_path("shapes.safetensors");
  io::save_file(in, path);
  for (const bool mmap : {true, false}) {
    io::LoadedFile f = io::load_file(path, mmap);
    ASSERT_EQ(f.tensors.size(), 5u);
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_TRUE(same(f.tensors[i].second, in[i].second)) << in[i].first;
      EXPECT_TRUE(f.tensors[i].second.is_contiguous());
    }
    EXPECT_EQ(f.tensors[3].second.dim(), 0);
    EXPECT_EQ(f.tensors[3].second.item<int64_t>(), 42);
    EXPECT_TRUE(f.metadata.empty());
  }
  // An empty map is a valid file too.
  io::LoadedFile none = io::load_bytes(io::save_bytes({}));
  EXPECT_TRUE(none.tensors.empty());
}

TEST(Safetensors, ForeignLayoutsAndWidenedTypes) {
  // Hand-written header: metadata last, tensors listed out of data order, an unaligned I32, I16/U16/U32.
  std::string data;
  auto put = [&](const void* p, size_t n) { data.append(static_cast<const char*>(p), n); };
  const uint8_t u8[1] = {7};
  const int32_t i32[2] = {-5, 1 << 30};
  const int16_t i16[2] = {-2, 300};
  const uint16_t u16[1] = {65535};
  const uint32_t u32[1] = {4000000000u};
  put(u8, 1);   // [0,1)
  put(i32, 8);  // [1,9) unaligned
  put(i16, 4);  // [9,13)
  put(u16, 2);  // [13,15)
  put(u32, 4);  // [15,19)
  const std::string json =
      R"({"c":{"dtype":"I16","shape":[2],"data_offsets":[9,13]},)"
      R"("b":{"dtype":"I32","shape":[2,1],"data_offsets":[1,9]},"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},)"
      R"("d":{"dtype":"U16","shape":[1],"data_offsets":[13,15]},"e":{"dtype":"U32","shape":[1],"data_offsets":[15,19]},)"
      R"("__metadata__":{"k":"v"}}   )";
  const std::string bytes = image(json, data);
  const std::string path = temp_path("foreign.safetensors");
  write_bytes(path, bytes);
  for (const bool mmap : {true, false}) {
    io::LoadedFile f = io::load_file(path, mmap);
    ASSERT_EQ(f.tensors.size(), 5u);
    EXPECT_EQ(f.tensors[0].first, "c");
    EXPECT_EQ(f.tensors[1].first, "b");
    EXPECT_EQ(f.tensors[0].second.dtype(), Dtype::Int32);
    EXPECT_EQ(f.tensors[0].second.select(0, 0).item<int64_t>(), -2);
    EXPECT_EQ(f.tensors[0].second.select(0, 1).item<int64_t>(), 300);
    EXPECT_EQ(f.tensors[1].second.select(0, 1).item<int64_t>(), 1 << 30);
    EXPECT_EQ(f.tensors[2].second.item<int64_t>(), 7);
    EXPECT_EQ(f.tensors[3].second.select(0, 0).item<int64_t>(), 65535);
    EXPECT_EQ(f.tensors[4].second.dtype(), Dtype::Int64);
    EXPECT_EQ(f.tensors[4].second.select(0, 0).item<int64_t>(), 4000000000ll);
    EXPECT_EQ(f.metadata.at("k"), "v");
  }
  // F8 / U64 are valid files but have no lamina equivalent.
  EXPECT_THROW(io::load_bytes(image(R"({"x":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0'))),
               DTypeError);
  // Bool bytes other than 0/1 are normalized.
  io::LoadedFile bb = io::load_bytes(
      image(R"({"x":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\x00\x02\x01", 3)));
  EXPECT_EQ(raw(bb.tensors[0].second), std::string("\x00\x01\x01", 3));
}

TEST(Safetensors, RejectsBadNamesOnWrite) {
  Tensor t = zeros({2});
  EXPECT_THROW(io::save_bytes({{"a", t}, {"a", t}}), ValueError);
  EXPECT_THROW(io::save_bytes({{"__metadata__", t}}), ValueError);
  EXPECT_THROW(io::save_bytes({{"a", Tensor()}}), ValueError);
  EXPECT_THROW(io::save_bytes({{"bad\xff", t}}), ValueError);
}

TEST(Safetensors, MalformedFilesRaiseFormatError) {
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string d8(8, '\0');
  EXPECT_NO_THROW(io::load_bytes(image("{" + ok_entry + "}", d8)));
  expect_format_error("", "fewer than the 8-byte");
  expect_format_error(std::string(7, '\0'), "fewer than the 8-byte");
  expect_format_error(image("{" + ok_entry + "}", d8, 1000), "runs past the end");
  expect_format_error(image("{}", "", 200'000'000), "exceeds");
  expect_format_error(image("{" + ok_entry, d8), "not valid JSON");
  expect_format_error(image(" {" + ok_entry + "}", d8), "does not start with '{'");
  expect_format_error(image("[1,2]", ""), "does not start with '{'");
  expect_format_error(image("{\"a\":1}", ""), "is not an object");
  expect_format_error(image(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", d8), "\"dtype\"");
  expect_format_error(image(R"({"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", d8), "unknown dtype");
  expect_format_error(image(R"({"a":{"dtype":3,"shape":[2],"data_offsets":[0,8]}})", d8), "\"dtype\"");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8), "non-negative");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", d8), "non-negative");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", d8), "\"shape\"");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8), "needs 12 bytes");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", d8), "past the end");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d8), "end before");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d8), "data_offsets");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", d8), "non-negative");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", d8),
                      "more than 2^64");
  expect_format_error(
      image(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          std::string(12, '\0')),
      "overlap");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8), "gap");
  expect_format_error(image("{" + ok_entry + "}", d8 + "xx"), "cover 8 bytes of the 10-byte");
  expect_format_error(image("{" + ok_entry + "," + ok_entry + "}", d8), "repeats the key");
  expect_format_error(image(R"({"__metadata__":{"k":1}})", ""), "not a string");
  expect_format_error(image(R"({"__metadata__":[1]})", ""), "__metadata__ is not an object");
  expect_format_error(image(R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", d8), "nests deeper");
  expect_format_error(image("{\"a\":" + std::string(100000, '[') + "}", ""), "nests deeper");
  expect_format_error(image("{\"a\xff\":1}", ""), "not valid JSON");
  // The path is named.
  const std::string path = temp_path("bad.safetensors");
  write_bytes(path, image("{" + ok_entry + "}", "x"));
  for (const bool mmap : {true, false}) {
    try {
      io::load_file(path, mmap);
      ADD_FAILURE() << "no FormatError";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(Safetensors, EveryTruncationRaisesFormatError) {
  const std::string full = io::save_bytes(
      {{"w", patterned({2, 3}, Dtype::Float32, 1)}, {"b", patterned({3}, Dtype::Int8, 2)}}, {{"m", "x"}});
  const std::string path = temp_path("trunc.safetensors");
  for (size_t len = 0; len < full.size(); ++len) {
    const std::string cut = full.substr(0, len);
    EXPECT_THROW(io::load_bytes(cut), FormatError) << len;
    write_bytes(path, cut);
    EXPECT_THROW(io::load_file(path, true), FormatError) << len;
    EXPECT_THROW(io::load_file(path, false), FormatError) << len;
  }
  EXPECT_NO_THROW(io::load_bytes(full));
}

TEST(Safetensors, MissingFileIsIOError) {
  const std::string path = temp_path("does_not_exist.safetensors");
  std::filesystem::remove(path);
  for (const bool mmap : {true, false}) {
    try {
      io::load_file(path, mmap);
      ADD_FAILURE() << "no IOError";
    } catch (const FormatError&) {
      ADD_FAILURE() << "FormatError for a missing file";
    } catch (const IOError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    }
  }
}

TEST(Safetensors, AtomicWriteKeepsTheOldFileOnFailure) {
  const std::string dir = temp_path("atomic_dir");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/m.safetensors";
  Tensor old_t = patterned({3}, Dtype::Float32, 1);
  io::save_file({{"w", old_t}}, path);
  const std::string old_bytes = read_bytes(path);
  // Block the temp file's name with a directory: the write fails before touching `path`.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::filesystem::create_directory(tmp);
  EXPECT_THROW(io::save_file({{"w", patterned({5}, Dtype::Float32, 2)}}, path), IOError);
  EXPECT_EQ(read_bytes(path), old_bytes);
  std::filesystem::remove(tmp);
  // A missing directory is an IOError too.
  EXPECT_THROW(io::save_file({{"w", old_t}}, dir + "/no/such/dir/m.safetensors"), IOError);
  // A successful overwrite replaces it and leaves no temp file behind.
  io::save_file({{"w", patterned({5}, Dtype::Float32, 2)}}, path);
  EXPECT_EQ(io::load_file(path).tensors[0].second.numel(), 5);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    files += entry.is_regular_file() || entry.is_directory();
  EXPECT_EQ(files, 1);
  // A relative path (no directory part) works.
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  io::save_file({{"w", old_t}}, "rel.safetensors");
  std::filesystem::current_path(cwd);
  EXPECT_TRUE(same(io::load_file(dir + "/rel.safetensors").tensors[0].second, old_t));
}

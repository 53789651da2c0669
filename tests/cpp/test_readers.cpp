// File readers: .npy (every type, byte order, Fortran order, versions, mmap), .npz through
// libzip, numeric CSV and memory-mapped token files, and an error for every malformed file.
#include <gtest/gtest.h>
#include <zip.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "lamina/data/csv.h"
#include "lamina/data/npy.h"
#include "lamina/data/npz.h"
#include "lamina/data/tokens.h"
#include "lamina/lamina.h"

using namespace lamina;

namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "lamina_rd_" + name; }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A .npy file by hand: version `major`, header dict `dict`, then `body`.
std::string npy(int major, const std::string& dict, const std::string& body) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  std::string padded = dict;
  while ((out.size() + (major == 1 ? 2 : 4) + padded.size() + 1) % 64 != 0) padded += ' ';  // as NumPy aligns
  const size_t len = padded.size() + 1;
  for (int k = 0; k < (major == 1 ? 2 : 4); ++k) out += static_cast<char>((len >> (8 * k)) & 0xFF);
  return out + padded + "\n" + body;
}

template <class T>
std::string raw(const std::vector<T>& v, bool big_endian = false) {
  std::string out(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  if (big_endian) {
    for (size_t i = 0; i < v.size(); ++i) std::reverse(out.begin() + i * sizeof(T), out.begin() + (i + 1) * sizeof(T));
  }
  return out;
}

bool same(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && all(eq(a, b)).item<bool>();
}

double at(const Tensor& t, int64_t i, int64_t j) { return t.select(0, i).select(0, j).item<double>(); }

}  // namespace

TEST(DataNpy, RoundTripsEveryNumpyDtype) {
  for (Dtype dt : {Dtype::Bool, Dtype::UInt8, Dtype::Int8, Dtype::Int32, Dtype::Int64, Dtype::Float16, Dtype::Float32,
                   Dtype::Float64}) {
    const Tensor base = arange(Scalar(int64_t{0}), Scalar(int64_t{24})).reshape({2, 3, 4});
    const Tensor a = remainder(base, Scalar(int64_t{7})).to(dt);
    const std::string path = temp_path("rt.npy");
    data::save_npy(path, a);
    for (bool mmap : {false, true}) {
      const Tensor b = data::load_npy(path, mmap);
      EXPECT_EQ(b.dtype(), dt);
      EXPECT_EQ(b.shape(), Shape({2, 3, 4}));
      EXPECT_TRUE(same(a, b)) << dtype_name(dt) << " mmap=" << mmap;
    }
  }
  const Tensor scalar = full({}, Scalar(2.5), {Dtype::Float64, kCPU});
  data::save_npy(temp_path("s.npy"), scalar);
  EXPECT_EQ(data::load_npy(temp_path("s.npy")).dim(), 0);
  EXPECT_EQ(data::load_npy(temp_path("s.npy")).item<double>(), 2.5);
  EXPECT_THROW(data::save_npy(temp_path("bf.npy"), ones({2}, {Dtype::BFloat16, kCPU})), DTypeError);
}

TEST(DataNpy, ReadsBigEndianFortranAndNewerVersions) {
  // 2x3 Fortran order, big-endian int32: memory order is column-major 1 4 2 5 3 6.
  const std::string f =
      npy(1, "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }", raw<int32_t>({1, 4, 2, 5, 3, 6}, true));
  write_bytes(temp_path("f.npy"), f);
  const Tensor t = data::load_npy(temp_path("f.npy"));
  EXPECT_EQ(t.dtype(), Dtype::Int32);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(at(t, 0, 1), 2);
  EXPECT_EQ(at(t, 1, 0), 4);
  EXPECT_EQ(at(t, 1, 2), 6);
  EXPECT_THROW(data::load_npy(temp_path("f.npy"), true), DTypeError);  // big-endian cannot be viewed
  for (int major : {2, 3}) {
    write_bytes(temp_path("v.npy"), npy(major, "{\"descr\": \"<f8\", \"fortran_order\": True, \"shape\": (2, 2)}",
                                        raw<double>({1, 3, 2, 4})));
    for (bool mmap : {false, true}) {
      const Tensor v = data::load_npy(temp_path("v.npy"), mmap);
      EXPECT_EQ(at(v, 0, 1), 2);
      EXPECT_EQ(at(v, 1, 0), 3);
      EXPECT_EQ(v.is_contiguous(), !mmap);
    }
  }
  write_bytes(temp_path("w.npy"),
              npy(1, "{'descr': '<u2', 'fortran_order': False, 'shape': (3,), }", raw<uint16_t>({0, 65535, 7})));
  const Tensor w = data::load_npy(temp_path("w.npy"));
  EXPECT_EQ(w.dtype(), Dtype::Int32);
  EXPECT_EQ(w.select(0, 1).item<int64_t>(), 65535);
  write_bytes(temp_path("w.npy"),
              npy(1, "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", raw<int16_t>({-2, 300}, true)));
  EXPECT_EQ(data::load_npy(temp_path("w.npy")).select(0, 0).item<int64_t>(), -2);
  EXPECT_EQ(data::load_npy(temp_path("w.npy")).select(0, 1).item<int64_t>(), 300);
}

TEST(DataNpy, MmapViewsTheFileAndKeepsItAlive) {
  const std::string path = temp_path("m.npy");
  data::save_npy(path, arange(Scalar(0.0), Scalar(1000.0), Scalar(1.0), {Dtype::Float32, kCPU}));
  Tensor view;
  {
    const Tensor t = data::load_npy(path, true);
    view = t.narrow(0, 500, 10);
  }
  EXPECT_EQ(view.select(0, 3).item<float>(), 503.0f);
  fill_(view, Scalar(-1.0));  // copy-on-write: the file is unchanged
  EXPECT_EQ(data::load_npy(path).select(0, 503).item<float>(), 503.0f);
}

TEST(DataNpy, MalformedFilesRaiseFormatErrorNamingThePath) {
  EXPECT_THROW(data::load_npy(temp_path("missing.npy")), IOError);
  EXPECT_THROW(data::load_npy(temp_path("missing.npy"), true), IOError);
  const std::string good =
      npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", raw<float>({1, 2, 3, 4}));
  auto expect_format = [](const std::string& bytes, const std::string& fragment) {
    const std::string path = temp_path("bad.npy");
    write_bytes(path, bytes);
    for (bool mmap : {false, true}) {
      try {
        data::load_npy(path, mmap);
        ADD_FAILURE() << "no error for " << fragment;
      } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("bad.npy"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      }
    }
  };
  for (size_t cut : {0, 5, 9, 11, 40, 60}) expect_format(good.substr(0, cut), cut < 10 ? "not a .npy" : "truncated");
  expect_format(good.substr(0, good.size() - 1), "truncated");
  expect_format("\x93NUMPX" + good.substr(6), "not a .npy");
  expect_format(npy(4, "{}", ""), "version");
  expect_format(npy(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,), }", raw<float>({1, 2, 3, 4})),
                "malformed");
  expect_format(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, -1), }", ""), "malformed");
  expect_format(npy(1, "{'descr': '<f4', 'shape': (4,), }", raw<float>({1, 2, 3, 4})), "malformed");
  expect_format(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", ""),
                "implausibly");
  expect_format(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ", ""), "malformed");
  write_bytes(temp_path("u8.npy"),
              npy(1, "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", raw<uint64_t>({1})));
  EXPECT_THROW(data::load_npy(temp_path("u8.npy")), DTypeError);
  write_bytes(temp_path("st.npy"), npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", ""));
  EXPECT_THROW(data::load_npy(temp_path("st.npy")), DTypeError);
}

TEST(DataNpz, RoundTripsStoredAndDeflatedArchives) {
  const std::map<std::string, Tensor> arrays = {
      {"x", arange(Scalar(0.0), Scalar(12.0), Scalar(1.0), {Dtype::Float64, kCPU}).reshape({3, 4})},
      {"labels", arange(Scalar(int64_t{5})).to(Dtype::Int64)},
  };
  for (bool compress : {false, true}) {
    const std::string path = temp_path(compress ? "c.npz" : "s.npz");
    data::save_npz(path, arrays, compress);
    const auto back = data::load_npz(path);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_TRUE(same(back.at("x"), arrays.at("x")));
    EXPECT_TRUE(same(back.at("labels"), arrays.at("labels")));
  }
  EXPECT_THROW(data::load_npz(temp_path("missing.npz")), IOError);
  write_bytes(temp_path("junk.npz"), "this is not a zip archive at all, just some text");
  EXPECT_THROW(data::load_npz(temp_path("junk.npz")), FormatError);
  // A deflated member whose compressed bytes are damaged: a CRC or inflate error, never a crash.
  std::ifstream in(temp_path("c.npz"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  for (size_t i = 60; i < 90 && i < bytes.size(); ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
  write_bytes(temp_path("bad.npz"), bytes);
  try {
    data::load_npz(temp_path("bad.npz"));
    ADD_FAILURE() << "a damaged member was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.npz"), std::string::npos) << e.what();
  }
  write_bytes(temp_path("cut.npz"), bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(data::load_npz(temp_path("cut.npz")), FormatError);
}

TEST(DataCsv, ReadsNumericColumnsWithHeaderAndSelection) {
  write_bytes(temp_path("a.csv"), "# generated\na,b,c\n1, 2.5 ,-3\n4e2,nan,+6\n\n7,8,9\r\n");
  data::CsvOptions opt;
  opt.header = true;
  const Tensor t = data::read_csv(temp_path("a.csv"), opt);
  EXPECT_EQ(t.shape(), Shape({3, 3}));
  EXPECT_EQ(t.dtype(), Dtype::Float32);
  EXPECT_EQ(at(t, 0, 1), 2.5);
  EXPECT_EQ(at(t, 1, 0), 400);
  EXPECT_TRUE(std::isnan(at(t, 1, 1)));
  EXPECT_EQ(at(t, 2, 2), 9);
  EXPECT_EQ(data::read_csv_header(temp_path("a.csv"), opt), (std::vector<std::string>{"a", "b", "c"}));
  opt.columns = {-1, 0};
  opt.dtype = Dtype::Float64;
  const Tensor s = data::read_csv(temp_path("a.csv"), opt);
  EXPECT_EQ(s.shape(), Shape({3, 2}));
  EXPECT_EQ(at(s, 1, 0), 6);
  EXPECT_EQ(at(s, 2, 1), 7);
  opt.columns = {3};
  EXPECT_THROW(data::read_csv(temp_path("a.csv"), opt), ShapeError);
  write_bytes(temp_path("sp.txt"), "1.0  2.0\t3.0\n4 5 6\n");
  data::CsvOptions sp;
  sp.delimiter = ' ';
  EXPECT_EQ(data::read_csv(temp_path("sp.txt"), sp).shape(), Shape({2, 3}));
}

TEST(DataCsv, BadCellsNamePathLineAndColumn) {
  EXPECT_THROW(data::read_csv(temp_path("missing.csv")), IOError);
  write_bytes(temp_path("bad.csv"), "1,2,3\n4,x5,6\n");
  try {
    data::read_csv(temp_path("bad.csv"));
    ADD_FAILURE() << "bad cell accepted";
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.csv' line 2, column 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'x5'"), std::string::npos) << msg;
  }
  write_bytes(temp_path("bad.csv"), "1,2,3\n4,5\n");
  EXPECT_THROW(data::read_csv(temp_path("bad.csv")), FormatError);
  write_bytes(temp_path("bad.csv"), "1,,3\n");
  EXPECT_THROW(data::read_csv(temp_path("bad.csv")), FormatError);
}

TEST(DataTokens, ViewsTheMappedFileZeroCopy) {
  write_bytes(temp_path("t.bin"), "hello");
  const Tensor bytes = data::read_tokens(temp_path("t.bin"));
  EXPECT_EQ(bytes.dtype(), Dtype::UInt8);
  EXPECT_EQ(bytes.numel(), 5);
  EXPECT_EQ(bytes.select(0, 1).item<int64_t>(), 'e');
  write_bytes(temp_path("t16.bin"), std::string("HDR!") + raw<uint16_t>({1, 50000, 3}));
  const Tensor t16 = data::read_tokens(temp_path("t16.bin"), "uint16", 4);
  EXPECT_EQ(t16.dtype(), Dtype::Int32);
  EXPECT_EQ(t16.select(0, 1).item<int64_t>(), 50000);
  write_bytes(temp_path("t32.bin"), raw<int32_t>({7, -8, 9, 10}));
  const Tensor t32 = data::read_tokens(temp_path("t32.bin"), "int32", 4);
  EXPECT_EQ(t32.numel(), 3);
  EXPECT_EQ(t32.select(0, 0).item<int64_t>(), -8);
  write_bytes(temp_path("t32.bin"), "ab" + raw<int32_t>({7, -8, 9, 10}));
  EXPECT_THROW(data::read_tokens(temp_path("t32.bin"), "int32", 2), ValueError);  // misaligned view
  EXPECT_THROW(data::read_tokens(temp_path("t.bin"), "int32"), FormatError);      // 5 bytes
  EXPECT_THROW(data::read_tokens(temp_path("t.bin"), "uint8", 6), FormatError);
  EXPECT_THROW(data::read_tokens(temp_path("t.bin"), "complex64"), DTypeError);
  EXPECT_THROW(data::read_tokens(temp_path("none.bin")), IOError);
  write_bytes(temp_path("empty.bin"), "");
  EXPECT_EQ(data::read_tokens(temp_path("empty.bin")).numel(), 0);
}

#include "lamina/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "lamina/core/error.h"
#include "lamina/io/safetensors_header.h"
#include "lamina/runtime/mapped_file.h"

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace lamina::io {

namespace {

using Json = nlohmann::ordered_json;

// The header (length prefix included) and the contiguous CPU tensors in data order.
struct Prepared {
  std::string header;
  std::vector<Tensor> data;
};

Prepared prepare(const TensorMap& tensors, const Metadata& metadata, const char* op) {
  std::set<std::string_view> seen;
  std::vector<Tensor> cpu;
  cpu.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    LAMINA_CHECK(name != "__metadata__", ValueError, op, "\"__metadata__\" is reserved and cannot name a tensor");
    LAMINA_CHECK(seen.insert(name).second, ValueError, op, "duplicate tensor name \"", name, "\"");
    LAMINA_CHECK(t.defined(), ValueError, op, "tensor \"", name, "\" is undefined");
    Tensor c = t.device().is_cpu() ? t : t.to(kCPU);
    cpu.push_back(c.contiguous());
  }
  // Data goes in order of decreasing item size (stable), so every tensor starts aligned to its
  // item size when the header length is a multiple of 8; the header keeps the caller's order.
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return cpu[a].element_size() > cpu[b].element_size(); });
  std::vector<int64_t> begin(tensors.size());
  int64_t pos = 0;
  for (const size_t i : order) {
    begin[i] = pos;
    pos += cpu[i].numel() * cpu[i].element_size();
  }
  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = cpu[i];
    Json entry = Json::object();
    entry["dtype"] = std::string(st_dtype_name(st_from_lamina(t.dtype())));
    Json shape = Json::array();
    for (const int64_t d : t.shape()) shape.push_back(d);
    entry["shape"] = std::move(shape);
    entry["data_offsets"] = Json::array({begin[i], begin[i] + t.numel() * t.element_size()});
    header[tensors[i].first] = std::move(entry);
  }
  std::string text;
  try {
    text = header.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const nlohmann::json::exception&) {
    LAMINA_THROW(ValueError, op, "a tensor name or metadata string is not valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data buffer starts 8-aligned
  Prepared out;
  out.header.resize(8);
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.header[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.header += text;
  out.data.reserve(order.size());
  for (const size_t i : order) out.data.push_back(std::move(cpu[i]));
  return out;
}

// A new int32 (from I16 / U16) or int64 (from U32) tensor holding the file values, sign- or zero-extended.
Tensor widen(const unsigned char* src, const Shape& shape, StDtype dt) {
  const Dtype to = dt == StDtype::U32 ? Dtype::Int64 : Dtype::Int32;
  Tensor out = Tensor::empty(shape, to, kCPU);
  const int64_t n = out.numel();
  if (dt == StDtype::U32) {
    auto* dst = out.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      uint32_t v;
      std::memcpy(&v, src + 4 * i, 4);
      dst[i] = v;
    }
  } else {
    auto* dst = out.data<int32_t>();
    for (int64_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, src + 2 * i, 2);
      dst[i] = dt == StDtype::I16 ? int32_t{static_cast<int16_t>(v)} : int32_t{v};
    }
  }
  return out;
}

// Builds the tensors of a parsed image [base, base + size); with `file` they view the mapping when aligned.
LoadedFile build(const ParsedHeader& h, const unsigned char* base, const std::shared_ptr<runtime::MappedFile>& file,
                 const std::string& name, const char* op) {
  LoadedFile out;
  out.metadata = h.metadata;
  out.tensors.reserve(h.entries.size());
  for (const HeaderEntry& e : h.entries) {
    const Shape shape(e.shape);
    const int64_t offset = h.data_offset + e.begin;
    const int64_t nbytes = e.end - e.begin;
    const unsigned char* src = base + offset;
    const auto lam = st_to_lamina(e.dtype);
    Tensor t;
    if (!lam) {
      LAMINA_CHECK(e.dtype == StDtype::I16 || e.dtype == StDtype::U16 || e.dtype == StDtype::U32, DTypeError, op,
                   "tensor \"", e.name, "\" in '", name, "' has dtype ", st_dtype_name(e.dtype),
                   ", which lamina has no equivalent of");
      t = widen(src, shape, e.dtype);
    } else {
      // A bool byte other than 0 or 1 is normalized (a copy), never handed to kernels as is.
      bool clean = true;
      if (*lam == Dtype::Bool)
        for (int64_t i = 0; i < nbytes && clean; ++i) clean = src[i] <= 1;
      if (file && clean && offset % itemsize(*lam) == 0) {
        t = runtime::view_mapped(file, offset, shape, contiguous_strides(shape), *lam);
      } else {
        t = Tensor::empty(shape, *lam, kCPU);
        if (nbytes > 0) std::memcpy(t.data_ptr(), src, static_cast<size_t>(nbytes));
        if (!clean) {
          auto* p = static_cast<unsigned char*>(t.data_ptr());
          for (int64_t i = 0; i < nbytes; ++i) p[i] = p[i] != 0;
        }
      }
    }
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

// Writes all of [p, p + n) to fd; false (errno set) on failure.
bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void save_file(const TensorMap& tensors, const std::string& path, const Metadata& metadata) {
  constexpr const char* op = "save_file";
  const Prepared prep = prepare(tensors, metadata, op);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  LAMINA_CHECK(fd >= 0, IOError, op, "cannot create '", tmp, "' to write '", path, "': ", std::strerror(errno));
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    LAMINA_THROW(IOError, op, "cannot ", what, " '", tmp, "' (writing '", path, "'): ", std::strerror(err),
                 "; the previous file, if any, is unchanged");
  };
  if (!write_all(fd, prep.header.data(), prep.header.size())) fail("write");
  for (const Tensor& t : prep.data) {
    const auto n = static_cast<size_t>(t.numel() * t.element_size());
    if (n > 0 && !write_all(fd, static_cast<const char*>(t.data_ptr()), n)) fail("write");
  }
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    LAMINA_THROW(IOError, op, "cannot close '", tmp, "': ", std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    LAMINA_THROW(IOError, op, "cannot rename '", tmp, "' to '", path, "': ", std::strerror(err),
                 "; the previous file, if any, is unchanged");
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int rc = ::fsync(dfd);
    const int err = errno;
    ::close(dfd);
    LAMINA_CHECK(rc == 0 || err == EINVAL, IOError, op, "cannot fsync directory '", dir, "': ", std::strerror(err));
  }
}

LoadedFile load_file(const std::string& path, bool mmap) {
  constexpr const char* op = "load_file";
  if (mmap) {
    auto file = runtime::MappedFile::open(path, op);
    const ParsedHeader h = parse_header(file->data(), file->size(), path);
    return build(h, file->data(), file, path, op);
  }
  std::ifstream in(path, std::ios::binary);
  LAMINA_CHECK(in.good(), IOError, op, "cannot open '", path, "': ", std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LAMINA_CHECK(!in.bad(), IOError, op, "cannot read '", path, "'");
  const auto* base = reinterpret_cast<const unsigned char*>(bytes.data());
  const ParsedHeader h = parse_header(base, static_cast<int64_t>(bytes.size()), path);
  return build(h, base, nullptr, path, op);
}

std::string save_bytes(const TensorMap& tensors, const Metadata& metadata) {
  Prepared prep = prepare(tensors, metadata, "save_bytes");
  std::string out = std::move(prep.header);
  for (const Tensor& t : prep.data) {
    const auto n = static_cast<size_t>(t.numel() * t.element_size());
    if (n > 0) out.append(static_cast<const char*>(t.data_ptr()), n);
  }
  return out;
}

LoadedFile load_bytes(std::string_view bytes) {
  const auto* base = reinterpret_cast<const unsigned char*>(bytes.data());
  const ParsedHeader h = parse_header(base, static_cast<int64_t>(bytes.size()), "<bytes>");
  return build(h, base, nullptr, "<bytes>", "load_bytes");
}

}  // namespace lamina::io

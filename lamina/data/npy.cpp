#include "lamina/data/npy.h"

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

#include "lamina/ops/creation.h"
#include "lamina/runtime/mapped_file.h"

namespace lamina::data {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy reader treats '<' and '=' as native");

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

struct Header {
  char order = '<';  // '<', '>' or '|'
  char kind = 'f';   // NumPy kind letter
  int64_t item = 4;  // bytes per element in the file
  bool fortran = false;
  Shape shape;
  int64_t data_offset = 0;  // bytes from the start of the file to the data
  Dtype dtype = Dtype::Float32;
  int widen = 0;  // 0: same layout as the tensor; 2: 16-bit -> int32; 4: uint32 -> int64

  int64_t numel() const { return shape_numel(shape); }
  bool swap() const { return order == '>' && item > 1; }
};

// The tensor type for a NumPy (kind, item size), or DTypeError when lamina has none.
void resolve_type(Header& h, const std::string& descr, const std::string& name) {
  const char k = h.kind;
  const int64_t n = h.item;
  if (k == 'b' && n == 1)
    h.dtype = Dtype::Bool;
  else if (k == 'u' && n == 1)
    h.dtype = Dtype::UInt8;
  else if (k == 'i' && n == 1)
    h.dtype = Dtype::Int8;
  else if ((k == 'i' || k == 'u') && n == 2)
    h.dtype = Dtype::Int32, h.widen = 2;
  else if (k == 'i' && n == 4)
    h.dtype = Dtype::Int32;
  else if (k == 'u' && n == 4)
    h.dtype = Dtype::Int64, h.widen = 4;
  else if (k == 'i' && n == 8)
    h.dtype = Dtype::Int64;
  else if (k == 'f' && n == 2)
    h.dtype = Dtype::Float16;
  else if (k == 'f' && n == 4)
    h.dtype = Dtype::Float32;
  else if (k == 'f' && n == 8)
    h.dtype = Dtype::Float64;
  else
    LAMINA_THROW(DTypeError, "load_npy", "'", name, "' holds NumPy dtype '", descr,
                 "', which has no lamina dtype; supported: bool, uint8, int8, int16, uint16, int32, uint32, "
                 "int64, float16, float32, float64");
}

// A parser for the Python dict literal of the .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class DictParser {
 public:
  DictParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  Header parse() {
    Header h;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (true) {
      ws();
      if (peek() == '}') break;
      const std::string key = string();
      ws();
      expect(':');
      ws();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"')
          LAMINA_THROW(DTypeError, "load_npy", "'", name_,
                       "' holds a structured NumPy dtype, which lamina does not read");
        descr(h, string());
        has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran = boolean();
        has_order = true;
      } else if (key == "shape") {
        h.shape = shape();
        has_shape = true;
      } else {
        fail("an unknown header key '" + key + "'");
      }
      ws();
      if (peek() == ',') ++i_;
    }
    if (!has_descr || !has_order || !has_shape) fail("a header without 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    LAMINA_THROW(FormatError, "load_npy", "'", name_, "' has a malformed .npy header: expected a dict with 'descr', ",
                 "'fortran_order' and 'shape', found ", what, " at header byte ", i_);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c) {
    ws();
    if (peek() != c) fail(std::string("no '") + c + "'");
    ++i_;
  }
  std::string string() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("no quoted key or string");
    const size_t end = s_.find(q, i_ + 1);
    if (end == std::string_view::npos) fail("an unterminated string");
    std::string out(s_.substr(i_ + 1, end - i_ - 1));
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.substr(i_, 4) == "True") return i_ += 4, true;
    if (s_.substr(i_, 5) == "False") return i_ += 5, false;
    fail("a fortran_order that is neither True nor False");
  }
  Shape shape() {
    expect('(');
    Shape out;
    int64_t numel = 1;
    while (true) {
      ws();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("a shape entry that is not a non-negative integer");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (int64_t{1} << 50)) fail("an implausibly large dimension");
        v = v * 10 + (s_[i_++] - '0');
      }
      if (peek() == 'L') ++i_;  // Python 2 long literal
      if (v != 0 && numel > (int64_t{1} << 50) / v) fail("an implausibly large shape");
      numel *= v;
      if (out.size() == kMaxDims) fail("more dims than lamina's limit of 16");
      out.push_back(v);
      ws();
      if (peek() == ',')
        ++i_;
      else if (peek() != ')')
        fail("no ',' or ')' in the shape");
    }
    ++i_;
    return out;
  }
  void descr(Header& h, const std::string& d) {
    if (d.size() < 3 || (d[0] != '<' && d[0] != '>' && d[0] != '|' && d[0] != '=')) {
      LAMINA_THROW(DTypeError, "load_npy", "'", name_, "' holds NumPy dtype '", d,
                   "', which lamina does not read (expected a byte order, a kind and a size, like '<f4')");
    }
    h.order = d[0] == '=' ? '<' : d[0];
    h.kind = d[1];
    int64_t n = 0;
    for (size_t k = 2; k < d.size(); ++k) {
      if (d[k] < '0' || d[k] > '9' || n > 1000)
        LAMINA_THROW(DTypeError, "load_npy", "'", name_, "' holds NumPy dtype '", d, "', which lamina does not read");
      n = n * 10 + (d[k] - '0');
    }
    h.item = n;
    resolve_type(h, d, name_);
  }

  std::string_view s_;
  const std::string& name_;
  size_t i_ = 0;
};

// How many bytes the fixed prefix and header take: needs the first 12 bytes (or the whole file).
int64_t header_end(const unsigned char* p, int64_t n, const std::string& name) {
  LAMINA_CHECK(n >= 10 && std::memcmp(p, kMagic, 6) == 0, FormatError, "load_npy", "'", name,
               "' is not a .npy file: expected the magic string \\x93NUMPY and a version");
  const int major = p[6];
  LAMINA_CHECK(major >= 1 && major <= 3, FormatError, "load_npy", "'", name, "' has .npy format version ", major, ".",
               int{p[7]}, "; expected 1.0, 2.0 or 3.0");
  if (major == 1) return 10 + (int64_t{p[8]} | int64_t{p[9]} << 8);
  LAMINA_CHECK(n >= 12, FormatError, "load_npy", "'", name, "' is truncated inside the .npy header length");
  const int64_t len = int64_t{p[8]} | int64_t{p[9]} << 8 | int64_t{p[10]} << 16 | int64_t{p[11]} << 24;
  return 12 + len;
}

Header parse_header(const unsigned char* p, int64_t n, const std::string& name) {
  const int64_t end = header_end(p, n, name);
  LAMINA_CHECK(end <= n, FormatError, "load_npy", "'", name, "' is truncated: the .npy header needs ", end,
               " bytes, the file has ", n);
  const int64_t start = p[6] == 1 ? 10 : 12;
  Header h = DictParser(std::string_view(reinterpret_cast<const char*>(p + start), end - start), name).parse();
  LAMINA_CHECK(h.order != '|' || h.item == 1, FormatError, "load_npy", "'", name, "' gives multi-byte type ", h.kind,
               h.item, " without a byte order");
  h.data_offset = end;
  return h;
}

// Byte-swaps and normalizes bools of `n` elements already copied into `dst` (same item size).
void fix_in_place(const Header& h, unsigned char* dst, int64_t n) {
  if (h.swap()) {
    for (int64_t i = 0; i < n; ++i) std::reverse(dst + i * h.item, dst + (i + 1) * h.item);
  }
  if (h.dtype == Dtype::Bool) {
    for (int64_t i = 0; i < n; ++i) dst[i] = dst[i] != 0;  // any nonzero byte is true, as in NumPy
  }
}

// Widens 16-bit or uint32 file elements at `src` into the tensor buffer `dst`.
void widen(const Header& h, const unsigned char* src, void* dst, int64_t n) {
  unsigned char b[4];
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(b, src + i * h.item, static_cast<size_t>(h.item));
    if (h.swap()) std::reverse(b, b + h.item);
    if (h.widen == 2) {
      uint16_t v;
      std::memcpy(&v, b, 2);
      static_cast<int32_t*>(dst)[i] = h.kind == 'i' ? int32_t{static_cast<int16_t>(v)} : int32_t{v};
    } else {
      uint32_t v;
      std::memcpy(&v, b, 4);
      static_cast<int64_t*>(dst)[i] = v;
    }
  }
}

// Shape of the C-order tensor holding the file's elements in file order.
Shape storage_shape(const Header& h) {
  Shape s = h.shape;
  if (h.fortran) std::reverse(s.begin(), s.end());
  return s;
}

// Turns the file-order tensor into the array's logical layout (a C-order copy for Fortran files).
Tensor finish(const Header& h, Tensor t) {
  if (!h.fortran || h.shape.size() < 2) return t;
  std::vector<int64_t> dims(static_cast<size_t>(h.shape.size()));
  for (size_t d = 0; d < dims.size(); ++d) dims[d] = static_cast<int64_t>(dims.size() - 1 - d);
  return t.permute(dims).contiguous();
}

void check_body(const Header& h, int64_t available, const std::string& name) {
  const int64_t need = h.numel() * h.item;
  LAMINA_CHECK(available >= need, FormatError, "load_npy", "'", name, "' is truncated: shape ", h.shape, " of ", h.kind,
               h.item, " needs ", need, " bytes of data, found ", available);
}

struct File {
  std::FILE* f = nullptr;
  ~File() {
    if (f) std::fclose(f);
  }
};

Tensor load_mapped(const std::string& path) {
  auto file = runtime::MappedFile::open(path, "load_npy");
  const Header h = parse_header(file->data(), file->size(), path);
  check_body(h, file->size() - h.data_offset, path);
  LAMINA_CHECK(!h.swap() && h.widen == 0, DTypeError, "load_npy", "'", path, "' cannot be memory-mapped: its ", h.order,
               h.kind, h.item, " elements need conversion (big-endian or widened); load with mmap=false");
  LAMINA_CHECK(h.data_offset % h.item == 0, FormatError, "load_npy", "'", path, "' places its data at byte ",
               h.data_offset, ", not aligned to the item size ", h.item, "; load with mmap=false");
  const Shape shape = h.shape;
  Strides strides(shape.size(), 0);
  int64_t step = 1;
  for (int64_t k = 0; k < shape.size(); ++k) {
    const int64_t d = h.fortran ? k : shape.size() - 1 - k;
    strides[d] = step;
    step *= shape[d];
  }
  return runtime::view_mapped(file, h.data_offset, shape, strides, h.dtype);
}

}  // namespace

Tensor npy_from_bytes(const unsigned char* data, int64_t size, const std::string& name) {
  const Header h = parse_header(data, size, name);
  check_body(h, size - h.data_offset, name);
  Tensor out = empty(storage_shape(h), {h.dtype, kCPU});
  const unsigned char* src = data + h.data_offset;
  if (h.widen != 0) {
    widen(h, src, out.data_ptr(), h.numel());
  } else {
    std::memcpy(out.data_ptr(), src, static_cast<size_t>(h.numel() * h.item));
    fix_in_place(h, static_cast<unsigned char*>(out.data_ptr()), h.numel());
  }
  return finish(h, out);
}

Tensor load_npy(const std::string& path, bool mmap) {
  if (mmap) return load_mapped(path);
  File file;
  file.f = std::fopen(path.c_str(), "rb");
  LAMINA_CHECK(file.f != nullptr, IOError, "load_npy", "cannot open '", path, "': ", std::strerror(errno));
  struct stat st {};
  LAMINA_CHECK(::fstat(fileno(file.f), &st) == 0 && S_ISREG(st.st_mode), IOError, "load_npy", "'", path,
               "' is not a regular file");
  const auto size = static_cast<int64_t>(st.st_size);
  std::vector<unsigned char> head(static_cast<size_t>(std::min<int64_t>(size, 12)));
  LAMINA_CHECK(std::fread(head.data(), 1, head.size(), file.f) == head.size(), IOError, "load_npy", "cannot read '",
               path, "'");
  const int64_t end = header_end(head.data(), static_cast<int64_t>(head.size()), path);
  LAMINA_CHECK(end <= size, FormatError, "load_npy", "'", path, "' is truncated: the .npy header needs ", end,
               " bytes, the file has ", size);
  const size_t have = head.size();
  head.resize(static_cast<size_t>(end));
  const bool read_ok = end <= static_cast<int64_t>(have) ||
                       std::fread(head.data() + have, 1, head.size() - have, file.f) == head.size() - have;
  LAMINA_CHECK(read_ok && std::fseek(file.f, static_cast<long>(end), SEEK_SET) == 0, IOError, "load_npy",
               "cannot read '", path, "'");
  const Header h = parse_header(head.data(), end, path);
  check_body(h, size - end, path);
  Tensor out = empty(storage_shape(h), {h.dtype, kCPU});
  const auto nbytes = static_cast<size_t>(h.numel() * h.item);
  if (h.widen != 0) {
    std::vector<unsigned char> raw(nbytes);
    LAMINA_CHECK(std::fread(raw.data(), 1, nbytes, file.f) == nbytes, IOError, "load_npy", "cannot read '", path, "'");
    widen(h, raw.data(), out.data_ptr(), h.numel());
  } else {
    LAMINA_CHECK(std::fread(out.data_ptr(), 1, nbytes, file.f) == nbytes, IOError, "load_npy", "cannot read '", path,
                 "'");
    fix_in_place(h, static_cast<unsigned char*>(out.data_ptr()), h.numel());
  }
  return finish(h, out);
}

std::vector<unsigned char> npy_to_bytes(const Tensor& t) {
  const char* descr = nullptr;
  switch (t.dtype()) {
    case Dtype::Bool:
      descr = "|b1";
      break;
    case Dtype::UInt8:
      descr = "|u1";
      break;
    case Dtype::Int8:
      descr = "|i1";
      break;
    case Dtype::Int32:
      descr = "<i4";
      break;
    case Dtype::Int64:
      descr = "<i8";
      break;
    case Dtype::Float16:
      descr = "<f2";
      break;
    case Dtype::Float32:
      descr = "<f4";
      break;
    case Dtype::Float64:
      descr = "<f8";
      break;
    case Dtype::BFloat16:
      LAMINA_THROW(DTypeError, "save_npy", "NumPy has no bfloat16; convert with .to(float32) first");
  }
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (int64_t d = 0; d < t.dim(); ++d) dict += std::to_string(t.size(d)) + (d + 1 < t.dim() ? ", " : "");
  if (t.dim() == 1) dict += ',';  // a Python 1-tuple
  dict += "), }";
  // Pad with spaces so the data starts 64-byte aligned, as NumPy does.
  const bool v1 = dict.size() + 11 < 65536;
  const size_t prefix = v1 ? 10 : 12;
  const size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  const Tensor c = t.to(kCPU).contiguous();
  const auto nbytes = static_cast<size_t>(c.numel() * c.element_size());
  std::vector<unsigned char> out(kMagic, kMagic + 6);
  out.push_back(v1 ? 1 : 2);
  out.push_back(0);
  const size_t len = dict.size();
  for (size_t k = 0; k < (v1 ? 2u : 4u); ++k) out.push_back(static_cast<unsigned char>(len >> (8 * k)));
  out.insert(out.end(), dict.begin(), dict.end());
  const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
  out.insert(out.end(), bytes, bytes + nbytes);
  return out;
}

void save_npy(const std::string& path, const Tensor& t) {
  const std::vector<unsigned char> bytes = npy_to_bytes(t);
  File file;
  file.f = std::fopen(path.c_str(), "wb");
  LAMINA_CHECK(file.f != nullptr, IOError, "save_npy", "cannot create '", path, "': ", std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file.f) == bytes.size();
  const int closed = std::fclose(file.f);
  file.f = nullptr;
  LAMINA_CHECK(ok && closed == 0, IOError, "save_npy", "cannot write '", path, "': ", std::strerror(errno));
}

}  // namespace lamina::data

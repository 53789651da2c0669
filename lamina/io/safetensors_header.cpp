#include "lamina/io/safetensors_header.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "lamina/core/error.h"

namespace lamina::io {

namespace {

constexpr const char* kOp = "safetensors";

struct StInfo {
  StDtype dtype;
  std::string_view name;
  int64_t itemsize;
};

constexpr StInfo kStInfo[] = {
    {StDtype::BOOL, "BOOL", 1},       {StDtype::U8, "U8", 1},           {StDtype::I8, "I8", 1},
    {StDtype::F8_E5M2, "F8_E5M2", 1}, {StDtype::F8_E4M3, "F8_E4M3", 1}, {StDtype::I16, "I16", 2},
    {StDtype::U16, "U16", 2},         {StDtype::F16, "F16", 2},         {StDtype::BF16, "BF16", 2},
    {StDtype::I32, "I32", 4},         {StDtype::U32, "U32", 4},         {StDtype::F32, "F32", 4},
    {StDtype::F64, "F64", 8},         {StDtype::I64, "I64", 8},         {StDtype::U64, "U64", 8},
};

// Thrown from the JSON parser callback to stop at once (duplicate key, nesting too deep).
struct HeaderReject {
  std::string what;
};

using Json = nlohmann::ordered_json;

// A JSON number that is a non-negative integer, else nullopt.
std::optional<uint64_t> as_uint(const Json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {
    const auto v = j.get<int64_t>();
    if (v >= 0) return static_cast<uint64_t>(v);
  }
  return std::nullopt;
}

}  // namespace

std::string_view st_dtype_name(StDtype dt) { return kStInfo[static_cast<int>(dt)].name; }

int64_t st_itemsize(StDtype dt) { return kStInfo[static_cast<int>(dt)].itemsize; }

std::optional<StDtype> st_dtype_from_name(std::string_view name) {
  for (const StInfo& info : kStInfo)
    if (info.name == name) return info.dtype;
  return std::nullopt;
}

std::optional<Dtype> st_to_lamina(StDtype dt) {
  switch (dt) {
    case StDtype::BOOL:
      return Dtype::Bool;
    case StDtype::U8:
      return Dtype::UInt8;
    case StDtype::I8:
      return Dtype::Int8;
    case StDtype::I32:
      return Dtype::Int32;
    case StDtype::I64:
      return Dtype::Int64;
    case StDtype::F16:
      return Dtype::Float16;
    case StDtype::BF16:
      return Dtype::BFloat16;
    case StDtype::F32:
      return Dtype::Float32;
    case StDtype::F64:
      return Dtype::Float64;
    default:
      return std::nullopt;
  }
}

StDtype st_from_lamina(Dtype dt) {
  switch (dt) {
    case Dtype::Bool:
      return StDtype::BOOL;
    case Dtype::UInt8:
      return StDtype::U8;
    case Dtype::Int8:
      return StDtype::I8;
    case Dtype::Int32:
      return StDtype::I32;
    case Dtype::Int64:
      return StDtype::I64;
    case Dtype::Float16:
      return StDtype::F16;
    case Dtype::BFloat16:
      return StDtype::BF16;
    case Dtype::Float32:
      return StDtype::F32;
    case Dtype::Float64:
      break;
  }
  return StDtype::F64;
}

ParsedHeader parse_header(const unsigned char* data, int64_t size, const std::string& name) {
  auto fail = [&](const auto&... parts) {
    throw FormatError(kOp, detail::concat("[", kOp, "] '", name, "' is not a valid safetensors file: ", parts...));
  };
  if (size < 8 || data == nullptr) fail("it has ", size, " bytes, fewer than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];  // little-endian u64
  if (n > static_cast<uint64_t>(kMaxHeaderSize))
    fail("header length ", n, " exceeds the ", kMaxHeaderSize, "-byte limit");
  if (n > static_cast<uint64_t>(size - 8))
    fail("header length ", n, " runs past the end of the file (", size - 8, " bytes after the length)");
  if (n < 2 || data[8] != '{') fail("the header does not start with '{'");

  ParsedHeader out;
  out.data_offset = 8 + static_cast<int64_t>(n);
  out.data_size = size - out.data_offset;

  // Parse with a callback that rejects duplicate keys and anything nested deeper than the format uses
  // (top object -> entry object -> shape / offsets array), so no hostile input builds a deep tree.
  std::vector<std::set<std::string>> keys(4);
  Json::parser_callback_t cb = [&keys](int depth, Json::parse_event_t event, Json& parsed) {
    using E = Json::parse_event_t;
    if ((event == E::object_start || event == E::array_start) && depth >= 3)
      throw HeaderReject{"the JSON header nests deeper than the format allows"};
    if (event == E::object_start) keys[depth + 1].clear();
    if (event == E::key && depth < 4) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!keys[depth].insert(k).second) throw HeaderReject{"the JSON header repeats the key \"" + k + "\""};
    }
    return true;
  };
  Json header;
  const char* begin = reinterpret_cast<const char*>(data + 8);
  try {
    header = Json::parse(begin, begin + n, cb);
  } catch (const HeaderReject& e) {
    fail(e.what);
  } catch (const nlohmann::json::exception& e) {
    fail("the header is not valid JSON (", e.what(), ")");
  }
  if (!header.is_object()) fail("the header is not a JSON object");

  std::vector<int64_t> order;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) fail("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail("__metadata__ value for \"", m.key(), "\" is not a string");
        out.metadata.emplace(m.key(), m.value().get<std::string>());
      }
      continue;
    }
    if (!v.is_object()) fail("the entry for tensor \"", key, "\" is not an object");
    HeaderEntry e;
    e.name = key;
    const auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) fail("tensor \"", key, "\" has no string \"dtype\"");
    const auto code = st_dtype_from_name(dt->get_ref<const std::string&>());
    if (!code) fail("tensor \"", key, "\" has unknown dtype \"", dt->get_ref<const std::string&>(), "\"");
    e.dtype = *code;
    const auto shape = v.find("shape");
    if (shape == v.end() || !shape->is_array()) fail("tensor \"", key, "\" has no \"shape\" array");
    uint64_t numel = 1;
    bool overflow = false;
    for (const Json& d : *shape) {
      const auto dim = as_uint(d);
      if (!dim || *dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("tensor \"", key, "\" has a shape entry that is not a non-negative integer: ", d.dump());
      e.shape.push_back(static_cast<int64_t>(*dim));
      overflow = overflow || __builtin_mul_overflow(numel, *dim, &numel);
    }
    const auto offs = v.find("data_offsets");
    if (offs == v.end() || !offs->is_array() || offs->size() != 2)
      fail("tensor \"", key, "\" has no \"data_offsets\" pair");
    const auto b = as_uint((*offs)[0]);
    const auto en = as_uint((*offs)[1]);
    if (!b || !en) fail("tensor \"", key, "\" has data_offsets that are not non-negative integers");
    if (*b > *en) fail("tensor \"", key, "\" has data_offsets [", *b, ", ", *en, "] that end before they begin");
    if (*en > static_cast<uint64_t>(out.data_size))
      fail("tensor \"", key, "\" has data_offsets [", *b, ", ", *en, "] past the end of the ", out.data_size,
           "-byte data buffer");
    uint64_t nbytes = 0;
    overflow = overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(st_itemsize(e.dtype)), &nbytes);
    if (overflow || nbytes != *en - *b)
      fail("tensor \"", key, "\" of dtype ", st_dtype_name(e.dtype), " and ", e.shape.size(), "-d shape needs ",
           overflow ? std::string("more than 2^64") : std::to_string(nbytes), " bytes but its data_offsets [", *b, ", ",
           *en, "] span ", *en - *b);
    e.begin = static_cast<int64_t>(*b);
    e.end = static_cast<int64_t>(*en);
    order.push_back(static_cast<int64_t>(out.entries.size()));
    out.entries.push_back(std::move(e));
  }

  // The tensors must tile the data buffer: sorted by offset, each begins where the previous ended.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const HeaderEntry& x = out.entries[a];
    const HeaderEntry& y = out.entries[b];
    return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
  });
  int64_t pos = 0;
  for (const int64_t i : order) {
    const HeaderEntry& e = out.entries[i];
    if (e.begin < pos) fail("tensor \"", e.name, "\" data_offsets [", e.begin, ", ", e.end, "] overlap another tensor");
    if (e.begin > pos)
      fail("tensor \"", e.name, "\" data_offsets [", e.begin, ", ", e.end, "] leave a gap at byte ", pos);
    pos = e.end;
  }
  if (pos != out.data_size) fail("the tensors cover ", pos, " bytes of the ", out.data_size, "-byte data buffer");
  return out;
}

}  // namespace lamina::io

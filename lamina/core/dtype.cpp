#include "lamina/core/dtype.h"

namespace lamina {

std::string_view dtype_name(Dtype dt) {
  switch (dt) {
    case Dtype::Bool: return "bool";
    case Dtype::UInt8: return "uint8";
    case Dtype::Int8: return "int8";
    case Dtype::Int32: return "int32";
    case Dtype::Int64: return "int64";
    case Dtype::Float16: return "float16";
    case Dtype::BFloat16: return "bfloat16";
    case Dtype::Float32: return "float32";
    case Dtype::Float64: return "float64";
  }
  return "?";
}

bool is_floating(Dtype dt) {
  return dt == Dtype::Float16 || dt == Dtype::BFloat16 || dt == Dtype::Float32 || dt == Dtype::Float64;
}

bool is_integral(Dtype dt) { return !is_floating(dt) && dt != Dtype::Bool; }

Dtype to_floating(Dtype dt) { return is_floating(dt) ? dt : kDefaultFloat; }

Dtype promote_types(Dtype a, Dtype b) {
  if (a == b) return a;
  if (a == Dtype::Bool) return b;
  if (b == Dtype::Bool) return a;
  bool fa = is_floating(a), fb = is_floating(b);
  if (fa != fb) return fa ? a : b;
  if (fa) {
    // float16 and bfloat16 have no common 16-bit type.
    if ((a == Dtype::Float16 && b == Dtype::BFloat16) || (a == Dtype::BFloat16 && b == Dtype::Float16))
      return Dtype::Float32;
    return itemsize(a) >= itemsize(b) ? a : b;
  }
  // Both integral. uint8 with int8 needs int16, which lamina lacks, so it widens to int32.
  if ((a == Dtype::UInt8 && b == Dtype::Int8) || (a == Dtype::Int8 && b == Dtype::UInt8)) return Dtype::Int32;
  return itemsize(a) >= itemsize(b) ? a : b;
}

}  // namespace lamina

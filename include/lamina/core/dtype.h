#pragma once
// Element types, their sizes and names, and NumPy/PyTorch type promotion.
#include <cstdint>
#include <string_view>

#include "lamina/core/half.h"

namespace lamina {

/// The element types a tensor can hold.
enum class Dtype : uint8_t { Bool, UInt8, Int8, Int32, Int64, Float16, BFloat16, Float32, Float64 };

/// Number of dtypes (for tables indexed by dtype).
inline constexpr int kNumDtypes = 9;

inline constexpr int64_t kItemSizes[kNumDtypes] = {1, 1, 1, 4, 8, 2, 2, 4, 8};  // in Dtype order
/// Bytes per element.
constexpr int64_t itemsize(Dtype dt) { return kItemSizes[static_cast<int>(dt)]; }
/// The PyTorch-style name without prefix, e.g. "float32".
std::string_view dtype_name(Dtype dt);
/// True for float16, bfloat16, float32, float64.
bool is_floating(Dtype dt);
/// True for the integer types (bool excluded).
bool is_integral(Dtype dt);
/// Promotes two dtypes as NumPy/PyTorch do for two tensors of equal standing.
Dtype promote_types(Dtype a, Dtype b);
/// The dtype of floating results from integer inputs (float32, PyTorch's default).
inline constexpr Dtype kDefaultFloat = Dtype::Float32;
/// The float dtype an op such as exp or mean computes in for input `dt`.
Dtype to_floating(Dtype dt);

/// Maps a C++ type to its Dtype.
template <class T>
struct DtypeOf;
template <> struct DtypeOf<bool> { static constexpr Dtype value = Dtype::Bool; };
template <> struct DtypeOf<uint8_t> { static constexpr Dtype value = Dtype::UInt8; };
template <> struct DtypeOf<int8_t> { static constexpr Dtype value = Dtype::Int8; };
template <> struct DtypeOf<int32_t> { static constexpr Dtype value = Dtype::Int32; };
template <> struct DtypeOf<int64_t> { static constexpr Dtype value = Dtype::Int64; };
template <> struct DtypeOf<Half> { static constexpr Dtype value = Dtype::Float16; };
template <> struct DtypeOf<BFloat16> { static constexpr Dtype value = Dtype::BFloat16; };
template <> struct DtypeOf<float> { static constexpr Dtype value = Dtype::Float32; };
template <> struct DtypeOf<double> { static constexpr Dtype value = Dtype::Float64; };

/// The type arithmetic on T is carried out in (float for the 16-bit floats).
template <class T> struct ComputeType { using type = T; };
template <> struct ComputeType<Half> { using type = float; };
template <> struct ComputeType<BFloat16> { using type = float; };
template <class T> using compute_t = typename ComputeType<T>::type;

/// Calls `f(T{})` with T the C++ type of `dt`.
template <class F>
decltype(auto) visit_dtype(Dtype dt, F&& f) {
  switch (dt) {
    case Dtype::Bool: return f(bool{});
    case Dtype::UInt8: return f(uint8_t{});
    case Dtype::Int8: return f(int8_t{});
    case Dtype::Int32: return f(int32_t{});
    case Dtype::Int64: return f(int64_t{});
    case Dtype::Float16: return f(Half{});
    case Dtype::BFloat16: return f(BFloat16{});
    case Dtype::Float32: return f(float{});
    case Dtype::Float64: break;
  }
  return f(double{});
}

}  // namespace lamina

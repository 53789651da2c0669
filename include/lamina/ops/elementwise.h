#pragma once
// Elementwise ops: unary math, binary arithmetic with broadcasting and type promotion,
// comparisons, logical and bitwise ops, where, clamp; in-place variants end in '_'.
#include <optional>
#include <string>

#include "lamina/core/tensor.h"
#include "lamina/kernels/elementwise_table.h"

namespace lamina {

// Unary ops, one per public row of kernels/elementwise_table.h: Tensor name(x) and the in-place
// name_(x). Float-valued ones (exp, sin, ...) turn integer inputs into float32.
#define LAMINA_DECLARE_UNARY(name, kind, types, Fn, BoolFn, grad, autocast, api, ...) \
  LAMINA_IF_PUBLIC(api, Tensor name(const Tensor& x); const Tensor& name##_(const Tensor& x);)
LAMINA_UNARY_TABLE(LAMINA_DECLARE_UNARY)
#undef LAMINA_DECLARE_UNARY

/// GELU; approximate is "none" (erf form) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
/// Elementwise logical not (any dtype, bool result).
Tensor logical_not(const Tensor& x);
/// True where x is NaN.
Tensor isnan(const Tensor& x);
/// True where x is +/-infinity.
Tensor isinf(const Tensor& x);
/// True where x is finite.
Tensor isfinite(const Tensor& x);

// Binary ops, one per public row of kernels/elementwise_table.h, on (Tensor, Tensor) and
// (Tensor, Scalar), broadcasting and promoting, and their in-place forms (b broadcasts to a).
#define LAMINA_DECLARE_BINARY(name, kind, types, Fn, BoolFn, grad, autocast, api, ...)                                \
  LAMINA_IF_PUBLIC(api, Tensor name(const Tensor& a, const Tensor& b); Tensor name(const Tensor& a, const Scalar& b); \
                   const Tensor& name##_(const Tensor& a, const Tensor& b);                                           \
                   const Tensor& name##_(const Tensor& a, const Scalar& b);)
LAMINA_BINARY_TABLE(LAMINA_DECLARE_BINARY)
#undef LAMINA_DECLARE_BINARY

/// a + alpha * b.
Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha);
/// a - alpha * b.
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha);
/// scalar - a.
Tensor rsub(const Tensor& a, const Scalar& s);
/// scalar / a.
Tensor rdiv(const Tensor& a, const Scalar& s);
/// scalar ** a.
Tensor rpow(const Tensor& a, const Scalar& s);
/// Division with rounding_mode "" (true division), "trunc" or "floor".
Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode);

/// Elements of a where cond is true, else of b (all three broadcast).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// where with scalar branches.
Tensor where(const Tensor& cond, const Scalar& a, const Tensor& b);
/// where with scalar branches.
Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b);
/// where with scalar branches.
Tensor where(const Tensor& cond, const Scalar& a, const Scalar& b);
/// Limits x to [min, max]; either bound may be absent (not both).
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);
/// clamp with tensor bounds (broadcast); either may be undefined (not both).
Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max);
/// In-place clamp; returns x.
const Tensor& clamp_(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);

/// a + b.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, const Scalar& b);  ///< a + scalar
Tensor operator+(const Scalar& a, const Tensor& b);  ///< scalar + a
/// a - b.
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Scalar& b);  ///< a - scalar
Tensor operator-(const Scalar& a, const Tensor& b);  ///< scalar - a
/// a * b.
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Scalar& b);  ///< a * scalar
Tensor operator*(const Scalar& a, const Tensor& b);  ///< scalar * a
/// a / b (true division).
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Scalar& b);  ///< a / scalar
Tensor operator/(const Scalar& a, const Tensor& b);  ///< scalar / a
/// -a.
Tensor operator-(const Tensor& a);

}  // namespace lamina

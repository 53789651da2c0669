#pragma once
// Elementwise ops: unary math, binary arithmetic with broadcasting and type promotion,
// comparisons, logical and bitwise ops, where, clamp; in-place variants end in '_'.
#include <optional>
#include <string>

#include "lamina/core/tensor.h"

namespace lamina {

// Unary ops. Float-valued ones (exp, sin, ...) turn integer inputs into float32.
#define LAMINA_UNARY_OPS(X) \
  X(neg) X(abs) X(sign) X(square) X(exp) X(exp2) X(expm1) X(log) X(log2) X(log10) X(log1p) X(sqrt) \
  X(rsqrt) X(reciprocal) X(sin) X(cos) X(tan) X(asin) X(acos) X(atan) X(sinh) X(cosh) X(tanh) X(erf) \
  X(sigmoid) X(relu) X(silu) X(softplus) X(floor) X(ceil) X(trunc) X(round) X(bitwise_not)

#define LAMINA_DECLARE_UNARY(name)            \
  /** Elementwise name(x). */                 \
  Tensor name(const Tensor& x);               \
  /** In-place name(x); returns x. */         \
  const Tensor& name##_(const Tensor& x);
LAMINA_UNARY_OPS(LAMINA_DECLARE_UNARY)
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

// Binary ops on (Tensor, Tensor) and (Tensor, Scalar), broadcasting and promoting.
#define LAMINA_BINARY_OPS(X)                                                                       \
  X(add) X(sub) X(mul) X(div) X(floor_divide) X(remainder) X(fmod) X(pow) X(maximum) X(minimum) \
  X(atan2) X(bitwise_and) X(bitwise_or) X(bitwise_xor) X(logical_and) X(logical_or) X(logical_xor) \
  X(eq) X(ne) X(lt) X(le) X(gt) X(ge)

#define LAMINA_DECLARE_BINARY(name)                            \
  /** Elementwise name(a, b) with broadcasting. */             \
  Tensor name(const Tensor& a, const Tensor& b);               \
  /** Elementwise name(a, scalar). */                          \
  Tensor name(const Tensor& a, const Scalar& b);               \
  /** In-place name(a, b); b broadcasts to a's shape. */       \
  const Tensor& name##_(const Tensor& a, const Tensor& b);     \
  /** In-place name(a, scalar). */                             \
  const Tensor& name##_(const Tensor& a, const Scalar& b);
LAMINA_BINARY_OPS(LAMINA_DECLARE_BINARY)
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

#pragma once
// Device functors of the elementwise ops, in compute types (float for the 16-bit floats), with
// the CPU kernels' semantics (lamina/kernels/cpu/{unary,binary,ternary,copy}.cpp): NaN
// propagation, integer division by zero and INT_MIN / -1, saturating float -> int casts.
// Host-compilable: tests run them on the CPU against the CPU kernels.
//
// The op tables at the end (X-macros) drive both registration (unary.cu, binary.cu) and the
// tests, so every registered op is tested.
#include <tuple>

#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/elementwise_math.h"

namespace lamina::kernels::cuda {

// ---- functors on compute values ------------------------------------------------------------

#define LAMINA_CUDA_UNARY_FN(Name, expr)                 \
  struct Name {                                          \
    explicit Name(const KernelParams&) {}                \
    template <class C>                                   \
    LAMINA_HD C operator()(C x) const {                  \
      return static_cast<C>(expr);                       \
    }                                                    \
  };

LAMINA_CUDA_UNARY_FN(NegFn, -x)
LAMINA_CUDA_UNARY_FN(AbsFn, abs_of(x))
LAMINA_CUDA_UNARY_FN(SignFn, sign_of(x))
LAMINA_CUDA_UNARY_FN(SquareFn, x* x)
LAMINA_CUDA_UNARY_FN(ExpFn, std::exp(x))
LAMINA_CUDA_UNARY_FN(Exp2Fn, std::exp2(x))
LAMINA_CUDA_UNARY_FN(Expm1Fn, std::expm1(x))
LAMINA_CUDA_UNARY_FN(LogFn, std::log(x))
LAMINA_CUDA_UNARY_FN(Log2Fn, std::log2(x))
LAMINA_CUDA_UNARY_FN(Log10Fn, std::log10(x))
LAMINA_CUDA_UNARY_FN(Log1pFn, std::log1p(x))
LAMINA_CUDA_UNARY_FN(SqrtFn, std::sqrt(x))
LAMINA_CUDA_UNARY_FN(RsqrtFn, C(1) / std::sqrt(x))
LAMINA_CUDA_UNARY_FN(ReciprocalFn, C(1) / x)
LAMINA_CUDA_UNARY_FN(SinFn, std::sin(x))
LAMINA_CUDA_UNARY_FN(CosFn, std::cos(x))
LAMINA_CUDA_UNARY_FN(TanFn, std::tan(x))
LAMINA_CUDA_UNARY_FN(AsinFn, std::asin(x))
LAMINA_CUDA_UNARY_FN(AcosFn, std::acos(x))
LAMINA_CUDA_UNARY_FN(AtanFn, std::atan(x))
LAMINA_CUDA_UNARY_FN(SinhFn, std::sinh(x))
LAMINA_CUDA_UNARY_FN(CoshFn, std::cosh(x))
LAMINA_CUDA_UNARY_FN(TanhFn, std::tanh(x))
LAMINA_CUDA_UNARY_FN(ErfFn, std::erf(x))
LAMINA_CUDA_UNARY_FN(SigmoidFn, sigmoid_of(x))
LAMINA_CUDA_UNARY_FN(ReluFn, x > C(0) ? x : C(0))
LAMINA_CUDA_UNARY_FN(SiluFn, x* sigmoid_of(x))
LAMINA_CUDA_UNARY_FN(GeluFn, C(0.5) * x * (C(1) + std::erf(x * C(0.70710678118654752440))))
LAMINA_CUDA_UNARY_FN(GeluTanhFn,
                     C(0.5) * x * (C(1) + std::tanh(C(0.79788456080286535588) * (x + C(0.044715) * x * x * x))))
LAMINA_CUDA_UNARY_FN(SoftplusFn, x > C(20) ? x : std::log1p(std::exp(x)))
LAMINA_CUDA_UNARY_FN(FloorFn, std::floor(x))
LAMINA_CUDA_UNARY_FN(CeilFn, std::ceil(x))
LAMINA_CUDA_UNARY_FN(TruncFn, std::trunc(x))
LAMINA_CUDA_UNARY_FN(RoundFn, std::nearbyint(x))  // half to even
LAMINA_CUDA_UNARY_FN(BitwiseNotFn, ~x)
LAMINA_CUDA_UNARY_FN(BoolNotFn, !x)
#undef LAMINA_CUDA_UNARY_FN

#define LAMINA_CUDA_PREDICATE_FN(Name, expr)             \
  struct Name {                                          \
    explicit Name(const KernelParams&) {}                \
    template <class C>                                   \
    LAMINA_HD bool operator()(C x) const {               \
      return expr;                                       \
    }                                                    \
  };
LAMINA_CUDA_PREDICATE_FN(IsNanFn, x != x)
LAMINA_CUDA_PREDICATE_FN(IsInfFn, std::isinf(x))
LAMINA_CUDA_PREDICATE_FN(IsFiniteFn, std::isfinite(x))
#undef LAMINA_CUDA_PREDICATE_FN

#define LAMINA_CUDA_BINARY_FN(Name, expr)                \
  struct Name {                                          \
    explicit Name(const KernelParams&) {}                \
    template <class C>                                   \
    LAMINA_HD C operator()(C a, C b) const {             \
      return static_cast<C>(expr);                       \
    }                                                    \
  };
LAMINA_CUDA_BINARY_FN(AddFn, a + b)
LAMINA_CUDA_BINARY_FN(SubFn, a - b)
LAMINA_CUDA_BINARY_FN(MulFn, a* b)
LAMINA_CUDA_BINARY_FN(DivFn, a / b)
LAMINA_CUDA_BINARY_FN(FloorDivFn, floor_div(a, b))
LAMINA_CUDA_BINARY_FN(RemainderFn, py_mod(a, b))
LAMINA_CUDA_BINARY_FN(FmodFn, c_fmod(a, b))
LAMINA_CUDA_BINARY_FN(PowFn, power(a, b))
LAMINA_CUDA_BINARY_FN(MaximumFn, max_nan(a, b))
LAMINA_CUDA_BINARY_FN(MinimumFn, min_nan(a, b))
LAMINA_CUDA_BINARY_FN(Atan2Fn, std::atan2(a, b))
LAMINA_CUDA_BINARY_FN(ReluBackwardFn, b > C(0) ? a : C(0))  // a: gradient, b: relu input
LAMINA_CUDA_BINARY_FN(GeluBackwardFn, a * (C(0.5) * (C(1) + std::erf(b * C(0.7071067811865476))) +
                                           b * C(0.3989422804014327) * std::exp(C(-0.5) * b * b)))
LAMINA_CUDA_BINARY_FN(GeluTanhBackwardFn, a* gelu_tanh_slope(b))
LAMINA_CUDA_BINARY_FN(BitAndFn, a& b)
LAMINA_CUDA_BINARY_FN(BitOrFn, a | b)
LAMINA_CUDA_BINARY_FN(BitXorFn, a ^ b)
LAMINA_CUDA_BINARY_FN(BoolOrFn, a || b)
LAMINA_CUDA_BINARY_FN(BoolAndFn, a&& b)
LAMINA_CUDA_BINARY_FN(BoolXorFn, a != b)
#undef LAMINA_CUDA_BINARY_FN

#define LAMINA_CUDA_COMPARE_FN(Name, expr)               \
  struct Name {                                          \
    explicit Name(const KernelParams&) {}                \
    template <class C>                                   \
    LAMINA_HD bool operator()(C a, C b) const {          \
      return expr;                                       \
    }                                                    \
  };
LAMINA_CUDA_COMPARE_FN(EqFn, a == b)
LAMINA_CUDA_COMPARE_FN(NeFn, a != b)
LAMINA_CUDA_COMPARE_FN(LtFn, a < b)
LAMINA_CUDA_COMPARE_FN(LeFn, a <= b)
LAMINA_CUDA_COMPARE_FN(GtFn, a > b)
LAMINA_CUDA_COMPARE_FN(GeFn, a >= b)
#undef LAMINA_CUDA_COMPARE_FN

// ---- element ops (stored types in and out) ---------------------------------------------------

/// out = f(a) in T's compute type.
template <class T, class F>
struct UnaryOp {
  using out_t = T;
  using inputs = std::tuple<T>;
  F f;
  explicit UnaryOp(const KernelParams& p) : f(p) {}
  LAMINA_HD T operator()(T a) const { return from_compute<T>(f(to_compute(a))); }
};

/// out (bool) = f(a).
template <class T, class F>
struct UnaryToBoolOp {
  using out_t = bool;
  using inputs = std::tuple<T>;
  F f;
  explicit UnaryToBoolOp(const KernelParams& p) : f(p) {}
  LAMINA_HD bool operator()(T a) const { return f(to_compute(a)); }
};

/// out = f(a, b) in T's compute type.
template <class T, class F>
struct BinaryOp {
  using out_t = T;
  using inputs = std::tuple<T, T>;
  F f;
  explicit BinaryOp(const KernelParams& p) : f(p) {}
  LAMINA_HD T operator()(T a, T b) const { return from_compute<T>(f(to_compute(a), to_compute(b))); }
};

/// out (bool) = f(a, b): comparisons.
template <class T, class F>
struct BinaryToBoolOp {
  using out_t = bool;
  using inputs = std::tuple<T, T>;
  F f;
  explicit BinaryToBoolOp(const KernelParams& p) : f(p) {}
  LAMINA_HD bool operator()(T a, T b) const { return f(to_compute(a), to_compute(b)); }
};

/// out = a converted from From to To (the copy kernel).
template <class To, class From>
struct ConvertOp {
  using out_t = To;
  using inputs = std::tuple<From>;
  explicit ConvertOp(const KernelParams&) {}
  LAMINA_HD To operator()(From a) const { return convert<To>(a); }
};

/// out = a constant: params.a for floats, params.i for integers and bool.
template <class T>
struct FillOp {
  using out_t = T;
  using inputs = std::tuple<>;
  T value;
  explicit FillOp(const KernelParams& p) {
    if constexpr (std::is_integral_v<T>) value = static_cast<T>(p.i);
    else value = from_compute<T>(static_cast<compute_t<T>>(p.a));
  }
  LAMINA_HD T operator()() const { return value; }
};

/// out = cond ? a : b.
template <class T>
struct WhereOp {
  using out_t = T;
  using inputs = std::tuple<bool, T, T>;
  explicit WhereOp(const KernelParams&) {}
  LAMINA_HD T operator()(bool c, T a, T b) const { return c ? a : b; }
};

/// out = min(max(x, lo), hi); NaN in x propagates, a NaN bound wins (the CPU kernel's rule).
template <class T>
struct ClampOp {
  using out_t = T;
  using inputs = std::tuple<T, T, T>;
  explicit ClampOp(const KernelParams&) {}
  LAMINA_HD T operator()(T xs, T los, T his) const {
    using C = compute_t<T>;
    C x = to_compute(xs);
    const C lo = to_compute(los), hi = to_compute(his);
    if constexpr (std::is_floating_point_v<C>) {
      if (x == x) x = x < lo ? lo : x;
      if (x == x) x = x > hi ? hi : x;
      if (lo != lo || hi != hi) x = lo != lo ? lo : hi;
    } else {
      x = x < lo ? lo : x;
      x = x > hi ? hi : x;
    }
    return from_compute<T>(x);
  }
};

}  // namespace lamina::kernels::cuda

// ---- op tables: X(name, wrapper, functor, type list) -----------------------------------------
// Type lists name the LAMINA_CUDA_*_TYPES families (or bool alone).

#define LAMINA_CUDA_TYPES_FLOAT LAMINA_CUDA_FLOAT_TYPES
#define LAMINA_CUDA_TYPES_NUMERIC LAMINA_CUDA_NUMERIC_TYPES
#define LAMINA_CUDA_TYPES_INT LAMINA_CUDA_INT_TYPES
#define LAMINA_CUDA_TYPES_ALL LAMINA_CUDA_ALL_TYPES
#define LAMINA_CUDA_TYPES_BOOL bool

#define LAMINA_CUDA_UNARY_TABLE(X)                   \
  X(neg, UnaryOp, NegFn, NUMERIC)                    \
  X(abs, UnaryOp, AbsFn, NUMERIC)                    \
  X(sign, UnaryOp, SignFn, NUMERIC)                  \
  X(square, UnaryOp, SquareFn, NUMERIC)              \
  X(exp, UnaryOp, ExpFn, FLOAT)                      \
  X(exp2, UnaryOp, Exp2Fn, FLOAT)                    \
  X(expm1, UnaryOp, Expm1Fn, FLOAT)                  \
  X(log, UnaryOp, LogFn, FLOAT)                      \
  X(log2, UnaryOp, Log2Fn, FLOAT)                    \
  X(log10, UnaryOp, Log10Fn, FLOAT)                  \
  X(log1p, UnaryOp, Log1pFn, FLOAT)                  \
  X(sqrt, UnaryOp, SqrtFn, FLOAT)                    \
  X(rsqrt, UnaryOp, RsqrtFn, FLOAT)                  \
  X(reciprocal, UnaryOp, ReciprocalFn, FLOAT)        \
  X(sin, UnaryOp, SinFn, FLOAT)                      \
  X(cos, UnaryOp, CosFn, FLOAT)                      \
  X(tan, UnaryOp, TanFn, FLOAT)                      \
  X(asin, UnaryOp, AsinFn, FLOAT)                    \
  X(acos, UnaryOp, AcosFn, FLOAT)                    \
  X(atan, UnaryOp, AtanFn, FLOAT)                    \
  X(sinh, UnaryOp, SinhFn, FLOAT)                    \
  X(cosh, UnaryOp, CoshFn, FLOAT)                    \
  X(tanh, UnaryOp, TanhFn, FLOAT)                    \
  X(erf, UnaryOp, ErfFn, FLOAT)                      \
  X(sigmoid, UnaryOp, SigmoidFn, FLOAT)              \
  X(relu, UnaryOp, ReluFn, NUMERIC)                  \
  X(silu, UnaryOp, SiluFn, FLOAT)                    \
  X(gelu, UnaryOp, GeluFn, FLOAT)                    \
  X(gelu_tanh, UnaryOp, GeluTanhFn, FLOAT)           \
  X(softplus, UnaryOp, SoftplusFn, FLOAT)            \
  X(floor, UnaryOp, FloorFn, FLOAT)                  \
  X(ceil, UnaryOp, CeilFn, FLOAT)                    \
  X(trunc, UnaryOp, TruncFn, FLOAT)                  \
  X(round, UnaryOp, RoundFn, FLOAT)                  \
  X(bitwise_not, UnaryOp, BitwiseNotFn, INT)         \
  X(bitwise_not, UnaryOp, BoolNotFn, BOOL)           \
  X(logical_not, UnaryOp, BoolNotFn, BOOL)           \
  X(isnan, UnaryToBoolOp, IsNanFn, FLOAT)            \
  X(isinf, UnaryToBoolOp, IsInfFn, FLOAT)            \
  X(isfinite, UnaryToBoolOp, IsFiniteFn, FLOAT)

#define LAMINA_CUDA_BINARY_TABLE(X)                            \
  X(add, BinaryOp, AddFn, NUMERIC)                             \
  X(add, BinaryOp, BoolOrFn, BOOL)                             \
  X(sub, BinaryOp, SubFn, NUMERIC)                             \
  X(mul, BinaryOp, MulFn, NUMERIC)                             \
  X(mul, BinaryOp, BoolAndFn, BOOL)                            \
  X(div, BinaryOp, DivFn, FLOAT)                               \
  X(floor_divide, BinaryOp, FloorDivFn, NUMERIC)               \
  X(remainder, BinaryOp, RemainderFn, NUMERIC)                 \
  X(fmod, BinaryOp, FmodFn, NUMERIC)                           \
  X(pow, BinaryOp, PowFn, NUMERIC)                             \
  X(maximum, BinaryOp, MaximumFn, NUMERIC)                     \
  X(maximum, BinaryOp, BoolOrFn, BOOL)                         \
  X(minimum, BinaryOp, MinimumFn, NUMERIC)                     \
  X(minimum, BinaryOp, BoolAndFn, BOOL)                        \
  X(atan2, BinaryOp, Atan2Fn, FLOAT)                           \
  X(relu_backward, BinaryOp, ReluBackwardFn, FLOAT)            \
  X(gelu_backward, BinaryOp, GeluBackwardFn, FLOAT)            \
  X(gelu_tanh_backward, BinaryOp, GeluTanhBackwardFn, FLOAT)   \
  X(bitwise_and, BinaryOp, BitAndFn, INT)                      \
  X(bitwise_and, BinaryOp, BoolAndFn, BOOL)                    \
  X(bitwise_or, BinaryOp, BitOrFn, INT)                        \
  X(bitwise_or, BinaryOp, BoolOrFn, BOOL)                      \
  X(bitwise_xor, BinaryOp, BitXorFn, INT)                      \
  X(bitwise_xor, BinaryOp, BoolXorFn, BOOL)                    \
  X(logical_and, BinaryOp, BoolAndFn, BOOL)                    \
  X(logical_or, BinaryOp, BoolOrFn, BOOL)                      \
  X(logical_xor, BinaryOp, BoolXorFn, BOOL)                    \
  X(eq, BinaryToBoolOp, EqFn, ALL)                             \
  X(ne, BinaryToBoolOp, NeFn, ALL)                             \
  X(lt, BinaryToBoolOp, LtFn, ALL)                             \
  X(le, BinaryToBoolOp, LeFn, ALL)                             \
  X(gt, BinaryToBoolOp, GtFn, ALL)                             \
  X(ge, BinaryToBoolOp, GeFn, ALL)

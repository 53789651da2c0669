#pragma once
// The scalar math of the elementwise ops, in compute types (float for the 16-bit floats): one
// definition that the CPU kernels (kernels/cpu/elementwise.cpp) and the CUDA kernels
// (kernels/cuda/unary.cu, binary.cu) both register from kernels/elementwise_table.h, so the two
// devices share every formula: NaN propagation, Python-style floor division and modulo, integer
// division by zero (0, reported through KernelParams::status) and INT_MIN / -1 (wraps instead of
// trapping), integer powers that wrap like PyTorch's. Host-compilable (LAMINA_HD).
#include <cmath>
#include <limits>
#include <type_traits>

#include "lamina/kernels/host_device.h"
#include "lamina/kernels/loops.h"

namespace lamina::kernels {

/// 1 / (1 + exp(-x)), computed without overflow for either sign.
template <class C>
LAMINA_HD inline C sigmoid_of(C x) {
  return x >= C(0) ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x));
}

/// |x|; abs(-0.0) is +0.0, as in PyTorch and NumPy.
template <class C>
LAMINA_HD inline C abs_of(C x) {
  if constexpr (std::is_floating_point_v<C>)
    return std::fabs(x);
  else if constexpr (std::is_unsigned_v<C>)
    return x;
  else
    return x < C(0) ? C(-x) : x;
}

/// -1, 0 or 1.
template <class C>
LAMINA_HD inline C sign_of(C x) {
  if constexpr (std::is_unsigned_v<C>)
    return static_cast<C>(x > C(0));
  else
    return static_cast<C>((x > C(0)) - (x < C(0)));
}

/// Integer a // b rounded toward -inf; 0 for b == 0, INT_MIN // -1 wraps.
template <class C>
LAMINA_HD inline C int_floor_div(C a, C b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<C>) {
    if (b == -1) return static_cast<C>(0 - static_cast<std::make_unsigned_t<C>>(a));
    C q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
  } else {
    return a / b;
  }
}

/// Integer a % b with the divisor's sign (Python); 0 for b == 0 or -1.
template <class C>
LAMINA_HD inline C int_mod(C a, C b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<C>) {
    if (b == C(-1)) return 0;
    C r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  } else {
    return a % b;
  }
}

/// Integer a % b with the dividend's sign (C); 0 for b == 0 or -1.
template <class C>
LAMINA_HD inline C int_fmod(C a, C b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<C>)
    if (b == C(-1)) return 0;
  return a % b;
}

/// Integer base ** exp, wrapping; negative exponents give 0 except for bases 1 and -1.
template <class C>
LAMINA_HD inline C int_pow(C base, C exp) {
  if constexpr (std::is_signed_v<C>) {
    if (exp < 0) return base == 1 ? 1 : base == -1 ? (exp % 2 ? -1 : 1) : 0;
  }
  using U = std::make_unsigned_t<C>;
  U result = 1, b = static_cast<U>(base);
  for (C e = exp; e > 0; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<C>(result);
}

/// a // b (Python's floor division, torch.floor_divide).
template <class C>
LAMINA_HD inline C floor_div(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    return int_floor_div(a, b);
  } else {
    if (b == C(0)) return a / b;
    const C mod = std::fmod(a, b);
    C div = (a - mod) / b;
    if (mod != C(0) && ((b < C(0)) != (mod < C(0)))) div -= C(1);
    C floordiv = std::floor(div);
    if (div - floordiv > C(0.5)) floordiv += C(1);
    return div == C(0) ? std::copysign(C(0), a / b) : floordiv;
  }
}

/// a % b with the divisor's sign (torch.remainder).
template <class C>
LAMINA_HD inline C py_mod(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    return int_mod(a, b);
  } else {
    C r = std::fmod(a, b);
    if (r != C(0) && ((r < C(0)) != (b < C(0)))) r += b;
    return r;
  }
}

/// a % b with the dividend's sign (torch.fmod).
template <class C>
LAMINA_HD inline C c_fmod(C a, C b) {
  if constexpr (std::is_integral_v<C>)
    return int_fmod(a, b);
  else
    return std::fmod(a, b);
}

/// x < 0 (false for unsigned types, without a comparison the compiler flags).
template <class C>
LAMINA_HD inline bool is_negative(C x) {
  if constexpr (std::is_signed_v<C>)
    return x < C(0);
  else
    return false;
}

/// a ** b.
template <class C>
LAMINA_HD inline C power(C a, C b) {
  if constexpr (std::is_integral_v<C>)
    return int_pow(a, b);
  else
    return std::pow(a, b);
}

/// The larger of a and b; NaN when either is NaN (torch.maximum).
template <class C>
LAMINA_HD inline C max_nan(C a, C b) {
  if constexpr (std::is_floating_point_v<C>)
    if (a != a || b != b) return std::numeric_limits<C>::quiet_NaN();
  return a > b ? a : b;
}

/// The smaller of a and b; NaN when either is NaN (torch.minimum).
template <class C>
LAMINA_HD inline C min_nan(C a, C b) {
  if constexpr (std::is_floating_point_v<C>)
    if (a != a || b != b) return std::numeric_limits<C>::quiet_NaN();
  return a < b ? a : b;
}

/// d/dx of the tanh-form gelu 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <class C>
LAMINA_HD inline C gelu_tanh_slope(C x) {
  const C k = C(0.7978845608028654), t = std::tanh(k * (x + C(0.044715) * x * x * x));
  return C(0.5) * (C(1) + t) + C(0.5) * x * (C(1) - t * t) * k * (C(1) + C(3 * 0.044715) * x * x);
}

/// log(exp(a) + exp(b)) without overflow; equal infinities give themselves.
template <class C>
LAMINA_HD inline C log_add_exp(C a, C b) {
  if (a == b) return a + C(0.69314718055994530942);
  const C hi = a > b ? a : b, d = a > b ? b - a : a - b;
  return hi + std::log1p(std::exp(d));
}

// ---- the functors the tables of kernels/elementwise_table.h name -------------------------
// Each takes the kernel's KernelParams and maps compute values; a backend's wrapper converts
// stored values (Half, __half, ...) to and from the compute type around it.

/// The BoolFn column's "no functor for bool operands".
struct NoFn {};

#define LAMINA_UNARY_FN(Name, expr)       \
  struct Name {                           \
    explicit Name(const KernelParams&) {} \
    template <class C>                    \
    LAMINA_HD C operator()(C x) const {   \
      return static_cast<C>(expr);        \
    }                                     \
  };
LAMINA_UNARY_FN(NegFn, -x)
LAMINA_UNARY_FN(AbsFn, abs_of(x))
LAMINA_UNARY_FN(SignFn, sign_of(x))
LAMINA_UNARY_FN(SquareFn, x* x)
LAMINA_UNARY_FN(ExpFn, std::exp(x))
LAMINA_UNARY_FN(Exp2Fn, std::exp2(x))
LAMINA_UNARY_FN(Expm1Fn, std::expm1(x))
LAMINA_UNARY_FN(LogFn, std::log(x))
LAMINA_UNARY_FN(Log2Fn, std::log2(x))
LAMINA_UNARY_FN(Log10Fn, std::log10(x))
LAMINA_UNARY_FN(Log1pFn, std::log1p(x))
LAMINA_UNARY_FN(SqrtFn, std::sqrt(x))
LAMINA_UNARY_FN(RsqrtFn, C(1) / std::sqrt(x))
LAMINA_UNARY_FN(ReciprocalFn, C(1) / x)
LAMINA_UNARY_FN(SinFn, std::sin(x))
LAMINA_UNARY_FN(CosFn, std::cos(x))
LAMINA_UNARY_FN(TanFn, std::tan(x))
LAMINA_UNARY_FN(AsinFn, std::asin(x))
LAMINA_UNARY_FN(AcosFn, std::acos(x))
LAMINA_UNARY_FN(AtanFn, std::atan(x))
LAMINA_UNARY_FN(SinhFn, std::sinh(x))
LAMINA_UNARY_FN(CoshFn, std::cosh(x))
LAMINA_UNARY_FN(TanhFn, std::tanh(x))
LAMINA_UNARY_FN(ErfFn, std::erf(x))
LAMINA_UNARY_FN(SigmoidFn, sigmoid_of(x))
LAMINA_UNARY_FN(ReluFn, x > C(0) ? x : C(0))
LAMINA_UNARY_FN(SiluFn, x* sigmoid_of(x))
LAMINA_UNARY_FN(GeluFn, C(0.5) * x * (C(1) + std::erf(x * C(0.70710678118654752440))))
LAMINA_UNARY_FN(GeluTanhFn, C(0.5) * x * (C(1) + std::tanh(C(0.79788456080286535588) * (x + C(0.044715) * x * x * x))))
LAMINA_UNARY_FN(SoftplusFn, x > C(20) ? x : std::log1p(std::exp(x)))
LAMINA_UNARY_FN(SeluFn, C(1.0507009873554804934) * (x > C(0) ? x : C(1.6732632423543772848) * std::expm1(x)))
LAMINA_UNARY_FN(MishFn, x* std::tanh(x > C(20) ? x : std::log1p(std::exp(x))))
LAMINA_UNARY_FN(HardswishFn, x*(x <= C(-3) ? C(0) : x >= C(3) ? C(1) : (x + C(3)) / C(6)))
LAMINA_UNARY_FN(HardsigmoidFn, x <= C(-3) ? C(0) : x >= C(3) ? C(1) : (x + C(3)) / C(6))
LAMINA_UNARY_FN(FloorFn, std::floor(x))
LAMINA_UNARY_FN(CeilFn, std::ceil(x))
LAMINA_UNARY_FN(TruncFn, std::trunc(x))
LAMINA_UNARY_FN(RoundFn, std::nearbyint(x))  // half to even, like PyTorch and NumPy
LAMINA_UNARY_FN(BitwiseNotFn, ~x)
LAMINA_UNARY_FN(BoolNotFn, !x)
#undef LAMINA_UNARY_FN

#define LAMINA_PREDICATE_FN(Name, expr)     \
  struct Name {                             \
    explicit Name(const KernelParams&) {}   \
    template <class C>                      \
    LAMINA_HD bool operator()(C x) const {  \
      return expr;                          \
    }                                       \
  };
LAMINA_PREDICATE_FN(IsNanFn, x != x)
LAMINA_PREDICATE_FN(IsInfFn, std::isinf(x))
LAMINA_PREDICATE_FN(IsFiniteFn, std::isfinite(x))
#undef LAMINA_PREDICATE_FN

#define LAMINA_BINARY_FN(Name, expr)           \
  struct Name {                                \
    explicit Name(const KernelParams&) {}      \
    template <class C>                         \
    LAMINA_HD C operator()(C a, C b) const {   \
      return static_cast<C>(expr);             \
    }                                          \
  };
LAMINA_BINARY_FN(AddFn, a + b)
LAMINA_BINARY_FN(SubFn, a - b)
LAMINA_BINARY_FN(MulFn, a* b)
LAMINA_BINARY_FN(DivFn, a / b)
LAMINA_BINARY_FN(MaximumFn, max_nan(a, b))
LAMINA_BINARY_FN(MinimumFn, min_nan(a, b))
LAMINA_BINARY_FN(Atan2Fn, std::atan2(a, b))
LAMINA_BINARY_FN(HypotFn, std::hypot(a, b))
LAMINA_BINARY_FN(LogAddExpFn, log_add_exp(a, b))
LAMINA_BINARY_FN(CopySignFn, std::copysign(a, b))
LAMINA_BINARY_FN(ReluBackwardFn, b > C(0) ? a : C(0))  // a: gradient, b: relu input
// a: gradient, b: gelu input; d gelu / dx = Phi(x) + x phi(x).
LAMINA_BINARY_FN(GeluBackwardFn, a * (C(0.5) * (C(1) + std::erf(b * C(0.7071067811865476))) +
                                      b * C(0.3989422804014327) * std::exp(C(-0.5) * b * b)))
LAMINA_BINARY_FN(GeluTanhBackwardFn, a* gelu_tanh_slope(b))  // a: gradient, b: input
LAMINA_BINARY_FN(BitAndFn, a& b)
LAMINA_BINARY_FN(BitOrFn, a | b)
LAMINA_BINARY_FN(BitXorFn, a ^ b)
// On bool, + is "or" and * is "and" (PyTorch semantics).
LAMINA_BINARY_FN(BoolOrFn, a || b)
LAMINA_BINARY_FN(BoolAndFn, a&& b)
LAMINA_BINARY_FN(BoolXorFn, a != b)
#undef LAMINA_BINARY_FN

// The integer forms report an input they can't compute (a zero divisor, a negative exponent)
// through params.status; the value written there is 0 and the op raises after the launch.
#define LAMINA_CHECKED_BINARY_FN(Name, expr, is_bad, code)     \
  struct Name {                                                \
    int32_t* status;                                           \
    explicit Name(const KernelParams& p) : status(p.status) {} \
    template <class C>                                         \
    LAMINA_HD C operator()(C a, C b) const {                   \
      if constexpr (std::is_integral_v<C>)                     \
        if (is_bad) report_status(status, code);               \
      return static_cast<C>(expr);                             \
    }                                                          \
  };
LAMINA_CHECKED_BINARY_FN(FloorDivFn, floor_div(a, b), b == C(0), kStatusIntegerDivisionByZero)
LAMINA_CHECKED_BINARY_FN(RemainderFn, py_mod(a, b), b == C(0), kStatusIntegerDivisionByZero)
LAMINA_CHECKED_BINARY_FN(FmodFn, c_fmod(a, b), b == C(0), kStatusIntegerDivisionByZero)
LAMINA_CHECKED_BINARY_FN(PowFn, power(a, b), is_negative(b), kStatusNegativeIntegerPower)
#undef LAMINA_CHECKED_BINARY_FN

#define LAMINA_COMPARE_FN(Name, expr)              \
  struct Name {                                    \
    explicit Name(const KernelParams&) {}          \
    template <class C>                             \
    LAMINA_HD bool operator()(C a, C b) const {    \
      return expr;                                 \
    }                                              \
  };
LAMINA_COMPARE_FN(EqFn, a == b)
LAMINA_COMPARE_FN(NeFn, a != b)
LAMINA_COMPARE_FN(LtFn, a < b)
LAMINA_COMPARE_FN(LeFn, a <= b)
LAMINA_COMPARE_FN(GtFn, a > b)
LAMINA_COMPARE_FN(GeFn, a >= b)
#undef LAMINA_COMPARE_FN

}  // namespace lamina::kernels

#pragma once
// The scalar math of the elementwise ops shared by the CPU kernels (lamina/kernels/cpu/unary.cpp,
// binary.cpp) and the CUDA functors (lamina/kernels/cuda/functors.cuh), in compute types (float
// for the 16-bit floats), so both devices use one formula: NaN propagation, Python-style floor
// division and modulo, integer division by zero (0: the op layer rejects it first) and
// INT_MIN / -1 (wraps instead of trapping), integer powers that wrap like PyTorch's.
#include <cmath>
#include <limits>
#include <type_traits>

#include "lamina/kernels/host_device.h"

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

}  // namespace lamina::kernels

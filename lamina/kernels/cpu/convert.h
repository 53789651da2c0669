#pragma once
// Element conversion between dtypes with defined results for every input (no UB on NaN or
// out-of-range floats, which saturate, as in NumPy's typical behaviour on x86).
#include <cmath>
#include <limits>
#include <type_traits>

#include "lamina/core/dtype.h"

namespace lamina::kernels::cpu {

/// Converts one element of type From to type To.
template <class To, class From>
inline To convert(From v) {
  using CF = compute_t<From>;
  const CF x = static_cast<CF>(v);
  if constexpr (std::is_same_v<To, bool>) {
    return x != CF(0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<CF>) {
    if (std::isnan(x)) return To(0);
    constexpr double lo = static_cast<double>(std::numeric_limits<To>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<To>::max());
    const double d = static_cast<double>(x);
    if (d <= lo) return std::numeric_limits<To>::min();
    if (d >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(d);
  } else {
    return To(static_cast<compute_t<To>>(x));
  }
}

}  // namespace lamina::kernels::cpu

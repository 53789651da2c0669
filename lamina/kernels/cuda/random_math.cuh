#pragma once
// The random fills' per-element functions on the CUDA backend: the shared draws of
// kernels/random_math.h stored as the device's types (__half, __nv_bfloat16, ...). Compiles with
// the host compiler too (tests).
#include <cstdint>
#include <type_traits>

#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/random_math.h"

namespace lamina::kernels::cuda::random_math {

using kernels::philox;

/// A double draw stored as T: integers exactly, floats through their compute type.
template <class T, class V>
LAMINA_HD inline T store(V v) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(v);
  else
    return from_compute<T>(static_cast<compute_t<T>>(v));
}

/// Element `counter` of a U(lo, hi) draw as T.
template <class T>
LAMINA_HD inline T uniform_element(uint64_t seed, uint64_t counter, double lo, double hi) {
  const auto round_trip = [](double v) {
    return static_cast<double>(to_compute(from_compute<T>(static_cast<compute_t<T>>(v))));
  };
  return store<T>(uniform_value(seed, counter, lo, hi, round_trip));
}

/// Element `counter` of an N(mean, std) draw as T.
template <class T>
LAMINA_HD inline T normal_element(uint64_t seed, uint64_t counter, double mean, double std) {
  return store<T>(normal_value(seed, counter, mean, std));
}

/// Element `counter` of an integer draw in [lo, hi) as T.
template <class T>
LAMINA_HD inline T randint_element(uint64_t seed, uint64_t counter, int64_t lo, int64_t hi) {
  return store<T>(randint_value(seed, counter, lo, hi));
}

}  // namespace lamina::kernels::cuda::random_math

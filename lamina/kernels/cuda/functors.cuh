#pragma once
// Element ops of the CUDA elementwise driver: stored values in and out (__half, __nv_bfloat16,
// ...) around the shared functors of kernels/elementwise_math.h, which both backends register
// from kernels/elementwise_table.h; plus casts, fill, where and clamp with the CPU kernels'
// semantics (saturating float -> int casts, NaN bounds). Host-compilable: tests run them on the
// CPU against the CPU kernels.
#include <tuple>

#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/elementwise_math.h"

namespace lamina::kernels::cuda {

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

// Type lists of kernels/elementwise_table.h's `types` column on this backend.
#define LAMINA_CUDA_TYPES_FLOAT LAMINA_CUDA_FLOAT_TYPES
#define LAMINA_CUDA_TYPES_NUMERIC LAMINA_CUDA_NUMERIC_TYPES
#define LAMINA_CUDA_TYPES_INT LAMINA_CUDA_INT_TYPES
#define LAMINA_CUDA_TYPES_ALL LAMINA_CUDA_ALL_TYPES
#define LAMINA_CUDA_TYPES_BOOL bool

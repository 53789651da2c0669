#pragma once
// Shared CPU kernel drivers: walk a StridedLoop / ReduceLoop and apply a functor.
// Kernels never validate or allocate; the runtime has done both.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "lamina/core/dtype.h"
#include "lamina/kernels/loops.h"
#include "lamina/runtime/dispatch.h"

namespace lamina::kernels::cpu {

/// Calls body(out_ptr, out2_ptr, in_ptr) for every output element of a reduction, with
/// the input pointer at the first reduced element; the body walks the reduced elements.
template <class Body>
inline void for_each_output(const ReduceLoop& loop, Body&& body) {
  int64_t idx[kMaxDims] = {0};
  char* out = loop.out;
  char* out2 = loop.out2;
  const char* in = loop.in;
  for (int64_t o = 0; o < loop.outer_numel; ++o) {
    body(out, out2, in);
    for (int d = loop.outer_ndim - 1; d >= 0; --d) {
      out += loop.out_strides[d];
      out2 += loop.out2_strides[d];
      in += loop.in_outer_strides[d];
      if (++idx[d] < loop.outer_shape[d]) break;
      out -= loop.out_strides[d] * loop.outer_shape[d];
      out2 -= loop.out2_strides[d] * loop.outer_shape[d];
      in -= loop.in_outer_strides[d] * loop.outer_shape[d];
      idx[d] = 0;
    }
  }
}

/// Calls f(value) for each reduced element starting at `in`, in a fixed (row-major) order.
template <class T, class F>
inline void for_each_reduced(const ReduceLoop& loop, const char* in, F&& f) {
  if (loop.reduce_numel == 0) return;
  if (loop.reduce_ndim == 0) {
    f(*reinterpret_cast<const T*>(in));
    return;
  }
  const int inner = loop.reduce_ndim - 1;
  const int64_t n = loop.reduce_shape[inner];
  const int64_t s = loop.in_reduce_strides[inner];
  int64_t idx[kMaxDims] = {0};
  const int64_t rows = loop.reduce_numel / n;
  for (int64_t r = 0; r < rows; ++r) {
    if (s == static_cast<int64_t>(sizeof(T))) {
      const T* p = reinterpret_cast<const T*>(in);
      for (int64_t i = 0; i < n; ++i) f(p[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) f(*reinterpret_cast<const T*>(in + i * s));
    }
    for (int d = inner - 1; d >= 0; --d) {
      in += loop.in_reduce_strides[d];
      if (++idx[d] < loop.reduce_shape[d]) break;
      in -= loop.in_reduce_strides[d] * loop.reduce_shape[d];
      idx[d] = 0;
    }
  }
}

/// Calls body(ptrs, inner_strides, n) once per innermost row of the loop.
template <int N, class Body>
inline void for_each_row(const StridedLoop& loop, Body&& body) {
  if (loop.numel == 0) return;
  const int inner = loop.ndim - 1;
  const int64_t n = loop.shape[inner];
  char* ptrs[N];
  int64_t inner_strides[N];
  for (int k = 0; k < N; ++k) {
    ptrs[k] = loop.data[k];
    inner_strides[k] = loop.strides[k][inner];
  }
  if (inner == 0) {  // one row (every contiguous loop): no index bookkeeping, no division
    body(ptrs, inner_strides, n);
    return;
  }
  int64_t idx[kMaxDims] = {0};
  const int64_t rows = loop.numel / n;
  for (int64_t r = 0; r < rows; ++r) {
    body(ptrs, inner_strides, n);
    for (int d = inner - 1; d >= 0; --d) {
      for (int k = 0; k < N; ++k) ptrs[k] += loop.strides[k][d];
      if (++idx[d] < loop.shape[d]) break;
      for (int k = 0; k < N; ++k) ptrs[k] -= loop.strides[k][d] * loop.shape[d];
      idx[d] = 0;
    }
  }
}

/// out = f(a) elementwise; `F` is built from the kernel params.
template <class In, class Out, class F>
void unary_kernel(const StridedLoop& loop, const KernelParams& params) {
  const F f(params);
  for_each_row<2>(loop, [&](char** p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(Out) && s[1] == sizeof(In)) {
      Out* __restrict__ o = reinterpret_cast<Out*>(p[0]);
      const In* __restrict__ a = reinterpret_cast<const In*>(p[1]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(p[0] + i * s[0]) = f(*reinterpret_cast<const In*>(p[1] + i * s[1]));
    }
  });
}

/// out = f(a, b) elementwise.
template <class In, class Out, class F>
void binary_kernel(const StridedLoop& loop, const KernelParams& params) {
  const F f(params);
  for_each_row<3>(loop, [&](char** p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(Out) && s[1] == sizeof(In) && s[2] == sizeof(In)) {
      Out* o = reinterpret_cast<Out*>(p[0]);
      const In* a = reinterpret_cast<const In*>(p[1]);
      const In* b = reinterpret_cast<const In*>(p[2]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
    } else if (s[0] == sizeof(Out) && s[1] == sizeof(In) && s[2] == 0) {  // tensor op scalar
      Out* o = reinterpret_cast<Out*>(p[0]);
      const In* a = reinterpret_cast<const In*>(p[1]);
      const In b = *reinterpret_cast<const In*>(p[2]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(p[0] + i * s[0]) =
            f(*reinterpret_cast<const In*>(p[1] + i * s[1]), *reinterpret_cast<const In*>(p[2] + i * s[2]));
    }
  });
}

/// Registers `Kernel<T>` under `op` for each T in Ts on `backend` (the scalar CPU one by default).
template <template <class> class Kernel, class... Ts>
void register_each(Op op, runtime::Backend backend = runtime::Backend::CpuScalar) {
  (runtime::register_kernel(runtime::op_id(op), backend, DtypeOf<Ts>::value, reinterpret_cast<void*>(&Kernel<Ts>::run)),
   ...);
}

/// Wraps a same-type unary functor F<T>-agnostic into a registrable kernel.
template <class F>
struct Unary {
  template <class T>
  struct K {
    static void run(const StridedLoop& l, const KernelParams& p) { unary_kernel<T, T, F>(l, p); }
  };
};
/// Unary functor with bool output (isnan, ...).
template <class F>
struct UnaryToBool {
  template <class T>
  struct K {
    static void run(const StridedLoop& l, const KernelParams& p) { unary_kernel<T, bool, F>(l, p); }
  };
};
/// Same-type binary functor.
template <class F>
struct Binary {
  template <class T>
  struct K {
    static void run(const StridedLoop& l, const KernelParams& p) { binary_kernel<T, T, F>(l, p); }
  };
};
/// Binary functor with bool output (comparisons).
template <class F>
struct BinaryToBool {
  template <class T>
  struct K {
    static void run(const StridedLoop& l, const KernelParams& p) { binary_kernel<T, bool, F>(l, p); }
  };
};

#define LAMINA_FLOAT_TYPES Half, BFloat16, float, double
#define LAMINA_INT_TYPES uint8_t, int8_t, int32_t, int64_t
#define LAMINA_NUMERIC_TYPES LAMINA_INT_TYPES, LAMINA_FLOAT_TYPES
#define LAMINA_ALL_TYPES bool, LAMINA_NUMERIC_TYPES

/// Lanes of lane_sum's interleaved accumulators.
inline constexpr int kSumLanes = 8;

/// term(0) + ... + term(n - 1) in kSumLanes interleaved accumulators of type C, combined in a
/// fixed tree: the same bits on every run and thread count, and a loop the compiler vectorizes.
template <class C, class F>
inline C lane_sum(int64_t n, F&& term) {
  C acc[kSumLanes] = {};
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes)
    for (int l = 0; l < kSumLanes; ++l) acc[l] += term(i + l);
  for (int l = 0; i + l < n; ++l) acc[l] += term(i + l);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace lamina::kernels::cpu

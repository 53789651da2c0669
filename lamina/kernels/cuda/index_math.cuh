#pragma once
// Per-element work of the device indexing kernels (index.cu): take / put through an index
// operand, index-to-byte-offset conversion, and the reads and writes of the mask walks. The
// CPU kernels (lamina/kernels/cpu/index.cpp) do the same per element in row-major order; the
// device runs elements in any order, so only repeated put targets can differ (see index.cu).
// Compiles with the host compiler too (tests run these functions serially on the CPU).
#include <cstdint>
#include <type_traits>

#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/cuda/index_loop.cuh"
#include "lamina/kernels/loops.h"

namespace lamina::kernels::cuda::index_math {

using kernels::MaskLoop;

/// Put modes (KernelParams::j of "scatter"): assign, add, multiply.
inline constexpr int64_t kAssign = 0, kAdd = 1, kMultiply = 2;

/// dst combined with v: add (or for bool) or multiply (and for bool), in the compute type.
template <class T>
LAMINA_HD inline T combine(T dst, T v, int64_t mode) {
  if constexpr (std::is_same_v<T, bool>) {
    return mode == kAdd ? (dst || v) : (dst && v);
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(mode == kAdd ? dst + v : dst * v);
  } else {
    using C = compute_t<T>;
    const C a = to_compute(dst), b = to_compute(v);
    return from_compute<T>(mode == kAdd ? C(a + b) : C(a * b));
  }
}

/// out = *(base + index * scale) for element e of the loop (operands: out, int64 index, base).
template <class T>
LAMINA_HD inline void take_element(const StridedLoop& loop, int64_t e, int64_t scale) {
  int64_t off[3];
  strided_offsets<3>(loop, e, off);
  const int64_t j = *reinterpret_cast<const int64_t*>(loop.data[1] + off[1]);
  *reinterpret_cast<T*>(loop.data[0] + off[0]) = *reinterpret_cast<const T*>(loop.data[2] + off[2] + j * scale);
}

/// *(base + index * scale) = value (mode kAssign) or apply(target, value, mode) for element e
/// (operands: base, int64 index, values); `apply` is atomic on the device.
template <class T, class Apply>
LAMINA_HD inline void put_element(const StridedLoop& loop, int64_t e, int64_t scale, int64_t mode, Apply apply) {
  int64_t off[3];
  strided_offsets<3>(loop, e, off);
  const int64_t j = *reinterpret_cast<const int64_t*>(loop.data[1] + off[1]);
  T* dst = reinterpret_cast<T*>(loop.data[0] + off[0] + j * scale);
  const T v = *reinterpret_cast<const T*>(loop.data[2] + off[2]);
  if (mode == kAssign)
    *dst = v;
  else
    apply(dst, v, mode);
}

/// The element that element e of a put loop (operands: base, int64 index, values) writes to.
template <class T>
LAMINA_HD inline T* put_target(const StridedLoop& loop, int64_t e, int64_t scale) {
  int64_t off[3];
  strided_offsets<3>(loop, e, off);
  const int64_t j = *reinterpret_cast<const int64_t*>(loop.data[1] + off[1]);
  return reinterpret_cast<T*>(loop.data[0] + off[0] + j * scale);
}

/// Applies the puts of elements order[begin], ..., order[end - 1], which share one target, in
/// that order (ascending element order: the CPU's), so the result is the CPU's bit for bit.
template <class T>
LAMINA_HD inline void put_run(const StridedLoop& loop, const int64_t* order, int64_t begin, int64_t end, int64_t scale,
                              int64_t mode) {
  T* dst = put_target<T>(loop, order[begin], scale);
  T acc = *dst;
  for (int64_t r = begin; r < end; ++r) {
    int64_t off[3];
    strided_offsets<3>(loop, order[r], off);
    const T v = *reinterpret_cast<const T*>(loop.data[2] + off[2]);
    acc = mode == kAssign ? v : combine(acc, v, mode);
  }
  *dst = acc;
}

/// out (+)= wrap(index) * stride for element e (operands: int64 out, index of type I); negative
/// indices gain `size` when size > 0.
template <class I>
LAMINA_HD inline void index_offset_element(const StridedLoop& loop, int64_t e, int64_t size, int64_t stride,
                                           bool accumulate) {
  int64_t off[2];
  strided_offsets<2>(loop, e, off);
  int64_t v = static_cast<int64_t>(*reinterpret_cast<const I*>(loop.data[1] + off[1]));
  if (v < 0 && size > 0) v += size;
  int64_t* o = reinterpret_cast<int64_t*>(loop.data[0] + off[0]);
  *o = accumulate ? *o + v * stride : v * stride;
}

/// Whether element e (row-major) of the mask is true; its coordinates go to coords when given.
LAMINA_HD inline bool mask_at(const MaskLoop& loop, int64_t e, int64_t* coords = nullptr) {
  int64_t offset = 0;
  for (int d = loop.ndim - 1; d >= 0; --d) {
    const int64_t i = e % loop.shape[d];
    e /= loop.shape[d];
    offset += i * loop.strides[d];
    if (coords) coords[d] = i;
  }
  return *reinterpret_cast<const bool*>(loop.mask + offset);
}

/// Writes slot k of the mask-offsets output for true element e: sum(coords * weights).
LAMINA_HD inline void write_mask_offset(const MaskLoop& loop, int64_t e, int64_t k) {
  int64_t coords[kMaxDims];
  mask_at(loop, e, coords);
  int64_t offset = 0;
  for (int d = 0; d < loop.ndim; ++d) offset += coords[d] * loop.weights[d];
  if (k < loop.count) loop.out[k] = offset;
}

/// Writes row k of the nonzero output for true element e: its coordinates.
LAMINA_HD inline void write_nonzero(const MaskLoop& loop, int64_t e, int64_t k) {
  int64_t coords[kMaxDims];
  mask_at(loop, e, coords);
  for (int d = 0; d < loop.ndim; ++d) loop.out[k * loop.ndim + d] = coords[d];
}

}  // namespace lamina::kernels::cuda::index_math

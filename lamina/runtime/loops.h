#pragma once
// Geometry handed from the runtime to kernels: raw pointers, sizes and byte strides.
#include <cstdint>
#include <initializer_list>

#include "lamina/core/shape.h"
#include "lamina/core/tensor.h"

namespace lamina::runtime {

/// Most operands (output first, then inputs) one elementwise kernel call takes.
inline constexpr int kMaxOperands = 4;

/// An elementwise loop over `ndim` dims: operand k's element at index i is at
/// data[k] + sum(i[d] * strides[k][d]) bytes. Dims are coalesced; the last is innermost.
struct StridedLoop {
  int ndim = 0;
  int num_operands = 0;
  int64_t numel = 0;
  int64_t shape[kMaxDims];
  char* data[kMaxOperands];
  int64_t strides[kMaxOperands][kMaxDims];  // bytes
};

/// Extra scalar arguments of parametrized kernels (clamp bounds, pow exponent, ...).
struct KernelParams {
  double a = 0.0;
  double b = 0.0;
  int64_t i = 0;
  int64_t j = 0;
  int64_t lo = 0;  // exact integer bounds (randint)
  int64_t hi = 0;
};

/// Builds the loop for `operands` (output first), all already of the same shape (inputs
/// broadcast via stride-0 views), merging dims that are contiguous for every operand.
StridedLoop make_strided_loop(std::initializer_list<const Tensor*> operands);

/// The part of `loop` with dim-0 index in [begin, end): the unit the thread pool hands out.
inline StridedLoop slice_outer(const StridedLoop& loop, int64_t begin, int64_t end) {
  StridedLoop part = loop;
  part.shape[0] = end - begin;
  part.numel = loop.numel / loop.shape[0] * (end - begin);
  for (int k = 0; k < loop.num_operands; ++k) part.data[k] += begin * loop.strides[k][0];
  return part;
}

/// A reduction: for each output element (outer dims), combine the inputs' elements
/// over the reduced dims. Input strides cover outer dims then reduced dims.
struct ReduceLoop {
  int outer_ndim = 0;
  int reduce_ndim = 0;
  int64_t outer_numel = 0;
  int64_t reduce_numel = 0;
  int64_t outer_shape[kMaxDims];
  int64_t reduce_shape[kMaxDims];
  char* out = nullptr;
  char* out2 = nullptr;  // second output (indices of max/min), may be null
  const char* in = nullptr;
  int64_t out_strides[kMaxDims];   // bytes, over outer dims
  int64_t out2_strides[kMaxDims];  // bytes, over outer dims
  int64_t in_outer_strides[kMaxDims];
  int64_t in_reduce_strides[kMaxDims];
};

/// Builds a reduction of `in` over the dims flagged in `reduce_mask` into `out` (and `out2`),
/// whose shapes are `in`'s with reduced dims removed or kept as 1.
ReduceLoop make_reduce_loop(const Tensor& out, const Tensor* out2, const Tensor& in, const bool* reduce_mask);

/// The outputs of `loop` with outer dim-0 index in [begin, end) (requires outer_ndim > 0).
inline ReduceLoop slice_outer(const ReduceLoop& loop, int64_t begin, int64_t end) {
  ReduceLoop part = loop;
  part.outer_shape[0] = end - begin;
  part.outer_numel = loop.outer_numel / loop.outer_shape[0] * (end - begin);
  part.out += begin * loop.out_strides[0];
  if (part.out2) part.out2 += begin * loop.out2_strides[0];
  part.in += begin * loop.in_outer_strides[0];
  return part;
}

}  // namespace lamina::runtime

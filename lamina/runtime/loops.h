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

}  // namespace lamina::runtime

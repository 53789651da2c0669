#pragma once
// Builds the kernel interface's geometry (lamina/kernels/loops.h) from tensors: the op layer
// describes its operands, the runtime turns them into raw pointers, sizes and byte strides.
#include <algorithm>
#include <cstdint>
#include <initializer_list>

#include "lamina/core/shape.h"
#include "lamina/core/tensor.h"
#include "lamina/kernels/loops.h"
#include "lamina/runtime/parallel.h"

namespace lamina::runtime {

/// Builds the loop for `operands` (output first), all already of the same shape (inputs
/// broadcast via stride-0 views), merging dims that are contiguous for every operand.
kernels::StridedLoop make_strided_loop(std::initializer_list<const Tensor*> operands);

/// Builds a reduction of `in` over the dims flagged in `reduce_mask` into `out` (and `out2`),
/// whose shapes are `in`'s with reduced dims removed or kept as 1.
kernels::ReduceLoop make_reduce_loop(const Tensor& out, const Tensor* out2, const Tensor& in, const bool* reduce_mask);

/// Builds the lines of `in` along `dim`; `out` (and `out2`) have in's dims, with any size along
/// `dim`. A 0-d `in` is one line of one element.
inline kernels::LineLoop make_line_loop(const Tensor& in, int64_t dim, const Tensor& out, const Tensor* out2) {
  kernels::LineLoop loop;
  loop.in = static_cast<const char*>(in.data_ptr());
  loop.out = static_cast<char*>(out.data_ptr());
  loop.out2 = out2 ? static_cast<char*>(out2->data_ptr()) : nullptr;
  loop.outer_numel = 1;
  if (in.dim() == 0) {
    loop.n = loop.k = 1;
    return loop;
  }
  const int64_t in_item = in.element_size(), out_item = out.element_size();
  const int64_t out2_item = out2 ? out2->element_size() : 0;
  loop.n = in.shape()[dim];
  loop.k = out.shape()[dim];
  loop.in_stride = in.strides()[dim] * in_item;
  loop.out_stride = out.strides()[dim] * out_item;
  loop.out2_stride = out2 ? out2->strides()[dim] * out2_item : 0;
  for (int64_t d = 0; d < in.dim(); ++d) {
    if (d == dim) continue;
    const int64_t size = in.shape()[d];
    loop.outer_numel *= size;
    if (size == 1) continue;
    const int i = loop.outer_ndim++;
    loop.outer_shape[i] = size;
    loop.in_outer[i] = in.strides()[d] * in_item;
    loop.out_outer[i] = out.strides()[d] * out_item;
    loop.out2_outer[i] = out2 ? out2->strides()[d] * out2_item : 0;
  }
  return loop;
}

}  // namespace lamina::runtime

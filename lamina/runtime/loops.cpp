#include "lamina/runtime/loops.h"

namespace lamina::runtime {

using kernels::ReduceLoop;
using kernels::StridedLoop;

StridedLoop make_strided_loop(std::initializer_list<const Tensor*> operands) {
  StridedLoop loop;
  loop.num_operands = static_cast<int>(operands.size());
  const Tensor& out = **operands.begin();
  const int64_t nd = out.dim();
  loop.numel = out.numel();
  int k = 0;
  bool all_contiguous = true;
  for (const Tensor* t : operands) {
    loop.data[k++] = static_cast<char*>(t->data_ptr());
    all_contiguous = all_contiguous && t->shape() == out.shape() && t->is_contiguous();
  }
  if (all_contiguous) {  // the common case: one flat dim
    k = 0;
    for (const Tensor* t : operands) loop.strides[k++][0] = t->element_size();
    loop.shape[0] = loop.numel;
    loop.ndim = 1;
    return loop;
  }
  // Drop size-1 dims, then merge neighbours that are contiguous for every operand.
  int n = 0;
  for (int64_t d = 0; d < nd; ++d) {
    int64_t size = out.shape()[d];
    if (size == 1) continue;
    bool merge = n > 0;
    k = 0;
    for (const Tensor* t : operands) {
      int64_t s = t->strides()[d] * t->element_size();
      if (merge && loop.strides[k][n - 1] != s * size) merge = false;
      ++k;
    }
    k = 0;
    if (merge) {
      for (const Tensor* t : operands) loop.strides[k++][n - 1] = t->strides()[d] * t->element_size();
      loop.shape[n - 1] *= size;
    } else {
      for (const Tensor* t : operands) loop.strides[k++][n] = t->strides()[d] * t->element_size();
      loop.shape[n++] = size;
    }
  }
  if (n == 0) {  // 0-d or all-ones: one element
    for (k = 0; k < loop.num_operands; ++k) loop.strides[k][0] = 0;
    loop.shape[0] = 1;
    n = 1;
  }
  loop.ndim = n;
  return loop;
}

ReduceLoop make_reduce_loop(const Tensor& out, const Tensor* out2, const Tensor& in, const bool* reduce_mask) {
  ReduceLoop loop;
  loop.out = static_cast<char*>(out.data_ptr());
  loop.out2 = out2 ? static_cast<char*>(out2->data_ptr()) : nullptr;
  loop.in = static_cast<const char*>(in.data_ptr());
  const int64_t in_item = in.element_size();
  const bool keepdim = out.dim() == in.dim();
  int64_t od = 0;  // index into out's dims
  loop.outer_numel = 1;
  loop.reduce_numel = 1;
  for (int64_t d = 0; d < in.dim(); ++d) {
    int64_t size = in.shape()[d];
    if (reduce_mask[d]) {
      loop.reduce_numel *= size;
      if (size != 1) {
        loop.reduce_shape[loop.reduce_ndim] = size;
        loop.in_reduce_strides[loop.reduce_ndim++] = in.strides()[d] * in_item;
      }
      if (keepdim) ++od;
    } else {
      loop.outer_numel *= size;
      if (size != 1) {
        int i = loop.outer_ndim++;
        loop.outer_shape[i] = size;
        loop.in_outer_strides[i] = in.strides()[d] * in_item;
        loop.out_strides[i] = out.strides()[od] * out.element_size();
        loop.out2_strides[i] = out2 ? out2->strides()[od] * out2->element_size() : 0;
      }
      ++od;
    }
  }
  return loop;
}

}  // namespace lamina::runtime

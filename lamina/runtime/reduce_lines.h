#pragma once
// Geometry for kernels that work on whole lines along one dim (scans, softmax, sort, topk):
// every line is independent, so the runtime may later split the outer index across threads.
#include <algorithm>
#include <cstdint>

#include "lamina/core/shape.h"
#include "lamina/core/tensor.h"
#include "lamina/runtime/loops.h"
#include "lamina/runtime/parallel.h"

namespace lamina::runtime {

/// Lines along one dim: for outer index o (all other dims, row-major, size-1 dims dropped) the
/// kernel reads `n` input elements at in + j * in_stride and writes `k` elements at
/// out + j * out_stride (and out2 + j * out2_stride). Strides are in bytes.
struct LineLoop {
  int outer_ndim = 0;
  int64_t outer_numel = 0;
  int64_t n = 0;  // input elements per line
  int64_t k = 0;  // output elements per line (n except for topk)
  const char* in = nullptr;
  char* out = nullptr;
  char* out2 = nullptr;  // second output (indices), may be null
  int64_t in_stride = 0;
  int64_t out_stride = 0;
  int64_t out2_stride = 0;
  int64_t outer_shape[kMaxDims];
  int64_t in_outer[kMaxDims];
  int64_t out_outer[kMaxDims];
  int64_t out2_outer[kMaxDims];
};

/// Signature of every line kernel.
using LineKernel = void (*)(const LineLoop&, const KernelParams&);

/// Builds the lines of `in` along `dim`; `out` (and `out2`) have in's dims, with any size along
/// `dim`. A 0-d `in` is one line of one element.
inline LineLoop make_line_loop(const Tensor& in, int64_t dim, const Tensor& out, const Tensor* out2) {
  LineLoop loop;
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

/// The lines of `loop` with outer dim-0 index in [begin, end) (requires outer_ndim > 0).
inline LineLoop slice_outer(const LineLoop& loop, int64_t begin, int64_t end) {
  LineLoop part = loop;
  part.outer_shape[0] = end - begin;
  part.outer_numel = loop.outer_numel / loop.outer_shape[0] * (end - begin);
  part.in += begin * loop.in_outer[0];
  part.out += begin * loop.out_outer[0];
  if (part.out2) part.out2 += begin * loop.out2_outer[0];
  return part;
}

/// Runs `kernel` over the lines of `loop`, independent lines split over the thread pool.
inline void launch_lines(LineKernel kernel, const LineLoop& loop, const KernelParams& params) {
  if (loop.outer_ndim == 0) {
    kernel(loop, params);
    return;
  }
  const int64_t unit = loop.outer_numel / loop.outer_shape[0] * std::max<int64_t>(loop.n, 1);
  parallel_for(loop.outer_shape[0], unit, [&](int64_t begin, int64_t end) { kernel(slice_outer(loop, begin, end), params); });
}

/// Calls body(in, out, out2) with the start of every line, in row-major order of the outer dims.
template <class Body>
inline void for_each_line(const LineLoop& loop, Body&& body) {
  int64_t idx[kMaxDims] = {0};
  const char* in = loop.in;
  char* out = loop.out;
  char* out2 = loop.out2;
  for (int64_t o = 0; o < loop.outer_numel; ++o) {
    body(in, out, out2);
    for (int d = loop.outer_ndim - 1; d >= 0; --d) {
      in += loop.in_outer[d];
      out += loop.out_outer[d];
      out2 += loop.out2_outer[d];
      if (++idx[d] < loop.outer_shape[d]) break;
      in -= loop.in_outer[d] * loop.outer_shape[d];
      out -= loop.out_outer[d] * loop.outer_shape[d];
      out2 -= loop.out2_outer[d] * loop.outer_shape[d];
      idx[d] = 0;
    }
  }
}

}  // namespace lamina::runtime

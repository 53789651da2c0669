#pragma once
// Per-element functions of the sliding-window kernels (window.cu): each computes one output
// element by gathering, so no two threads write the same element and sums run in a fixed order.
// Host-compilable (tests/cpp/cuda/test_cuda_conv.cpp runs them against the CPU kernels).
#include <cstdint>

#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/window.h"

namespace lamina::kernels::cuda {

using kernels::WindowGeometry;

/// cols element e of im2col (layout (N*C, kH, kW, oH, oW)): the input it reads, or zero in padding.
template <class T>
LAMINA_HD inline T im2col_element(const WindowGeometry& g, const T* x, int64_t e) {
  const int64_t ox = e % g.ow, oy = (e / g.ow) % g.oh, j = (e / (g.ow * g.oh)) % g.kw;
  const int64_t i = (e / (g.ow * g.oh * g.kw)) % g.kh, p = e / (g.ow * g.oh * g.kw * g.kh);
  const int64_t y = oy * g.sh + i * g.dh - g.ph, xx = ox * g.sw + j * g.dw - g.pw;
  if (y < 0 || y >= g.h || xx < 0 || xx >= g.w) return from_compute<T>(compute_t<T>(0));
  return x[(p * g.h + y) * g.w + xx];
}

/// Calls f(o, i, j) for every output position o (flat in the oH x oW plane) whose window reads
/// input element (y, x) at kernel offset (i, j), in a fixed order.
template <class F>
LAMINA_HD inline void for_each_window_of(const WindowGeometry& g, int64_t y, int64_t x, F&& f) {
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t ty = y + g.ph - i * g.dh;
    if (ty < 0 || ty % g.sh != 0) continue;
    const int64_t oy = ty / g.sh;
    if (oy >= g.oh) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t tx = x + g.pw - j * g.dw;
      if (tx < 0 || tx % g.sw != 0) continue;
      const int64_t ox = tx / g.sw;
      if (ox >= g.ow) continue;
      f(oy * g.ow + ox, i, j);
    }
  }
}

/// gx element e of col2im (layout (N*C, H, W)): the sum of the window gradients that read it.
template <class T>
LAMINA_HD inline T col2im_element(const WindowGeometry& g, const T* cols, int64_t e) {
  const int64_t hw = g.h * g.w, p = e / hw, y = (e % hw) / g.w, x = e % g.w;
  const int64_t plane = g.oh * g.ow;
  compute_t<T> acc(0);
  for_each_window_of(g, y, x, [&](int64_t o, int64_t i, int64_t j) {
    acc += to_compute(cols[((p * g.kh + i) * g.kw + j) * plane + o]);
  });
  return from_compute<T>(acc);
}

/// Output element e of max pooling (layout (N*C, oH, oW)): the first maximum of its window (a
/// NaN wins), with its flat index in the input plane.
template <class T>
LAMINA_HD inline T max_pool_element(const WindowGeometry& g, const T* x, int64_t e, int64_t& at) {
  const int64_t ox = e % g.ow, oy = (e / g.ow) % g.oh, p = e / (g.ow * g.oh);
  const T* src = x + p * g.h * g.w;
  const auto value = [src](int64_t k) { return to_compute(src[k]); };
  return from_compute<T>(window_max(g, oy, ox, value, compute_t<T>(0), at));
}

/// gx element e of max pooling's gradient (layout (N*C, H, W)): the sum of the output gradients
/// whose argmax is this element.
template <class T>
LAMINA_HD inline T max_pool_backward_element(const WindowGeometry& g, const T* grad, const int64_t* argmax, int64_t e) {
  const int64_t hw = g.h * g.w, p = e / hw, flat = e % hw, y = flat / g.w, x = flat % g.w;
  const int64_t plane = g.oh * g.ow;
  compute_t<T> acc(0);
  for_each_window_of(g, y, x, [&](int64_t o, int64_t, int64_t) {
    if (argmax[p * plane + o] == flat) acc += to_compute(grad[p * plane + o]);
  });
  return from_compute<T>(acc);
}

}  // namespace lamina::kernels::cuda

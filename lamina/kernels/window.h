#pragma once
// Sliding-window kernels for convolution and pooling on (N, C, H, W) tensors: im2col / col2im
// with the padding handled in the loop (no padded copy), and max pooling with its argmax.
// The op layer (lamina/ops/conv.cpp) validates, allocates and splits the work into ranges.
#include <cstdint>

#include "lamina/kernels/host_device.h"

namespace lamina::kernels {

/// The shape of a 2-d sliding window over an (N, C, H, W) input.
struct WindowGeometry {
  int64_t n, c, h, w;  // input
  int64_t kh, kw;      // kernel
  int64_t sh, sw;      // stride
  int64_t ph, pw;      // padding
  int64_t dh, dw;      // dilation
  int64_t oh, ow;      // output
};

/// The first maximum of output (oy, ox)'s window in one input plane, as PyTorch picks it (a NaN
/// replaces anything but an earlier NaN); `at` gets its flat index in the plane. value(k) reads
/// the plane's element k in the compute type C; a window of only padding gives `empty`, at -1.
/// The one definition of max pooling's semantics, for every backend.
template <class C, class Value>
LAMINA_HD inline C window_max(const WindowGeometry& g, int64_t oy, int64_t ox, const Value& value, C empty,
                              int64_t& at) {
  C best = empty;
  at = -1;
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t y = oy * g.sh + i * g.dh - g.ph;
    if (y < 0 || y >= g.h) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t x = ox * g.sw + j * g.dw - g.pw;
      if (x < 0 || x >= g.w) continue;
      const C v = value(y * g.w + x);
      if (at < 0 || v > best || (v != v && best == best)) {
        best = v;
        at = y * g.w + x;
      }
    }
  }
  return best;
}

/// im2col over (n, c) planes [begin, end) of the N*C planes: x (N, C, H, W) contiguous into
/// cols (N, C, kH, kW, oH, oW) contiguous, zero where a window reads padding.
using Im2colKernel = void (*)(const WindowGeometry&, const void* x, void* cols, int64_t begin, int64_t end);
/// col2im over (n, c) planes [begin, end) of the N*C planes: gx (N, C, H, W) = the sum of the
/// window gradients cols (N, C, kH, kW, oH, oW) that read each element (overwrites gx).
using Col2imKernel = void (*)(const WindowGeometry&, const void* cols, void* gx, int64_t begin, int64_t end);
/// Max pooling over (n, c) planes [begin, end): out (N, C, oH, oW) and the argmax as a flat
/// index into the input plane (first maximum; a NaN wins, like PyTorch); argmax may be null
/// when no gradient will be needed.
using MaxPoolKernel = void (*)(const WindowGeometry&, const void* x, void* out, int64_t* argmax, int64_t begin,
                               int64_t end);
/// Max pooling's gradient over (n, c) planes [begin, end): gx (N, C, H, W) = grad scattered
/// (summed) to the argmax positions (overwrites gx).
using MaxPoolBackwardKernel = void (*)(const WindowGeometry&, const void* grad, const int64_t* argmax, void* gx,
                                       int64_t begin, int64_t end);

}  // namespace lamina::kernels

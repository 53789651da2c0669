#pragma once
// Sliding-window kernels for convolution and pooling on (N, C, H, W) tensors: im2col / col2im
// with the padding handled in the loop (no padded copy), and max pooling with its argmax.
// The op layer (lamina/ops/conv.cpp) validates, allocates and splits the work into ranges.
#include <cstdint>

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

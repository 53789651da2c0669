#pragma once
// Arguments and signatures of the direct convolution kernels (cuDNN on CUDA:
// kernels/cuda/conv.cpp; oneDNN on the CPU: kernels/cpu/conv_onednn.cpp), called by
// lamina/ops/conv.cpp through the dispatch table.
#include <cstdint>

namespace lamina::kernels {

/// A 2-d convolution of contiguous NCHW x (n, c, h, w) with weight (o, c / groups, kh, kw)
/// into y (n, o, oh, ow). `bias`: the forward adds a bias (o) and the filter pass writes its
/// gradient; `relu`: the forward's result is max(0, conv + bias). Both are CPU (oneDNN)
/// features: the op layer leaves them false on CUDA and adds the bias there itself.
struct ConvShape {
  int64_t n = 0, c = 0, h = 0, w = 0, o = 0, kh = 0, kw = 0, oh = 0, ow = 0;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  bool bias = false, relu = false;
};

/// y = conv(x, weight) [+ bias] [relu] on device pointers; false when the library cannot be
/// loaded or is switched off (the caller takes its im2col path), KernelError when it fails.
using ConvForwardKernel = bool (*)(const ConvShape&, const void* x, const void* weight, const void* bias, void* y);
/// dx = the input gradient from weight and dy (overwrites dx).
using ConvBackwardDataKernel = void (*)(const ConvShape&, const void* weight, const void* dy, void* dx);
/// dweight (and dbias with ConvShape::bias) from x and dy (overwrites them).
using ConvBackwardFilterKernel = void (*)(const ConvShape&, const void* x, const void* dy, void* dweight, void* dbias);

}  // namespace lamina::kernels

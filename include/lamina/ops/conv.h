#pragma once
// Convolution and pooling over (N, C, H, W) tensors, differentiable.
#include <array>

#include "lamina/core/tensor.h"

namespace lamina {

/// Two ints for height and width.
using Pair = std::array<int64_t, 2>;

/// 2-d cross-correlation of x (N, C, H, W) with weight (O, C/groups, kH, kW) plus bias (O) if
/// defined, as torch.nn.functional.conv2d; computed as im2col + one batched GEMM per call.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Pair stride = {1, 1},
              Pair padding = {0, 0}, Pair dilation = {1, 1}, int64_t groups = 1);
/// 1-d convolution of x (N, C, L) with weight (O, C/groups, k), as torch.nn.functional.conv1d.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1);
/// relu(conv2d(x, weight, bias, ...)) in one op: on the CPU the ReLU (and the bias) run inside
/// the oneDNN primitive and one backward node ("ConvolutionReluBackward0") covers both; what
/// nn.Sequential runs for a Conv2d followed by a ReLU.
Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Pair stride = {1, 1},
                   Pair padding = {0, 0}, Pair dilation = {1, 1}, int64_t groups = 1);

/// Transposed 2-d convolution (the gradient of conv2d with respect to its input) of x
/// (N, C, H, W) with weight (C, O/groups, kH, kW), as torch.nn.functional.conv_transpose2d.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Pair stride = {1, 1},
                        Pair padding = {0, 0}, Pair output_padding = {0, 0}, int64_t groups = 1, Pair dilation = {1, 1});
/// Max over kernel windows of x (N, C, H, W) (padding counts as -inf).
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding = {0, 0}, Pair dilation = {1, 1});
/// Mean over kernel windows; count_include_pad divides by the full window, else by its in-bounds part.
Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding = {0, 0}, bool count_include_pad = true);
/// Mean over PyTorch's adaptive bins so the output is output_size (N, C, oH, oW).
Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size);

}  // namespace lamina

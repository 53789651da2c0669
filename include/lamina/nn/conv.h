#pragma once
// Convolution, pooling and batch-norm layers (torch.nn.Conv2d & co.) over lamina/ops/conv.h.
#include <string>

#include "lamina/nn/module.h"
#include "lamina/ops/conv.h"

namespace lamina::nn {

/// 2-d convolution layer; weight (out, in/groups, kH, kW), PyTorch's default init.
class Conv2d : public Module {
 public:
  /// ConfigError for non-positive sizes or channels not divisible by groups.
  Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, Pair stride = {1, 1}, Pair padding = {0, 0},
         Pair dilation = {1, 1}, int64_t groups = 1, bool bias = true, Dtype dtype = kDefaultFloat);
  /// conv2d of a (N, C, H, W) input; ShapeError when C != in_channels.
  Tensor forward(const Tensor& input) override;
  /// relu(forward(input)) as one op (ops::conv2d_relu): Sequential's Conv2d + ReLU.
  Tensor forward_relu(const Tensor& input);
  /// PyTorch's "3, 16, kernel_size=(3, 3), stride=(1, 1)" form.
  std::string extra_repr() const override;
  /// kaiming_uniform_(a=sqrt(5)) weight, U(+-1/sqrt(fan_in)) bias.
  void reset_parameters();
  int64_t in_channels, out_channels, groups;  ///< channel counts and groups
  Pair kernel_size, stride, padding, dilation;  ///< geometry
};

/// 1-d convolution layer over (N, C, L); weight (out, in/groups, k).
class Conv1d : public Module {
 public:
  /// ConfigError for non-positive sizes or channels not divisible by groups.
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         int64_t dilation = 1, int64_t groups = 1, bool bias = true, Dtype dtype = kDefaultFloat);
  /// conv1d of a (N, C, L) input.
  Tensor forward(const Tensor& input) override;
  /// PyTorch's "3, 16, kernel_size=(3,), stride=(1,)" form.
  std::string extra_repr() const override;
  int64_t in_channels, out_channels, kernel_size, stride, padding, dilation, groups;  ///< configuration
};

/// Transposed 2-d convolution layer; weight (in, out/groups, kH, kW).
class ConvTranspose2d : public Module {
 public:
  /// ConfigError for bad sizes, output_padding not below stride or dilation.
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, Pair stride = {1, 1},
                  Pair padding = {0, 0}, Pair output_padding = {0, 0}, int64_t groups = 1, bool bias = true,
                  Pair dilation = {1, 1}, Dtype dtype = kDefaultFloat);
  /// conv_transpose2d of a (N, C, H, W) input.
  Tensor forward(const Tensor& input) override;
  /// PyTorch's repr arguments.
  std::string extra_repr() const override;
  int64_t in_channels, out_channels, groups;                  ///< channel counts and groups
  Pair kernel_size, stride, padding, output_padding, dilation;  ///< geometry
};

/// Max pooling layer (stride defaults to the kernel size).
class MaxPool2d : public Module {
 public:
  /// ConfigError for bad sizes.
  MaxPool2d(Pair kernel_size, Pair stride, Pair padding = {0, 0}, Pair dilation = {1, 1});
  /// max_pool2d of the input.
  Tensor forward(const Tensor& input) override;
  /// "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False".
  std::string extra_repr() const override;
  Pair kernel_size, stride, padding, dilation;  ///< geometry
};

/// Average pooling layer.
class AvgPool2d : public Module {
 public:
  /// ConfigError for bad sizes.
  AvgPool2d(Pair kernel_size, Pair stride, Pair padding = {0, 0}, bool count_include_pad = true);
  /// avg_pool2d of the input.
  Tensor forward(const Tensor& input) override;
  /// "kernel_size=2, stride=2, padding=0".
  std::string extra_repr() const override;
  Pair kernel_size, stride, padding;  ///< geometry
  bool count_include_pad;             ///< divisor includes padding
};

/// Adaptive average pooling to a fixed output size.
class AdaptiveAvgPool2d : public Module {
 public:
  /// ConfigError for a non-positive size.
  explicit AdaptiveAvgPool2d(Pair output_size);
  /// adaptive_avg_pool2d of the input.
  Tensor forward(const Tensor& input) override;
  /// "output_size=(1, 1)".
  std::string extra_repr() const override;
  Pair output_size;  ///< (oH, oW)
};

/// Checks a norm layer's settings (ConfigError naming `name`) and registers its state as PyTorch
/// does: weight 1 and bias 0 when affine; running_mean 0, running_var 1 and num_batches_tracked 0
/// when track_running_stats.
void register_norm_state(Module& module, const char* name, int64_t num_features, double eps, double momentum,
                         bool affine, bool track_running_stats, Dtype dtype);

/// Batch normalization over channel dim 1 of (N, C) / (N, C, L) (BatchNorm1d) or (N, C, H, W)
/// (BatchNorm2d) inputs, with running statistics buffers.
class BatchNorm : public Module {
 public:
  /// `input_dims`: the input ranks accepted ({2, 3} or {4}); ConfigError for bad settings.
  BatchNorm(const char* name, std::vector<int64_t> input_dims, int64_t num_features, double eps, double momentum,
            bool affine, bool track_running_stats, Dtype dtype);
  /// Batch statistics in training (running ones updated), running ones in eval.
  Tensor forward(const Tensor& input) override;
  /// "16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True".
  std::string extra_repr() const override;
  /// Running mean 0, variance 1, counter 0.
  void reset_running_stats();
  int64_t num_features;                   ///< channels
  double eps, momentum;                   ///< numerics
  bool affine, track_running_stats;       ///< options
  std::vector<int64_t> input_dims;        ///< accepted ranks
};

/// BatchNorm over (N, C) or (N, C, L).
class BatchNorm1d : public BatchNorm {
 public:
  /// See BatchNorm.
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true, Dtype dtype = kDefaultFloat)
      : BatchNorm("BatchNorm1d", {2, 3}, num_features, eps, momentum, affine, track_running_stats, dtype) {}
};

/// BatchNorm over (N, C, H, W).
class BatchNorm2d : public BatchNorm {
 public:
  /// See BatchNorm.
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true, Dtype dtype = kDefaultFloat)
      : BatchNorm("BatchNorm2d", {4}, num_features, eps, momentum, affine, track_running_stats, dtype) {}
};

}  // namespace lamina::nn

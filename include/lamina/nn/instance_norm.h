#pragma once
// Instance normalization (torch.nn.InstanceNorm1d / 2d): each sample's channels normalized over
// their own spatial extent, optionally with an affine transform and running statistics.
#include <string>

#include "lamina/nn/module.h"

namespace lamina::nn {

namespace functional {
/// Normalizes x (N, C, *) per sample and channel. With use_input_stats the statistics are the
/// instance's own, and defined running_mean / running_var move by momentum towards their batch
/// means (unbiased variance); otherwise the running statistics normalize. weight / bias (C) scale
/// and shift when defined.
Tensor instance_norm(const Tensor& x, const Tensor& running_mean = Tensor(), const Tensor& running_var = Tensor(),
                     const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool use_input_stats = true,
                     double momentum = 0.1, double eps = 1e-5);
}  // namespace functional

/// InstanceNorm over `spatial_dims` trailing dims (1: (N, C, L), 2: (N, C, H, W)); an input
/// without the batch dim is normalized as a batch of one.
class InstanceNorm : public Module {
 public:
  /// ConfigError for bad settings; weight 1 and bias 0 with affine; running buffers with
  /// track_running_stats (mean 0, variance 1).
  InstanceNorm(const char* name, int64_t spatial_dims, int64_t num_features, double eps, double momentum, bool affine,
               bool track_running_stats, Dtype dtype);
  /// Instance statistics in training or without running stats, else the running ones.
  Tensor forward(const Tensor& input) override;
  /// "16, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False".
  std::string extra_repr() const override;
  int64_t spatial_dims;              ///< 1 or 2
  int64_t num_features;              ///< channels
  double eps, momentum;              ///< numerics
  bool affine, track_running_stats;  ///< options
};

/// InstanceNorm over (N, C, L) or (C, L).
class InstanceNorm1d : public InstanceNorm {
 public:
  /// See InstanceNorm.
  explicit InstanceNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = false,
                          bool track_running_stats = false, Dtype dtype = kDefaultFloat)
      : InstanceNorm("InstanceNorm1d", 1, num_features, eps, momentum, affine, track_running_stats, dtype) {}
};

/// InstanceNorm over (N, C, H, W) or (C, H, W).
class InstanceNorm2d : public InstanceNorm {
 public:
  /// See InstanceNorm.
  explicit InstanceNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = false,
                          bool track_running_stats = false, Dtype dtype = kDefaultFloat)
      : InstanceNorm("InstanceNorm2d", 2, num_features, eps, momentum, affine, track_running_stats, dtype) {}
};

}  // namespace lamina::nn

#pragma once
// Parameterized layers: Linear, Embedding, LayerNorm, RMSNorm, GroupNorm, and Dropout. Each
// validates its settings at construction (ConfigError naming the module and value) and
// initializes its parameters as PyTorch does.
#include <optional>
#include <vector>

#include "lamina/nn/module.h"

namespace lamina::nn {

/// y = x W^T + b; weight (out_features, in_features), bias (out_features).
class Linear : public Module {
 public:
  /// Weight kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(in), 1/sqrt(in)), like PyTorch.
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Dtype dtype = kDefaultFloat);
  /// Applies the layer; ShapeError when the last dim is not in_features.
  Tensor forward(const Tensor& input) override;
  /// gelu(forward(x)) as one op where it can (ops::addmm_gelu; Sequential's Linear + GELU).
  Tensor forward_gelu(const Tensor& input, const std::string& approximate = "none");
  /// "in_features=3, out_features=2, bias=True".
  std::string extra_repr() const override;
  /// Resets weight and bias to PyTorch's default initialization.
  void reset_parameters();
  /// The weight parameter.
  const Tensor& weight() const { return param("weight"); }
  /// The bias parameter (undefined when bias=false).
  const Tensor& bias() const { return param("bias"); }
  /// Input size.
  int64_t in_features;
  /// Output size.
  int64_t out_features;
};

/// A lookup table of num_embeddings vectors of size embedding_dim.
class Embedding : public Module {
 public:
  /// Weight N(0, 1), the padding_idx row zeroed; ConfigError for a bad size or padding_idx.
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt,
            Dtype dtype = kDefaultFloat);
  /// Rows for integer indices.
  Tensor forward(const Tensor& indices) override;
  /// "10, 3, padding_idx=0".
  std::string extra_repr() const override;
  /// The weight parameter.
  const Tensor& weight() const { return param("weight"); }
  /// Table size.
  int64_t num_embeddings;
  /// Vector size.
  int64_t embedding_dim;
  /// The row that gets no gradient (normalized to be non-negative).
  std::optional<int64_t> padding_idx;
};

/// Layer normalization over the trailing normalized_shape dims.
class LayerNorm : public Module {
 public:
  /// Weight ones, bias zeros (when elementwise_affine; bias only when `bias`).
  LayerNorm(std::vector<int64_t> normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool bias = true,
            Dtype dtype = kDefaultFloat);
  /// Normalizes; ShapeError when the input does not end with normalized_shape.
  Tensor forward(const Tensor& input) override;
  /// "(4,), eps=1e-05, elementwise_affine=True".
  std::string extra_repr() const override;
  /// The trailing dims normalized over.
  std::vector<int64_t> normalized_shape;
  /// Added to the variance.
  double eps;
  /// Whether weight (and bias) exist.
  bool elementwise_affine;
};

/// Root-mean-square normalization (PyTorch 2.4+'s nn.RMSNorm). eps absent means
/// finfo(input.dtype).eps at forward time, as in PyTorch.
class RMSNorm : public Module {
 public:
  /// Weight ones when elementwise_affine.
  RMSNorm(std::vector<int64_t> normalized_shape, std::optional<double> eps = std::nullopt,
          bool elementwise_affine = true, Dtype dtype = kDefaultFloat);
  /// Normalizes; ShapeError when the input does not end with normalized_shape.
  Tensor forward(const Tensor& input) override;
  /// "(4,), eps=None, elementwise_affine=True".
  std::string extra_repr() const override;
  /// The trailing dims normalized over.
  std::vector<int64_t> normalized_shape;
  /// Added to the mean square (absent: the dtype's machine epsilon).
  std::optional<double> eps;
  /// Whether weight exists.
  bool elementwise_affine;
};

/// Group normalization of (N, C, *) input.
class GroupNorm : public Module {
 public:
  /// ConfigError unless num_groups > 0 divides num_channels; weight ones, bias zeros.
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true,
            Dtype dtype = kDefaultFloat);
  /// Normalizes; ShapeError when dim 1 is not num_channels.
  Tensor forward(const Tensor& input) override;
  /// "2, 4, eps=1e-05, affine=True".
  std::string extra_repr() const override;
  /// Number of channel groups.
  int64_t num_groups;
  /// Number of channels (dim 1 of the input).
  int64_t num_channels;
  /// Added to the variance.
  double eps;
  /// Whether weight and bias exist.
  bool affine;
};

/// Zeroes elements with probability p while training (lamina's generator: manual_seed
/// reproduces the masks); identity in eval mode.
class Dropout : public Module {
 public:
  /// ConfigError unless 0 <= p <= 1.
  explicit Dropout(double p = 0.5);
  /// Applies dropout when training.
  Tensor forward(const Tensor& input) override;
  /// "p=0.5, inplace=False".
  std::string extra_repr() const override;
  /// Drop probability.
  double p;
};

/// Zeroes whole channels with probability p while training (torch.nn.Dropout1d / Dropout2d):
/// input (N, C, *spatial) or (C, *spatial) with `spatial_dims` spatial dims.
class ChannelDropout : public Module {
 public:
  /// ConfigError unless 0 <= p <= 1.
  ChannelDropout(const char* name, int64_t spatial_dims, double p);
  /// Applies channel dropout when training; ShapeError for the wrong rank.
  Tensor forward(const Tensor& input) override;
  /// "p=0.5, inplace=False".
  std::string extra_repr() const override;
  int64_t spatial_dims;  ///< 1 or 2
  double p;              ///< drop probability
};

/// Channel dropout of (N, C, L) or (C, L).
class Dropout1d : public ChannelDropout {
 public:
  /// See ChannelDropout.
  explicit Dropout1d(double p = 0.5) : ChannelDropout("Dropout1d", 1, p) {}
};

/// Channel dropout of (N, C, H, W) or (C, H, W).
class Dropout2d : public ChannelDropout {
 public:
  /// See ChannelDropout.
  explicit Dropout2d(double p = 0.5) : ChannelDropout("Dropout2d", 2, p) {}
};

}  // namespace lamina::nn

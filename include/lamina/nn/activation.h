#pragma once
// Parameter-free layers: activations, Softmax / LogSoftmax, Flatten, Identity.
#include <string>

#include "lamina/nn/module.h"

namespace lamina::nn {

/// max(x, 0).
class ReLU : public Module {
 public:
  /// A ReLU layer.
  ReLU() : Module("ReLU") {}
  /// relu(x).
  Tensor forward(const Tensor& input) override;
};

/// Gaussian error linear unit; approximate "none" (erf) or "tanh".
class GELU : public Module {
 public:
  /// ConfigError for another approximate.
  explicit GELU(std::string approximate = "none");
  /// gelu(x).
  Tensor forward(const Tensor& input) override;
  /// "approximate='none'".
  std::string extra_repr() const override;
  /// "none" or "tanh".
  std::string approximate;
};

/// x * sigmoid(x).
class SiLU : public Module {
 public:
  /// A SiLU layer.
  SiLU() : Module("SiLU") {}
  /// silu(x).
  Tensor forward(const Tensor& input) override;
};

/// tanh(x).
class Tanh : public Module {
 public:
  /// A Tanh layer.
  Tanh() : Module("Tanh") {}
  /// tanh(x).
  Tensor forward(const Tensor& input) override;
};

/// 1 / (1 + exp(-x)).
class Sigmoid : public Module {
 public:
  /// A Sigmoid layer.
  Sigmoid() : Module("Sigmoid") {}
  /// sigmoid(x).
  Tensor forward(const Tensor& input) override;
};

/// softmax along dim.
class Softmax : public Module {
 public:
  /// Softmax over `dim`.
  explicit Softmax(int64_t dim);
  /// softmax(x, dim).
  Tensor forward(const Tensor& input) override;
  /// "dim=1".
  std::string extra_repr() const override;
  /// The normalized dim.
  int64_t dim;
};

/// log_softmax along dim.
class LogSoftmax : public Module {
 public:
  /// LogSoftmax over `dim`.
  explicit LogSoftmax(int64_t dim);
  /// log_softmax(x, dim).
  Tensor forward(const Tensor& input) override;
  /// "dim=1".
  std::string extra_repr() const override;
  /// The normalized dim.
  int64_t dim;
};

/// Flattens dims start_dim..end_dim into one.
class Flatten : public Module {
 public:
  /// Flatten(start_dim=1, end_dim=-1).
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1);
  /// x.flatten(start_dim, end_dim).
  Tensor forward(const Tensor& input) override;
  /// "start_dim=1, end_dim=-1".
  std::string extra_repr() const override;
  /// First flattened dim.
  int64_t start_dim;
  /// Last flattened dim.
  int64_t end_dim;
};

/// Returns its input.
class Identity : public Module {
 public:
  /// An Identity layer.
  Identity() : Module("Identity") {}
  /// x.
  Tensor forward(const Tensor& input) override;
};

}  // namespace lamina::nn

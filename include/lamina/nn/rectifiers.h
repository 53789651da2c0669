#pragma once
// Activations with settings or parameters (torch.nn's LeakyReLU, ELU, CELU, SELU, PReLU,
// Hardtanh, ReLU6, Hardswish, Hardsigmoid, Mish, Softplus, LogSigmoid, Softsign) and their
// functional forms. SELU, Mish, Hardswish and Hardsigmoid are elementwise-table ops; the rest
// are compositions of lamina ops, so autograd needs no extra rules.
#include <string>

#include "lamina/nn/module.h"

namespace lamina::nn {

namespace functional {
/// x where x > 0, else negative_slope * x.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// x where x > 0, else alpha * (exp(x) - 1).
Tensor elu(const Tensor& x, double alpha = 1.0);
/// max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); ConfigError for alpha == 0.
Tensor celu(const Tensor& x, double alpha = 1.0);
/// x where x > 0, else weight * x; weight holds 1 value or one per channel (dim 1; an input
/// below 2-D has one channel). ShapeError otherwise.
Tensor prelu(const Tensor& x, const Tensor& weight);
/// x clamped to [min_val, max_val]; ConfigError when max_val < min_val.
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// min(max(x, 0), 6).
Tensor relu6(const Tensor& x);
/// log(exp(beta x) + 1) / beta, x itself where beta x > threshold.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// log(sigmoid(x)), computed as -softplus(-x).
Tensor logsigmoid(const Tensor& x);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
}  // namespace functional

/// functional::leaky_relu.
class LeakyReLU : public Module {
 public:
  /// negative_slope defaults to PyTorch's 0.01.
  explicit LeakyReLU(double negative_slope = 0.01);
  /// leaky_relu(x).
  Tensor forward(const Tensor& input) override;
  /// "negative_slope=0.01".
  std::string extra_repr() const override;
  double negative_slope;  ///< the slope below zero
};

/// functional::elu.
class ELU : public Module {
 public:
  /// alpha defaults to 1.
  explicit ELU(double alpha = 1.0);
  /// elu(x).
  Tensor forward(const Tensor& input) override;
  /// "alpha=1.0".
  std::string extra_repr() const override;
  double alpha;  ///< the saturation value's magnitude
};

/// functional::celu.
class CELU : public Module {
 public:
  /// ConfigError for alpha == 0.
  explicit CELU(double alpha = 1.0);
  /// celu(x).
  Tensor forward(const Tensor& input) override;
  /// "alpha=1.0".
  std::string extra_repr() const override;
  double alpha;  ///< the saturation value's magnitude
};

/// Scaled ELU with the self-normalizing constants (selu op).
class SELU : public Module {
 public:
  /// A SELU layer.
  SELU() : Module("SELU") {}
  /// selu(x).
  Tensor forward(const Tensor& input) override;
};

/// functional::prelu with a learned weight.
class PReLU : public Module {
 public:
  /// weight: num_parameters values, each `init`; ConfigError for num_parameters < 1.
  explicit PReLU(int64_t num_parameters = 1, double init = 0.25, Dtype dtype = kDefaultFloat);
  /// prelu(x, weight).
  Tensor forward(const Tensor& input) override;
  /// "num_parameters=1".
  std::string extra_repr() const override;
  int64_t num_parameters;  ///< one weight, or one per channel
};

/// functional::hardtanh.
class Hardtanh : public Module {
 public:
  /// ConfigError when max_val < min_val.
  explicit Hardtanh(double min_val = -1.0, double max_val = 1.0);
  /// hardtanh(x).
  Tensor forward(const Tensor& input) override;
  /// "min_val=-1.0, max_val=1.0".
  std::string extra_repr() const override;
  double min_val;  ///< lower bound
  double max_val;  ///< upper bound
};

/// min(max(x, 0), 6).
class ReLU6 : public Module {
 public:
  /// A ReLU6 layer.
  ReLU6() : Module("ReLU6") {}
  /// relu6(x).
  Tensor forward(const Tensor& input) override;
};

/// x * hardsigmoid(x) (hardswish op).
class Hardswish : public Module {
 public:
  /// A Hardswish layer.
  Hardswish() : Module("Hardswish") {}
  /// hardswish(x).
  Tensor forward(const Tensor& input) override;
};

/// clamp((x + 3) / 6, 0, 1) (hardsigmoid op).
class Hardsigmoid : public Module {
 public:
  /// A Hardsigmoid layer.
  Hardsigmoid() : Module("Hardsigmoid") {}
  /// hardsigmoid(x).
  Tensor forward(const Tensor& input) override;
};

/// x * tanh(softplus(x)) (mish op).
class Mish : public Module {
 public:
  /// A Mish layer.
  Mish() : Module("Mish") {}
  /// mish(x).
  Tensor forward(const Tensor& input) override;
};

/// functional::softplus.
class Softplus : public Module {
 public:
  /// beta and threshold as in PyTorch (1, 20).
  explicit Softplus(double beta = 1.0, double threshold = 20.0);
  /// softplus(x, beta, threshold).
  Tensor forward(const Tensor& input) override;
  /// "beta=1.0, threshold=20.0".
  std::string extra_repr() const override;
  double beta;       ///< the sharpness
  double threshold;  ///< beta x above this returns x
};

/// log(sigmoid(x)).
class LogSigmoid : public Module {
 public:
  /// A LogSigmoid layer.
  LogSigmoid() : Module("LogSigmoid") {}
  /// logsigmoid(x).
  Tensor forward(const Tensor& input) override;
};

/// x / (1 + |x|).
class Softsign : public Module {
 public:
  /// A Softsign layer.
  Softsign() : Module("Softsign") {}
  /// softsign(x).
  Tensor forward(const Tensor& input) override;
};

}  // namespace lamina::nn

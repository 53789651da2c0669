#pragma once
// Loss modules: settings validated at construction (ConfigError), forward(input, target)
// calling the functional form. Class weights / pos_weight are buffers, as in PyTorch.
#include <string>

#include "lamina/nn/module.h"

namespace lamina::nn {

/// True when fused_cross_entropy runs the fused kernels for these arguments: CUDA logits (N, C)
/// or (C), class-index targets of the matching shape on the same device, and a class weight that
/// is undefined or needs no gradient.
bool cross_entropy_fusable(const Tensor& input, const Tensor& target, const Tensor& weight);

/// functional::cross_entropy's value and gradients. CUDA logits of shape (N, C) or (C) with
/// class-index targets (and a class weight that needs no gradient) run one fused kernel each way
/// that never stores log_softmax; every other call is functional::cross_entropy.
Tensor fused_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                           int64_t ignore_index = -100, const std::string& reduction = "mean",
                           double label_smoothing = 0.0);

/// Base of the losses: holds the reduction and forwards two tensors.
class Loss : public Module {
 public:
  /// ConfigError for an unknown reduction.
  Loss(std::string type_name, std::string reduction, bool allow_batchmean = false);
  /// The loss of input against target.
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  /// forward(input, target).
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  /// The one-input forward of Module (raises NotImplementedError for a loss).
  using Module::forward;
  /// "none", "mean" or "sum" (KLDivLoss also "batchmean").
  std::string reduction;
};

/// functional::cross_entropy as a module.
class CrossEntropyLoss : public Loss {
 public:
  /// weight may be undefined; ConfigError for label_smoothing outside [0, 1].
  explicit CrossEntropyLoss(const Tensor& weight = Tensor(), int64_t ignore_index = -100,
                            const std::string& reduction = "mean", double label_smoothing = 0.0);
  /// cross_entropy(input, target).
  Tensor forward(const Tensor& input, const Tensor& target) override;
  /// Targets equal to this contribute nothing.
  int64_t ignore_index;
  /// Weight of the uniform distribution mixed into the target.
  double label_smoothing;
};

/// functional::nll_loss as a module.
class NLLLoss : public Loss {
 public:
  /// weight may be undefined.
  explicit NLLLoss(const Tensor& weight = Tensor(), int64_t ignore_index = -100, const std::string& reduction = "mean");
  /// nll_loss(input, target).
  Tensor forward(const Tensor& input, const Tensor& target) override;
  /// Targets equal to this contribute nothing.
  int64_t ignore_index;
};

/// functional::mse_loss as a module.
class MSELoss : public Loss {
 public:
  /// Mean squared error.
  explicit MSELoss(const std::string& reduction = "mean") : Loss("MSELoss", reduction) {}
  /// mse_loss(input, target).
  Tensor forward(const Tensor& input, const Tensor& target) override;
};

/// functional::l1_loss as a module.
class L1Loss : public Loss {
 public:
  /// Mean absolute error.
  explicit L1Loss(const std::string& reduction = "mean") : Loss("L1Loss", reduction) {}
  /// l1_loss(input, target).
  Tensor forward(const Tensor& input, const Tensor& target) override;
};

/// functional::smooth_l1_loss as a module.
class SmoothL1Loss : public Loss {
 public:
  /// ConfigError for a negative beta.
  explicit SmoothL1Loss(const std::string& reduction = "mean", double beta = 1.0);
  /// smooth_l1_loss(input, target).
  Tensor forward(const Tensor& input, const Tensor& target) override;
  /// Where the loss turns from quadratic to linear.
  double beta;
};

/// functional::binary_cross_entropy as a module.
class BCELoss : public Loss {
 public:
  /// weight may be undefined.
  explicit BCELoss(const Tensor& weight = Tensor(), const std::string& reduction = "mean");
  /// binary_cross_entropy(input, target).
  Tensor forward(const Tensor& input, const Tensor& target) override;
};

/// functional::binary_cross_entropy_with_logits as a module.
class BCEWithLogitsLoss : public Loss {
 public:
  /// weight and pos_weight may be undefined.
  explicit BCEWithLogitsLoss(const Tensor& weight = Tensor(), const std::string& reduction = "mean",
                             const Tensor& pos_weight = Tensor());
  /// binary_cross_entropy_with_logits(input, target).
  Tensor forward(const Tensor& input, const Tensor& target) override;
};

/// functional::kl_div as a module.
class KLDivLoss : public Loss {
 public:
  /// reduction may also be "batchmean".
  explicit KLDivLoss(const std::string& reduction = "mean", bool log_target = false);
  /// kl_div(input, target).
  Tensor forward(const Tensor& input, const Tensor& target) override;
  /// Whether the target is given as log-probabilities.
  bool log_target;
};

}  // namespace lamina::nn

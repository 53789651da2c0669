#pragma once
// Stateless forms of the layers and the losses (PyTorch's torch.nn.functional), composed from
// differentiable lamina ops so autograd needs no extra rules.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::nn::functional {

/// x @ weight^T + bias (bias may be undefined); ShapeError when x's last dim != in_features.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
/// Zeroes elements with probability p and scales the rest by 1/(1-p) when training.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);
/// Zeroes whole channels of x (N, C, *) (each (n, c) slice at once) with probability p and
/// scales the rest by 1/(1-p) when training (torch.nn.functional.dropout1d / dropout2d).
Tensor channel_dropout(const Tensor& x, double p = 0.5, bool training = true);
/// Normalizes over the trailing `normalized_shape` dims, then scales/shifts (either undefined).
Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
/// (x + residual, layer_norm(x + residual)) in one pass: a pre-norm block's residual step.
std::pair<Tensor, Tensor> add_layer_norm(const Tensor& x, const Tensor& residual,
                                         const std::vector<int64_t>& normalized_shape, const Tensor& weight = Tensor(),
                                         const Tensor& bias = Tensor(), double eps = 1e-5);
/// x / sqrt(mean(x^2) + eps) over the trailing dims, times weight; eps absent: finfo(x.dtype).eps.
Tensor rms_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape, const Tensor& weight = Tensor(),
                std::optional<double> eps = std::nullopt);
/// Normalizes (N, C, *) input over groups of C / num_groups channels, then per-channel affine.
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
/// Rows of `weight` picked by integer `indices` (shape indices.shape + [dim]); rows at
/// padding_idx get no gradient.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);

/// Negative log-likelihood of log-probabilities (N, C, *) or (C) at class `target`, weighted;
/// mean divides by the summed weights of non-ignored targets.
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(), int64_t ignore_index = -100,
                const std::string& reduction = "mean");
/// log_softmax + nll for integer targets, or soft cross entropy for probability targets of the
/// input's shape; label_smoothing mixes in the uniform distribution (PyTorch's semantics).
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                     int64_t ignore_index = -100, const std::string& reduction = "mean", double label_smoothing = 0.0);
/// (x - y)^2, reduced.
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
/// |x - y|, reduced.
Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
/// Huber-style: 0.5 d^2 / beta where |d| < beta, else |d| - beta / 2 (beta 0: l1).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                      double beta = 1.0);
/// -w (y log x + (1 - y) log(1 - x)) with logs clamped at -100; input must lie in [0, 1].
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            const std::string& reduction = "mean");
/// Sigmoid + binary cross entropy in the stable softplus form; pos_weight scales positives.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                        const std::string& reduction = "mean", const Tensor& pos_weight = Tensor());
/// KL divergence with log-probability input: target * (log target - input) (log_target: the
/// target is given as log-probabilities); reduction also accepts "batchmean".
Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
              bool log_target = false);

/// ConfigError unless reduction is "none", "mean" or "sum" (or "batchmean" when allowed).
void check_reduction(const std::string& reduction, const char* op, bool allow_batchmean = false);

}  // namespace lamina::nn::functional

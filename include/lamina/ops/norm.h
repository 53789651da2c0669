#pragma once
// Batch and layer normalization (the functional forms; the modules wrap them).
#include <utility>

#include "lamina/core/tensor.h"

namespace lamina {

/// Normalizes x (N, C, ...) per channel C, as torch.nn.functional.batch_norm: with batch
/// statistics when training (then running_mean / running_var, if defined, move by momentum,
/// the variance unbiased), else with the running statistics; then scales by weight and shifts
/// by bias when defined. Differentiable in x, weight and bias.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

/// Normalizes x over its last `normalized_dims` dims (mean 0, variance 1, biased), then scales
/// by weight and shifts by bias when defined (each with those dims' shape), as
/// torch.nn.functional.layer_norm; one fused pass forward and backward. Differentiable in x,
/// weight and bias (twice, through a composite formulation under create_graph).
Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, const Tensor& bias,
                  double eps = 1e-5);

/// The residual step of a pre-norm transformer block, fused: returns (x + residual,
/// layer_norm(x + residual)) from one pass over the rows (on the CPU; elsewhere an add and a
/// layer_norm). x and residual share shape, dtype and device. Differentiable in x, residual,
/// weight and bias; the gradients reaching the sum and the normalized output both flow back.
std::pair<Tensor, Tensor> add_layer_norm(const Tensor& x, const Tensor& residual, int64_t normalized_dims,
                                         const Tensor& weight, const Tensor& bias, double eps = 1e-5);

/// x / sqrt(mean(x^2 over the last `normalized_dims` dims) + eps) * weight (weight may be
/// undefined, else of those dims' shape and x's dtype), as torch.nn.functional.rms_norm: one fused
/// kernel each way on CUDA, composed of differentiable ops on the CPU.
Tensor rms_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, double eps = 1e-5);

}  // namespace lamina

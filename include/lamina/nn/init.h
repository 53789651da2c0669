#pragma once
// Weight initialization (PyTorch's torch.nn.init): in-place fills under NoGradGuard, drawing
// from lamina's seeded generator, with PyTorch's fan and gain rules.
#include <string>
#include <utility>

#include "lamina/core/tensor.h"

namespace lamina::nn::init {

/// (fan_in, fan_out) of a weight: dims 1 and 0 times the receptive field; ValueError below 2-D.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);
/// Recommended gain for a nonlinearity ("linear", "conv*", "sigmoid", "tanh", "relu",
/// "leaky_relu" with slope `param` (default 0.01), "selu"); ValueError otherwise.
double calculate_gain(const std::string& nonlinearity, double param = -1.0);
/// Fills with U(a, b).
const Tensor& uniform_(const Tensor& t, double a = 0.0, double b = 1.0);
/// Fills with N(mean, std^2).
const Tensor& normal_(const Tensor& t, double mean = 0.0, double std = 1.0);
/// Fills with `value`.
const Tensor& constant_(const Tensor& t, double value);
/// Fills with zeros.
const Tensor& zeros_(const Tensor& t);
/// Fills with ones.
const Tensor& ones_(const Tensor& t);
/// He uniform: U(-b, b), b = gain * sqrt(3 / fan) (mode "fan_in" or "fan_out").
const Tensor& kaiming_uniform_(const Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                               const std::string& nonlinearity = "leaky_relu");
/// He normal: N(0, (gain / sqrt(fan))^2).
const Tensor& kaiming_normal_(const Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                              const std::string& nonlinearity = "leaky_relu");
/// Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).
const Tensor& xavier_uniform_(const Tensor& t, double gain = 1.0);
/// Glorot normal: N(0, (gain * sqrt(2 / (fan_in + fan_out)))^2).
const Tensor& xavier_normal_(const Tensor& t, double gain = 1.0);

/// N(mean, std^2) restricted to [a, b] (absolute bounds), drawn by inverting the normal CDF over
/// the window; ValueError unless std > 0 and a < b.
const Tensor& trunc_normal_(const Tensor& t, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0);
/// A (semi-)orthogonal matrix times `gain` (the Q of a Gaussian matrix's QR, signs fixed by R's
/// diagonal; dims after the first are flattened); ValueError below 2-D.
const Tensor& orthogonal_(const Tensor& t, double gain = 1.0);

}  // namespace lamina::nn::init

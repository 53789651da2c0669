#pragma once
// Gradient clipping over a set of parameters (PyTorch's torch.nn.utils.clip_grad_*).
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::nn::utils {

/// Scales the gradients of `params` so their joint norm is at most max_norm (norm_type may be
/// infinity); returns the total norm before clipping as a 0-d tensor. With
/// error_if_nonfinite, a NaN or infinite total norm raises KernelError and leaves the gradients.
Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
/// Clamps every gradient of `params` into [-clip_value, clip_value] in place.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace lamina::nn::utils

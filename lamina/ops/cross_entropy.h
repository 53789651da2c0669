#pragma once
// The fused cross-entropy op: one kernel each way that never stores log_softmax (CUDA logits).
// nn::fused_cross_entropy calls it, and nn::functional::cross_entropy for every other call.
// Internal: not a public header.
#include <cstdint>
#include <string>

#include "lamina/core/tensor.h"

namespace lamina::ops {

/// True when the fused kernels take these arguments: CUDA logits (N, C) or (C), class-index
/// targets of the matching shape on the same device, a class weight undefined or needing no
/// gradient.
bool cross_entropy_fusable(const Tensor& input, const Tensor& target, const Tensor& weight);

/// Cross-entropy of fusable arguments (ValueError otherwise) with its fused backward; reduction
/// "none", "mean" or "sum", label_smoothing in [0, 1].
Tensor fused_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                           const std::string& reduction, double label_smoothing);

}  // namespace lamina::ops

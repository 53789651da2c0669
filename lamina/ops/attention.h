#pragma once
// Scaled dot-product attention's pieces that reach kernels: the fused kernels (CUDA, flash-style
// forward and backward) and the probabilities from differentiable ops. nn's
// functional::scaled_dot_product_attention validates and composes them. Internal header.
#include "lamina/core/tensor.h"

namespace lamina::ops {

/// softmax(q k^T * scale) with the causal mask or attn_mask (bool: keep where true; float: added)
/// applied, from differentiable ops.
Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& attn_mask, bool is_causal, double scale);

/// True when the fused kernels take these inputs: a kernel for the device and dtype (CPU:
/// float32; CUDA: its dtypes), no mask or dropout, equal batch dims, one head dim for queries,
/// keys and values (up to 128 on CUDA).
bool fused_attention_ok(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask, double dropout_p);

/// Attention by the fused kernels (inputs as fused_attention_ok accepts), with their backward;
/// create_graph differentiates a composite of attention_weights instead.
Tensor fused_attention(const Tensor& query, const Tensor& key, const Tensor& value, bool is_causal, double scale);

}  // namespace lamina::ops

#pragma once
// Multi-head attention (torch.nn.MultiheadAttention) from lamina ops, so it is differentiable.
#include <memory>
#include <optional>
#include <utility>

#include "lamina/nn/layers.h"
#include "lamina/nn/module.h"

namespace lamina::nn {

namespace functional {

/// torch.nn.functional.scaled_dot_product_attention: softmax(query @ key^T * scale + mask) @ value
/// for query (..., L, E), key (..., S, E), value (..., S, Ev) with broadcasting batch dims.
/// attn_mask broadcasts to (..., L, S): bool (True = the key takes part) or float (added);
/// is_causal hides key j from query i when j > i (not with attn_mask); dropout_p drops
/// attention weights; scale defaults to 1/sqrt(E). On CUDA, float32/float16/bfloat16 inputs
/// without a mask or dropout and head dims up to 128 run the fused (flash) kernels.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = Tensor(), double dropout_p = 0.0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt);

}  // namespace functional

/// Scaled dot-product attention over num_heads heads with packed input projections
/// (in_proj_weight (3E, E), in_proj_bias (3E)) and out_proj, PyTorch's parameter names and init.
class MultiheadAttention : public Module {
 public:
  /// ConfigError when embed_dim is not divisible by num_heads or dropout is outside [0, 1).
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                     bool batch_first = false, Dtype dtype = kDefaultFloat);
  /// (output, attention weights): inputs (L, N, E) / (S, N, E) ((N, L, E) with batch_first);
  /// key_padding_mask (N, S) bool, True = ignore; attn_mask (L, S) or (N*heads, L, S), bool
  /// (True = masked) or float (added). Weights (N, L, S) averaged over heads, or (N, heads, L, S);
  /// undefined when need_weights is false.
  std::pair<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& key_padding_mask = Tensor(), bool need_weights = true,
                                    const Tensor& attn_mask = Tensor(), bool average_attn_weights = true);
  /// Self-attention: forward(x, x, x).first.
  Tensor forward(const Tensor& x) override { return forward(x, x, x, Tensor(), false).first; }
  /// xavier_uniform_ in_proj_weight, zero biases, out_proj as Linear.
  void reset_parameters();
  int64_t embed_dim, num_heads;  ///< sizes
  double dropout;                ///< attention dropout probability (training only)
  bool batch_first;              ///< (N, L, E) inputs
  std::shared_ptr<Linear> out_proj;  ///< output projection
};

}  // namespace lamina::nn

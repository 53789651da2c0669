#include "lamina/nn/attention.h"

#include <cmath>
#include <limits>

#include "lamina/autograd/autograd.h"
#include "lamina/core/print.h"
#include "lamina/nn/functional.h"
#include "lamina/nn/init.h"
#include "lamina/ops/attention.h"
#include "lamina/ops/autocast.h"
#include "lamina/ops/conv.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/join.h"
#include "lamina/ops/linalg.h"
#include "lamina/ops/norm.h"
#include "lamina/ops/reduce.h"
#include "lamina/ops/sort.h"
#include "lamina/runtime/profiler.h"

namespace lamina::nn {

MultiheadAttention::MultiheadAttention(int64_t e, int64_t h, double p, bool bias, bool bf, Dtype dtype)
    : Module("MultiheadAttention"), embed_dim(e), num_heads(h), dropout(p), batch_first(bf) {
  LAMINA_CHECK(e > 0 && h > 0, ConfigError, "MultiheadAttention", "embed_dim and num_heads must be positive, got ", e,
               " and ", h);
  LAMINA_CHECK(e % h == 0, ConfigError, "MultiheadAttention", "embed_dim ", e, " must be divisible by num_heads ", h);
  LAMINA_CHECK(p >= 0 && p < 1, ConfigError, "MultiheadAttention", "dropout must be in [0, 1), got ", p);
  register_parameter("in_proj_weight", empty({3 * e, e}, {dtype}));
  register_parameter("in_proj_bias", bias ? empty({3 * e}, {dtype}) : Tensor());
  out_proj = register_module("out_proj", std::make_shared<Linear>(e, e, bias, dtype));
  reset_parameters();
}

void MultiheadAttention::reset_parameters() {
  init::xavier_uniform_(param("in_proj_weight"));
  if (param("in_proj_bias").defined()) {
    init::zeros_(param("in_proj_bias"));
    init::zeros_(out_proj->bias());
  }
}

std::pair<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                      const Tensor& key_padding_mask, bool need_weights,
                                                      const Tensor& attn_mask, bool average_attn_weights) {
  LAMINA_PROFILE_OP("MultiheadAttention", query, key, value);
  const char* op = "MultiheadAttention";
  for (const Tensor* t : {&query, &key, &value}) {
    LAMINA_CHECK(t->defined() && t->dim() == 3 && t->shape()[2] == embed_dim, ShapeError, op,
                 "expected 3-d query/key/value with embed_dim ", embed_dim, ", got ",
                 t->defined() ? describe(*t) : "undefined");
  }
  Tensor q = batch_first ? query.transpose(0, 1) : query;
  Tensor k = batch_first ? key.transpose(0, 1) : key;
  Tensor v = batch_first ? value.transpose(0, 1) : value;
  const int64_t l = q.shape()[0], n = q.shape()[1], s = k.shape()[0], hd = embed_dim / num_heads;
  LAMINA_CHECK(k.shape()[1] == n && v.shape()[1] == n && v.shape()[0] == s, ShapeError, op,
               "query, key and value must share the batch size and key/value the length, got ", describe(query), ", ",
               describe(key), ", ", describe(value));
  const Tensor& w = param("in_proj_weight");
  const Tensor& b = param("in_proj_bias");
  auto part = [&](int64_t i) { return b.defined() ? b.narrow(0, i * embed_dim, embed_dim) : Tensor(); };
  q = functional::linear(q, w.narrow(0, 0, embed_dim), part(0));
  k = functional::linear(k, w.narrow(0, embed_dim, embed_dim), part(1));
  v = functional::linear(v, w.narrow(0, 2 * embed_dim, embed_dim), part(2));
  // (L, N, E) -> (N * heads, L, head_dim)
  q = mul(q.reshape({l, n * num_heads, hd}).transpose(0, 1), Scalar(1.0 / std::sqrt(static_cast<double>(hd))));
  k = k.reshape({s, n * num_heads, hd}).transpose(0, 1);
  v = v.reshape({s, n * num_heads, hd}).transpose(0, 1);
  Tensor scores = matmul(q, k.transpose(1, 2));  // (N * heads, L, S)
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (attn_mask.defined()) {
    LAMINA_CHECK((attn_mask.dim() == 2 && attn_mask.shape() == Shape({l, s})) ||
                     (attn_mask.dim() == 3 && attn_mask.shape() == Shape({n * num_heads, l, s})),
                 ShapeError, op, "attn_mask must have shape (", l, ", ", s, ") or (", n * num_heads, ", ", l, ", ", s,
                 "), got ", describe(attn_mask));
    scores = attn_mask.dtype() == Dtype::Bool ? masked_fill(scores, attn_mask, Scalar(neg_inf))
                                              : add(scores, attn_mask.to(scores.dtype()));
  }
  if (key_padding_mask.defined()) {
    LAMINA_CHECK(key_padding_mask.dim() == 2 && key_padding_mask.shape() == Shape({n, s}), ShapeError, op,
                 "key_padding_mask must have shape (", n, ", ", s, "), got ", describe(key_padding_mask));
    const Tensor mask = key_padding_mask.dtype() == Dtype::Bool ? key_padding_mask : ne(key_padding_mask, Scalar(0));
    scores = masked_fill(scores.reshape({n, num_heads, l, s}), mask.reshape({n, 1, 1, s}), Scalar(neg_inf))
                 .reshape({n * num_heads, l, s});
  }
  Tensor attn = softmax(scores, -1);
  if (dropout > 0 && is_training()) attn = functional::dropout(attn, dropout, true);
  Tensor out = matmul(attn, v).transpose(0, 1).reshape({l, n, embed_dim});
  out = out_proj->forward(out);
  if (batch_first) out = out.transpose(0, 1);
  Tensor weights;
  if (need_weights) {
    weights = attn.reshape({n, num_heads, l, s});
    if (average_attn_weights) weights = mean(weights, std::vector<int64_t>{1});
  }
  return {out, weights};
}

// ------------------------------------------------------------------ scaled_dot_product_attention
namespace functional {
namespace {

const char* kSdpa = "scaled_dot_product_attention";

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, scaled_dot_product_attention, query, key, value, attn_mask,
                  dropout_p, is_causal, scale);
  LAMINA_PROFILE_OP("scaled_dot_product_attention", query, key, value);
  const char* op = kSdpa;
  for (const Tensor* t : {&query, &key, &value})
    LAMINA_CHECK(t->defined() && t->dim() >= 2, ShapeError, op,
                 "query, key and value must be tensors with at least 2 dims (..., L or S, E), got ",
                 t->defined() ? describe(*t) : "undefined");
  LAMINA_CHECK(is_floating(query.dtype()), DTypeError, op, "expects floating-point inputs, got ", describe(query));
  LAMINA_CHECK(key.dtype() == query.dtype() && value.dtype() == query.dtype(), DTypeError, op,
               "query, key and value must share one dtype, got ", describe(query), ", ", describe(key), " and ",
               describe(value));
  LAMINA_CHECK(key.device() == query.device() && value.device() == query.device() &&
                   (!attn_mask.defined() || attn_mask.device() == query.device()),
               DeviceMismatchError, op, "all inputs must be on one device, got ", describe(query), ", ", describe(key),
               " and ", describe(value));
  const int64_t e = query.shape()[query.dim() - 1];
  LAMINA_CHECK(key.shape()[key.dim() - 1] == e, ShapeError, op, "query ", describe(query), " and key ", describe(key),
               " must have the same embedding size");
  LAMINA_CHECK(value.shape()[value.dim() - 2] == key.shape()[key.dim() - 2], ShapeError, op, "key ", describe(key),
               " and value ", describe(value), " must have the same length");
  LAMINA_CHECK(dropout_p >= 0 && dropout_p <= 1, ConfigError, op, "dropout_p must be in [0, 1], got ", dropout_p);
  LAMINA_CHECK(!(is_causal && attn_mask.defined()), ConfigError, op,
               "an explicit attn_mask must not be given with is_causal=True");
  const double sc = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(e));
  if (ops::fused_attention_ok(query, key, value, attn_mask, dropout_p))
    return ops::fused_attention(query, key, value, is_causal, sc);
  Tensor p = ops::attention_weights(query, key, attn_mask, is_causal, sc);
  if (dropout_p > 0) p = dropout(p, dropout_p, true);
  return matmul(p, value);
}

}  // namespace functional

}  // namespace lamina::nn

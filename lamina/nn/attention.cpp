#include "lamina/nn/attention.h"

#include <cmath>
#include <limits>

#include "lamina/autograd/autograd.h"
#include "lamina/core/print.h"
#include "lamina/kernels/attention.h"
#include "lamina/nn/functional.h"
#include "lamina/nn/init.h"
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
#include "lamina/runtime/device_backend.h"
#include "lamina/runtime/dispatch.h"
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

namespace ag = lamina::autograd;
using kernels::AttentionShape;

const char* kSdpa = "scaled_dot_product_attention";

// The (L, S) causal mask: true where key j is visible to query i (j <= i).
Tensor causal_keep(int64_t l, int64_t s, Device device) { return tril(ones({l, s}, {Dtype::Bool, device})); }

// softmax(q k^T * scale + bias) with the mask applied, from differentiable ops.
Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& attn_mask, bool is_causal, double scale) {
  const int64_t l = q.shape()[q.dim() - 2], s = k.shape()[k.dim() - 2];
  Tensor scores = mul(matmul(q, k.transpose(-2, -1)), Scalar(scale));
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (is_causal) scores = masked_fill(scores, logical_not(causal_keep(l, s, q.device())), Scalar(neg_inf));
  if (attn_mask.defined()) {
    scores = attn_mask.dtype() == Dtype::Bool ? masked_fill(scores, logical_not(attn_mask), Scalar(neg_inf))
                                              : add(scores, attn_mask.to(scores.dtype()));
  }
  return softmax(scores, -1);
}

// The gradients of attention from the probabilities p, by differentiable ops (create_graph).
std::vector<Tensor> attention_grads(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& p, const Tensor& g,
                                    double scale) {
  const Tensor dv = matmul(p.transpose(-2, -1), g);
  const Tensor dp = matmul(g, v.transpose(-2, -1));
  const Tensor ds = mul(p, sub(dp, sum(mul(dp, p), std::vector<int64_t>{-1}, true), Scalar(1.0)));
  const Tensor dq = mul(matmul(ds, k), Scalar(scale));
  const Tensor dk = mul(matmul(ds.transpose(-2, -1), q), Scalar(scale));
  return {dq, dk, dv};
}

runtime::OpId forward_id() {
  static const runtime::OpId id = runtime::op_id("scaled_dot_product_attention");
  return id;
}

runtime::OpId backward_id() {
  static const runtime::OpId id = runtime::op_id("scaled_dot_product_attention_backward");
  return id;
}

// True when the fused kernels take these inputs: CUDA, a kernel for the dtype, no mask or
// dropout, equal batch dims, one head dim up to 128 for queries, keys and values.
bool fused_ok(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p) {
  if (!q.device().is_cuda() || mask.defined() || dropout_p > 0) return false;
  if (!runtime::has_kernel(forward_id(), q.device(), q.dtype()) ||
      !runtime::has_kernel(backward_id(), q.device(), q.dtype()))
    return false;
  if (k.dim() != q.dim() || v.dim() != q.dim()) return false;
  const int64_t nd = q.dim();
  for (int64_t d = 0; d < nd - 2; ++d)
    if (k.shape()[d] != q.shape()[d] || v.shape()[d] != q.shape()[d]) return false;
  const int64_t e = q.shape()[nd - 1];
  const int64_t batch = shape_numel(Shape(q.shape().begin(), q.shape().end() - 2));
  return e > 0 && e <= 128 && v.shape()[nd - 1] == e && batch <= 65535;
}

Tensor fused_attention(const Tensor& query, const Tensor& key, const Tensor& value, bool is_causal, double scale) {
  const int64_t nd = query.dim(), l = query.shape()[nd - 2], s = key.shape()[nd - 2], e = query.shape()[nd - 1];
  const int64_t batch = shape_numel(Shape(query.shape().begin(), query.shape().end() - 2));
  const Device device = query.device();
  const Dtype dt = query.dtype();
  AttentionShape sh;
  sh.batch = batch;
  sh.l = l;
  sh.s = s;
  sh.e = e;
  sh.scale = static_cast<float>(scale);
  sh.causal = is_causal;
  Tensor q, k, v, out, lse;
  {
    ag::NoGradGuard no_grad;
    q = query.reshape({batch, l, e}).contiguous();
    k = key.reshape({batch, s, e}).contiguous();
    v = value.reshape({batch, s, e}).contiguous();
    out = Tensor::empty({batch, l, e}, dt, device);
    lse = Tensor::empty({batch, l}, Dtype::Float32, device);
    const auto kernel = runtime::find_kernel<kernels::AttentionForwardKernel>(forward_id(), device, dt);
    runtime::DeviceGuard guard(device);
    kernel(sh, q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(), static_cast<float*>(lse.data_ptr()));
  }
  if (ag::needs_grad({&query, &key, &value})) {
    // The inputs themselves are saved (not their contiguous copies) so that create_graph
    // differentiates back into their history.
    ag::SavedTensor sq(query), sk(key), sv(value), so(out, true), sl(lse);
    const Shape qs = query.shape(), ks = key.shape(), vs = value.shape();
    ag::record("ScaledDotProductFlashAttentionBackward0", out, {&query, &key, &value},
               [sq, sk, sv, so, sl, sh, qs, ks, vs, scale, device, dt](const Tensor& grad) {
                 const char* name = "ScaledDotProductFlashAttentionBackward0";
                 const Tensor q = sq.get(name).reshape({sh.batch, sh.l, sh.e});
                 const Tensor k = sk.get(name).reshape({sh.batch, sh.s, sh.e});
                 const Tensor v = sv.get(name).reshape({sh.batch, sh.s, sh.e});
                 std::vector<Tensor> r;
                 if (ag::grad_mode_enabled()) {  // create_graph: differentiable ops
                   const Tensor p = attention_weights(q, k, Tensor(), sh.causal, scale);
                   r = attention_grads(q, k, v, p, grad.reshape({sh.batch, sh.l, sh.e}), scale);
                 } else {
                   const Tensor o = so.get(name), lse = sl.get(name);
                   const Tensor g = grad.reshape({sh.batch, sh.l, sh.e}).contiguous();
                   Tensor delta = Tensor::empty({sh.batch, sh.l}, Dtype::Float32, device);
                   const Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
                   r = {Tensor::empty(q.shape(), dt, device), Tensor::empty(k.shape(), dt, device),
                        Tensor::empty(v.shape(), dt, device)};
                   const auto kernel =
                       runtime::find_kernel<kernels::AttentionBackwardKernel>(backward_id(), device, dt);
                   runtime::DeviceGuard guard(device);
                   kernel(sh, qc.data_ptr(), kc.data_ptr(), vc.data_ptr(), o.data_ptr(), g.data_ptr(),
                          static_cast<const float*>(lse.data_ptr()), static_cast<float*>(delta.data_ptr()),
                          r[0].data_ptr(), r[1].data_ptr(), r[2].data_ptr());
                 }
                 return std::vector<Tensor>{r[0].reshape(qs), r[1].reshape(ks), r[2].reshape(vs)};
               });
  }
  Shape out_shape(query.shape().begin(), query.shape().end() - 1);
  out_shape.push_back(e);
  return out.reshape(out_shape);
}

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
  if (fused_ok(query, key, value, attn_mask, dropout_p)) return fused_attention(query, key, value, is_causal, sc);
  Tensor p = attention_weights(query, key, attn_mask, is_causal, sc);
  if (dropout_p > 0) p = dropout(p, dropout_p, true);
  return matmul(p, value);
}

}  // namespace functional

}  // namespace lamina::nn

#include "lamina/ops/attention.h"

#include <limits>

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/kernels/attention.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/join.h"
#include "lamina/ops/linalg.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/launch.h"

namespace lamina::ops {

namespace {

namespace ag = lamina::autograd;
using kernels::AttentionShape;

// The (L, S) causal mask: true where key j is visible to query i (j <= i).
Tensor causal_keep(int64_t l, int64_t s, Device device) { return tril(ones({l, s}, {Dtype::Bool, device})); }

}  // namespace

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

namespace {

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
  constexpr runtime::OpId id = runtime::op_id(kernels::Op::scaled_dot_product_attention);
  return id;
}

runtime::OpId backward_id() {
  constexpr runtime::OpId id = runtime::op_id(kernels::Op::scaled_dot_product_attention_backward);
  return id;
}

}  // namespace

bool fused_attention_ok(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p) {
  if (mask.defined() || dropout_p > 0) return false;
  if (!runtime::has_kernel(forward_id(), q.device(), q.dtype()) ||
      !runtime::has_kernel(backward_id(), q.device(), q.dtype()))
    return false;
  if (k.dim() != q.dim() || v.dim() != q.dim()) return false;
  const int64_t nd = q.dim();
  for (int64_t d = 0; d < nd - 2; ++d)
    if (k.shape()[d] != q.shape()[d] || v.shape()[d] != q.shape()[d]) return false;
  const int64_t e = q.shape()[nd - 1];
  const int64_t batch = shape_numel(Shape(q.shape().begin(), q.shape().end() - 2));
  if (q.device().is_cpu()) return e > 0 && v.shape()[nd - 1] == e;
  return e > 0 && e <= 128 && v.shape()[nd - 1] == e && batch <= 65535;
}

namespace {

using kernels::AttentionLayout;

// t's (rows, E) matrices as an AttentionLayout over its batch dims (heads = its dim -3 for a
// 4-D tensor), or false where the kernels cannot read t in place: a last dim that is not
// contiguous, rows closer than E apart, or more than two batch dims.
bool strided_layout(const Tensor& t, AttentionLayout& layout) {
  const int64_t nd = t.dim(), rows = t.shape()[nd - 2], e = t.shape()[nd - 1];
  const Strides& st = t.strides();
  if (e > 1 && st[nd - 1] != 1) return false;
  const int64_t row = rows > 1 ? st[nd - 2] : e;
  if (row < e || nd > 4) return false;
  layout = {nd >= 3 ? st[0] : 0, nd == 4 ? st[1] : 0, row};
  return true;
}

// The attention geometry of query (..., L, E) against key / value (..., S, E).
AttentionShape attention_shape(const Tensor& query, const Tensor& key, bool is_causal, double scale) {
  const int64_t nd = query.dim();
  AttentionShape sh;
  sh.batch = shape_numel(Shape(query.shape().begin(), query.shape().end() - 2));
  sh.l = query.shape()[nd - 2];
  sh.s = key.shape()[nd - 2];
  sh.e = query.shape()[nd - 1];
  sh.scale = static_cast<float>(scale);
  sh.causal = is_causal;
  // The CPU kernels read any strided rows; the CUDA ones contiguous (batch, rows, E) only.
  sh.heads = query.device().is_cpu() && nd == 4 ? query.shape()[1] : 1;
  return sh;
}

// The tensor to hand the kernels for t, with its layout: t itself where the kernels read its
// layout, else a contiguous copy.
Tensor kernel_operand(const AttentionShape& sh, const Tensor& t, int64_t rows, AttentionLayout& layout) {
  if (t.device().is_cpu() && strided_layout(t, layout)) return t;
  layout = kernels::contiguous_attention_layout(rows, sh.e, sh.heads);
  return t.reshape({sh.batch, rows, sh.e}).contiguous();
}

// A fresh (..., rows, E) buffer shaped like `like`; a 4-D one whose heads are the inner stride
// (the (B, L, H, E) buffer of a model's projections, seen as (B, H, L, E)) gets that layout,
// so the transpose back to (B, L, H, E) is a view.
Tensor attention_buffer(const AttentionShape& sh, const Tensor& like, int64_t rows, AttentionLayout& layout) {
  const Dtype dt = like.dtype();
  const Device device = like.device();
  if (sh.heads > 1 && like.strides()[1] < like.strides()[2]) {
    const Shape& sp = like.shape();
    Tensor t = Tensor::empty({sp[0], sp[2], sp[1], sp[3]}, dt, device).transpose(1, 2);
    strided_layout(t, layout);
    return t;
  }
  layout = kernels::contiguous_attention_layout(rows, sh.e, sh.heads);
  Shape shape(like.shape().begin(), like.shape().end() - 1);
  shape.push_back(sh.e);
  return Tensor::empty(shape, dt, device);
}

// The forward kernel over all of sh.batch: on the CPU the batch entries split across the pool
// (each part a kernel call on its own range of entries), on a device one launch.
void run_attention_forward(const AttentionShape& sh, Device device, Dtype dt, const Tensor& q, const Tensor& k,
                           const Tensor& v, Tensor& out, Tensor& lse) {
  const void* pq = q.data_ptr();
  const void* pk = k.data_ptr();
  const void* pv = v.data_ptr();
  void* po = out.data_ptr();
  float* pl = static_cast<float*>(lse.data_ptr());
  runtime::launch_ranges<kernels::AttentionForwardKernel>(
      forward_id(), device, dt, sh.batch, sh.l * sh.s * sh.e * 2,
      [&](kernels::AttentionForwardKernel kernel, int64_t b0, int64_t b1) {
        AttentionShape part = sh;
        part.first = b0;
        part.batch = b1 - b0;
        kernel(part, pq, pk, pv, po, pl);
      });
}

// The backward kernel over all of sh.batch, split as run_attention_forward.
void run_attention_backward(const AttentionShape& sh, Device device, Dtype dt, const Tensor& q, const Tensor& k,
                            const Tensor& v, const Tensor& o, const Tensor& g, const Tensor& lse, Tensor& delta,
                            std::vector<Tensor>& r) {
  const void* pq = q.data_ptr();
  const void* pk = k.data_ptr();
  const void* pv = v.data_ptr();
  const void* po = o.data_ptr();
  const void* pg = g.data_ptr();
  const float* pl = static_cast<const float*>(lse.data_ptr());
  float* pd = static_cast<float*>(delta.data_ptr());
  void* pdq = r[0].data_ptr();
  void* pdk = r[1].data_ptr();
  void* pdv = r[2].data_ptr();
  runtime::launch_ranges<kernels::AttentionBackwardKernel>(
      backward_id(), device, dt, sh.batch, sh.l * sh.s * sh.e * 5,
      [&](kernels::AttentionBackwardKernel kernel, int64_t b0, int64_t b1) {
        AttentionShape part = sh;
        part.first = b0;
        part.batch = b1 - b0;
        kernel(part, pq, pk, pv, po, pg, pl, pd, pdq, pdk, pdv);
      });
}

}  // namespace

Tensor fused_attention(const Tensor& query, const Tensor& key, const Tensor& value, bool is_causal, double scale) {
  const Device device = query.device();
  const Dtype dt = query.dtype();
  AttentionShape sh = attention_shape(query, key, is_causal, scale);
  Tensor out, lse;
  {
    ag::NoGradGuard no_grad;
    const Tensor q = kernel_operand(sh, query, sh.l, sh.q), k = kernel_operand(sh, key, sh.s, sh.k),
                 v = kernel_operand(sh, value, sh.s, sh.v);
    out = attention_buffer(sh, query, sh.l, sh.o);
    lse = Tensor::empty({sh.batch, sh.l}, Dtype::Float32, device);
    run_attention_forward(sh, device, dt, q, k, v, out, lse);
  }
  if (ag::needs_grad({&query, &key, &value})) {
    // The inputs themselves are saved (not copies) so that create_graph differentiates back
    // into their history.
    ag::SavedTensor sq(query), sk(key), sv(value), so(out, true), sl(lse);
    const Shape qs = query.shape(), ks = key.shape(), vs = value.shape();
    ag::record("ScaledDotProductFlashAttentionBackward0", out, {&query, &key, &value},
               [sq, sk, sv, so, sl, sh, qs, ks, vs, scale, device, dt](const Tensor& grad) {
                 const char* name = "ScaledDotProductFlashAttentionBackward0";
                 const Tensor query = sq.get(name), key = sk.get(name), value = sv.get(name);
                 if (ag::grad_mode_enabled()) {  // create_graph: differentiable ops
                   const Tensor q = query.reshape({sh.batch, sh.l, sh.e}), k = key.reshape({sh.batch, sh.s, sh.e}),
                                v = value.reshape({sh.batch, sh.s, sh.e});
                   const Tensor p = attention_weights(q, k, Tensor(), sh.causal, scale);
                   const std::vector<Tensor> r =
                       attention_grads(q, k, v, p, grad.reshape({sh.batch, sh.l, sh.e}), scale);
                   return std::vector<Tensor>{r[0].reshape(qs), r[1].reshape(ks), r[2].reshape(vs)};
                 }
                 AttentionShape bs = sh;
                 const Tensor q = kernel_operand(bs, query, bs.l, bs.q), k = kernel_operand(bs, key, bs.s, bs.k),
                              v = kernel_operand(bs, value, bs.s, bs.v), o = so.get(name);
                 const Tensor g = kernel_operand(bs, grad, bs.l, bs.go);
                 Tensor delta = Tensor::empty({bs.batch, bs.l}, Dtype::Float32, device);
                 std::vector<Tensor> r = {attention_buffer(bs, query, bs.l, bs.dq),
                                          attention_buffer(bs, key, bs.s, bs.dk),
                                          attention_buffer(bs, value, bs.s, bs.dv)};
                 run_attention_backward(bs, device, dt, q, k, v, o, g, sl.get(name), delta, r);
                 return std::vector<Tensor>{r[0].reshape(qs), r[1].reshape(ks), r[2].reshape(vs)};
               });
  }
  Shape out_shape(query.shape().begin(), query.shape().end() - 1);
  out_shape.push_back(sh.e);
  return out.reshape(out_shape);
}

}  // namespace lamina::ops

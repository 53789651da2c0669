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

// The forward kernel over all of sh.batch: on the CPU the batch entries split across the pool
// (each part a kernel call on its own contiguous range), on a device one launch.
void run_attention_forward(const AttentionShape& sh, Device device, Dtype dt, const Tensor& q, const Tensor& k,
                           const Tensor& v, Tensor& out, Tensor& lse) {
  const int64_t item = itemsize(dt);
  const char* pq = static_cast<const char*>(q.data_ptr());
  const char* pk = static_cast<const char*>(k.data_ptr());
  const char* pv = static_cast<const char*>(v.data_ptr());
  char* po = static_cast<char*>(out.data_ptr());
  float* pl = static_cast<float*>(lse.data_ptr());
  runtime::launch_ranges<kernels::AttentionForwardKernel>(
      forward_id(), device, dt, sh.batch, sh.l * sh.s * sh.e * 2,
      [&](kernels::AttentionForwardKernel kernel, int64_t b0, int64_t b1) {
        AttentionShape part = sh;
        part.batch = b1 - b0;
        kernel(part, pq + b0 * sh.l * sh.e * item, pk + b0 * sh.s * sh.e * item, pv + b0 * sh.s * sh.e * item,
               po + b0 * sh.l * sh.e * item, pl + b0 * sh.l);
      });
}

// The backward kernel over all of sh.batch, split as run_attention_forward.
void run_attention_backward(const AttentionShape& sh, Device device, Dtype dt, const Tensor& q, const Tensor& k,
                            const Tensor& v, const Tensor& o, const Tensor& g, const Tensor& lse, Tensor& delta,
                            std::vector<Tensor>& r) {
  const int64_t item = itemsize(dt), lq = sh.l * sh.e * item, ls = sh.s * sh.e * item;
  const char* pq = static_cast<const char*>(q.data_ptr());
  const char* pk = static_cast<const char*>(k.data_ptr());
  const char* pv = static_cast<const char*>(v.data_ptr());
  const char* po = static_cast<const char*>(o.data_ptr());
  const char* pg = static_cast<const char*>(g.data_ptr());
  const float* pl = static_cast<const float*>(lse.data_ptr());
  float* pd = static_cast<float*>(delta.data_ptr());
  char* pdq = static_cast<char*>(r[0].data_ptr());
  char* pdk = static_cast<char*>(r[1].data_ptr());
  char* pdv = static_cast<char*>(r[2].data_ptr());
  runtime::launch_ranges<kernels::AttentionBackwardKernel>(
      backward_id(), device, dt, sh.batch, sh.l * sh.s * sh.e * 5,
      [&](kernels::AttentionBackwardKernel kernel, int64_t b0, int64_t b1) {
        AttentionShape part = sh;
        part.batch = b1 - b0;
        kernel(part, pq + b0 * lq, pk + b0 * ls, pv + b0 * ls, po + b0 * lq, pg + b0 * lq, pl + b0 * sh.l,
               pd + b0 * sh.l, pdq + b0 * lq, pdk + b0 * ls, pdv + b0 * ls);
      });
}

}  // namespace

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
    run_attention_forward(sh, device, dt, q, k, v, out, lse);
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
                   run_attention_backward(sh, device, dt, qc, kc, vc, o, g, lse, delta, r);
                 }
                 return std::vector<Tensor>{r[0].reshape(qs), r[1].reshape(ks), r[2].reshape(vs)};
               });
  }
  Shape out_shape(query.shape().begin(), query.shape().end() - 1);
  out_shape.push_back(e);
  return out.reshape(out_shape);
}


}  // namespace lamina::ops

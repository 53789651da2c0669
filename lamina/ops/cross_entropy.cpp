#include "lamina/ops/cross_entropy.h"

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/kernels/cross_entropy.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/launch.h"

namespace lamina::ops {

bool cross_entropy_fusable(const Tensor& input, const Tensor& target, const Tensor& weight) {
  if (!input.defined() || !target.defined() || !input.device().is_cuda() || !is_floating(input.dtype())) return false;
  if (input.dim() != 1 && input.dim() != 2) return false;
  if (is_floating(target.dtype()) || target.dtype() == Dtype::Bool || !(target.device() == input.device()))
    return false;
  if (target.dim() != input.dim() - 1 || (input.dim() == 2 && target.size(0) != input.size(0))) return false;
  if (!weight.defined()) return true;
  return weight.dim() == 1 && weight.size(0) == input.size(-1) && weight.device() == input.device() &&
         !autograd::requires_grad(weight);
}

namespace {

// The gradient of the fused loss from differentiable ops (create_graph): rows of
// (1 - eps) w_t (softmax - onehot) + eps / C (sum_w softmax - w), 0 where ignored, times gs.
Tensor cross_entropy_grad_composite(const Tensor& x, const Tensor& t, const Tensor& w, const Tensor& sum_w,
                                    const Tensor& w_target, const Tensor& gs, const kernels::CrossEntropyArgs& a) {
  const Tensor ignored = eq(t, Scalar(a.ignore_index)).unsqueeze(1);
  const Tensor safe = where(ignored, Scalar(int64_t{0}), t.unsqueeze(1));
  const Tensor p = softmax(x, 1);
  const Tensor onehot = scatter(zeros_like(x), 1, safe, Scalar(1.0));
  Tensor g = mul(w_target.to(x.dtype()).unsqueeze(1), sub(p, onehot));
  if (a.label_smoothing > 0) {
    const Tensor wp = a.has_weight ? mul(p, sum_w.to(x.dtype())) : mul(p, Scalar(static_cast<double>(a.classes)));
    const Tensor smooth = a.has_weight ? sub(wp, w.unsqueeze(0)) : sub(wp, Scalar(1.0));
    g = add(mul(g, Scalar(1.0 - a.label_smoothing)),
            mul(smooth, Scalar(a.label_smoothing / static_cast<double>(a.classes))));
  }
  g = where(ignored, Scalar(0.0), g);
  return mul(g, gs.to(x.dtype()).reshape({gs.numel(), 1}));
}

}  // namespace

Tensor fused_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                           const std::string& reduction, double label_smoothing) {
  const char* op = "cross_entropy";
  LAMINA_CHECK(cross_entropy_fusable(input, target, weight), ValueError, op,
               "the fused kernels do not take these arguments (see cross_entropy_fusable)");
  LAMINA_CHECK(reduction == "none" || reduction == "mean" || reduction == "sum", ConfigError, op,
               "reduction must be 'none', 'mean' or 'sum', got '", reduction, "'");
  LAMINA_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ConfigError, op,
               "label_smoothing must be between 0.0 and 1.0, got ", label_smoothing);
  const int64_t classes = input.size(-1), rows = input.dim() == 2 ? input.size(0) : 1;
  const Dtype dt = input.dtype();
  const Dtype stat = dt == Dtype::Float64 ? Dtype::Float64 : Dtype::Float32;
  const Tensor x = input.reshape({rows, classes}).contiguous();
  const Tensor t = target.to(Dtype::Int64).reshape({rows}).contiguous();
  if (rows > 0) {
    const Tensor safe = where(eq(t, Scalar(ignore_index)), Scalar(int64_t{0}), t);
    const bool in_range = all(logical_and(ge(safe, Scalar(int64_t{0})), lt(safe, Scalar(classes)))).item<bool>();
    LAMINA_CHECK(in_range, IndexError, op, "Target out of bounds: every target must lie in [0, ", classes,
                 ") or equal ignore_index ", ignore_index);
  }
  kernels::CrossEntropyArgs args;
  args.rows = rows;
  args.classes = classes;
  args.ignore_index = ignore_index;
  args.label_smoothing = label_smoothing;
  args.has_weight = weight.defined();
  const Tensor w = weight.defined() ? weight.to(dt).contiguous() : Tensor();
  const Tensor sum_w = weight.defined() ? sum(w.to(stat)) : Tensor();
  const TensorOptions stat_options{stat, input.device()};
  const Tensor loss_rows = empty({rows}, stat_options), lse = empty({rows}, stat_options);
  const Tensor w_target = empty({rows}, stat_options);
  if (rows > 0 && classes > 0) {
    constexpr runtime::OpId id = runtime::op_id(kernels::Op::cross_entropy);
    runtime::launch_once<kernels::CrossEntropyKernel>(id, input.device(), dt, [&](kernels::CrossEntropyKernel kernel) {
      kernel(args, x.data_ptr(), static_cast<const int64_t*>(t.data_ptr()), w.defined() ? w.data_ptr() : nullptr,
             sum_w.defined() ? sum_w.data_ptr() : nullptr, loss_rows.data_ptr(), lse.data_ptr(), w_target.data_ptr());
    });
  } else if (rows > 0) {
    fill_(loss_rows, Scalar(0.0));
    fill_(lse, Scalar(0.0));
    fill_(w_target, Scalar(0.0));
  }
  Tensor total_w;
  Tensor out;
  if (reduction == "none") {
    out = loss_rows.to(dt).reshape(target.shape());
  } else if (reduction == "sum") {
    out = sum(loss_rows).to(dt);
  } else {
    total_w = sum(w_target);
    out = div(sum(loss_rows), total_w).to(dt);
  }
  if (!autograd::needs_grad({&input})) return out;
  autograd::SavedTensor sx(x);
  autograd::record(
      "CrossEntropyLossBackward0", out, {&input},
      [sx, t, w, sum_w, lse, w_target, total_w, args, reduction, stat, shape = input.shape()](const Tensor& g) {
        const char* node = "CrossEntropyLossBackward0";
        const Tensor xs = sx.get(node);
        Tensor gs = g.to(stat);
        if (reduction == "mean") gs = div(gs, total_w);
        gs = gs.reshape({gs.numel()}).contiguous();
        const int64_t gstride = reduction == "none" ? 1 : 0;
        if (autograd::grad_mode_enabled())
          return std::vector<Tensor>{cross_entropy_grad_composite(xs, t, w, sum_w, w_target, gs, args).reshape(shape)};
        Tensor dx = Tensor::empty(xs.shape(), xs.dtype(), xs.device());
        if (xs.numel() > 0) {
          constexpr runtime::OpId bid = runtime::op_id(kernels::Op::cross_entropy_backward);
          runtime::launch_once<kernels::CrossEntropyBackwardKernel>(
              bid, xs.device(), xs.dtype(), [&](kernels::CrossEntropyBackwardKernel kernel) {
                kernel(args, xs.data_ptr(), static_cast<const int64_t*>(t.data_ptr()),
                       w.defined() ? w.data_ptr() : nullptr, sum_w.defined() ? sum_w.data_ptr() : nullptr,
                       lse.data_ptr(), w_target.data_ptr(), gs.data_ptr(), gstride, dx.data_ptr());
              });
        }
        return std::vector<Tensor>{dx.reshape(shape)};
      });
  return out;
}

}  // namespace lamina::ops

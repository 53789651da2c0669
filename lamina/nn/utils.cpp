#include "lamina/nn/utils.h"

#include <cmath>

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/join.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/profiler.h"

namespace lamina::nn::utils {

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  LAMINA_PROFILE_OP("clip_grad_norm_", params);
  autograd::NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    Tensor g = p.defined() ? autograd::grad(p) : Tensor();
    if (g.defined()) grads.push_back(g);
  }
  if (grads.empty()) return scalar_tensor(Scalar(0.0), Dtype::Float32);
  const Dtype dtype = grads[0].dtype();
  std::vector<Tensor> norms;
  Tensor total;
  if (std::isinf(norm_type) && norm_type > 0) {
    for (const Tensor& g : grads) norms.push_back(amax(abs(g)).to(dtype));
    total = norms.size() == 1 ? norms[0] : amax(stack(norms));
  } else {
    for (const Tensor& g : grads) norms.push_back(norm(g, norm_type).to(dtype));
    total = norm(stack(norms), norm_type);
  }
  const double t = total.item<double>();
  LAMINA_CHECK(!error_if_nonfinite || std::isfinite(t), KernelError, "clip_grad_norm_", "the total norm of order ",
               norm_type, " for gradients from `parameters` is non-finite (", t,
               "), so it cannot be clipped; set error_if_nonfinite=false to ignore this");
  Tensor coef = div(full({}, Scalar(max_norm), {total.dtype(), total.device()}), add(total, Scalar(1e-6)));
  clamp_(coef, std::nullopt, Scalar(1.0));
  for (const Tensor& g : grads) mul_(g, coef.to(g.dtype()));
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  LAMINA_PROFILE_OP("clip_grad_value_", params);
  autograd::NoGradGuard no_grad;
  for (const Tensor& p : params) {
    Tensor g = p.defined() ? autograd::grad(p) : Tensor();
    if (g.defined()) clamp_(g, Scalar(-clip_value), Scalar(clip_value));
  }
}

}  // namespace lamina::nn::utils

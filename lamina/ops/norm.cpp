// batch_norm is composed of differentiable ops (mean, var, arithmetic), so its gradients come
// from their rules; only the running statistics are updated outside the graph.
#include "lamina/ops/norm.h"

#include "lamina/autograd/autograd.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/reduce.h"

namespace lamina {

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  ops::check_defined(x, op);
  LAMINA_CHECK(x.dim() >= 2, ShapeError, op, "expects an input of at least 2 dims (N, C, ...), got ", describe(x));
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, op, "expects a floating-point input, got ", describe(x));
  LAMINA_CHECK(eps >= 0, ConfigError, op, "eps must be non-negative, got ", eps);
  const int64_t c = x.shape()[1];
  auto check_channel = [&](const Tensor& t, const char* name) {
    if (!t.defined()) return;
    LAMINA_CHECK(t.dim() == 1 && t.shape()[0] == c, ShapeError, op, name, " must have shape (", c, "), got ", describe(t));
  };
  check_channel(running_mean, "running_mean");
  check_channel(running_var, "running_var");
  check_channel(weight, "weight");
  check_channel(bias, "bias");
  LAMINA_CHECK(training || (running_mean.defined() && running_var.defined()), ValueError, op,
               "running_mean and running_var are needed in evaluation mode");
  std::vector<int64_t> dims{0};
  int64_t count = x.shape()[0];
  for (int64_t d = 2; d < x.dim(); ++d) {
    dims.push_back(d);
    count *= x.shape()[d];
  }
  Shape channel_shape(x.dim(), 1);
  channel_shape[1] = c;
  Tensor mean_c, var_c;  // (1, C, 1, ...)
  if (training) {
    LAMINA_CHECK(count > 1, ValueError, op, "expected more than 1 value per channel when training, got input ",
                 describe(x));
    mean_c = mean(x, dims, true);
    var_c = var(x, dims, 0.0, true);
    autograd::NoGradGuard no_grad;
    if (running_mean.defined()) {
      mul_(running_mean, Scalar(1.0 - momentum));
      add_(running_mean, mul(mean_c.reshape({c}), Scalar(momentum)).to(running_mean.dtype()));
    }
    if (running_var.defined()) {
      const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
      mul_(running_var, Scalar(1.0 - momentum));
      add_(running_var, mul(var_c.reshape({c}), Scalar(momentum * unbias)).to(running_var.dtype()));
    }
  } else {
    mean_c = running_mean.reshape(channel_shape).to(x.dtype());
    var_c = running_var.reshape(channel_shape).to(x.dtype());
  }
  Tensor y = mul(sub(x, mean_c), rsqrt(add(var_c, Scalar(eps))));
  if (weight.defined()) y = mul(y, weight.reshape(channel_shape));
  if (bias.defined()) y = add(y, bias.reshape(channel_shape));
  return y;
}

}  // namespace lamina

#include "lamina/nn/instance_norm.h"

#include <sstream>

#include "lamina/autograd/autograd.h"
#include "lamina/core/print.h"
#include "lamina/nn/conv.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/join.h"
#include "lamina/ops/norm.h"
#include "lamina/ops/reduce.h"

namespace lamina::nn {

namespace functional {

// As batch norm of the (1, N * C, *) view: every (sample, channel) pair becomes a channel of its
// own, with per-pair copies of the running statistics that are averaged back afterwards.
Tensor instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                     const Tensor& bias, bool use_input_stats, double momentum, double eps) {
  LAMINA_CHECK(x.dim() >= 3, ShapeError, "instance_norm", "expected input (N, C, *) with spatial dims, got ",
               describe(x));
  const int64_t n = x.shape()[0], c = x.shape()[1];
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    LAMINA_CHECK(!t->defined() || (t->dim() == 1 && t->shape()[0] == c), ShapeError, "instance_norm",
                 "per-channel tensors need shape (", c, "), got ", describe(*t));
  if (!use_input_stats) {
    LAMINA_CHECK(running_mean.defined() && running_var.defined(), ValueError, "instance_norm",
                 "use_input_stats=False needs running_mean and running_var");
    return batch_norm(x, running_mean, running_var, weight, bias, false, momentum, eps);
  }
  std::vector<int64_t> flat = x.shape().vec();
  flat[0] = 1;
  flat[1] = n * c;
  const bool track = running_mean.defined() && running_var.defined();
  Tensor rm = track ? repeat(running_mean, {n}) : Tensor();
  Tensor rv = track ? repeat(running_var, {n}) : Tensor();
  Tensor w = weight.defined() ? repeat(weight, {n}) : Tensor();
  Tensor b = bias.defined() ? repeat(bias, {n}) : Tensor();
  Tensor out = batch_norm(x.reshape(flat), rm, rv, w, b, true, momentum, eps).reshape(x.shape().vec());
  if (track && n > 0) {
    autograd::NoGradGuard no_grad;
    copy_(running_mean, mean(rm.reshape({n, c}), std::vector<int64_t>{0}));
    copy_(running_var, mean(rv.reshape({n, c}), std::vector<int64_t>{0}));
  }
  return out;
}

}  // namespace functional

InstanceNorm::InstanceNorm(const char* name, int64_t dims, int64_t n, double e, double m, bool a, bool track,
                           Dtype dtype)
    : Module(name), spatial_dims(dims), num_features(n), eps(e), momentum(m), affine(a), track_running_stats(track) {
  // num_batches_tracked is kept for PyTorch's state_dict layout; instance norm never counts it.
  register_norm_state(*this, name, n, e, m, a, track, dtype);
}

Tensor InstanceNorm::forward(const Tensor& x) {
  const char* op = type_name().c_str();
  LAMINA_CHECK(x.defined(), ValueError, op, "input is undefined");
  const bool batched = x.dim() == spatial_dims + 2;
  LAMINA_CHECK(batched || x.dim() == spatial_dims + 1, ShapeError, op, "expected ", spatial_dims + 1, "-D or ",
               spatial_dims + 2, "-D input, got ", describe(x));
  Tensor in = batched ? x : x.unsqueeze(0);
  LAMINA_CHECK(in.shape()[1] == num_features, ShapeError, op, "expected ", num_features, " channels, got ",
               describe(x));
  Tensor rm = track_running_stats ? buffer("running_mean") : Tensor();
  Tensor rv = track_running_stats ? buffer("running_var") : Tensor();
  const bool use_input_stats = is_training() || !track_running_stats;
  Tensor out = functional::instance_norm(in, rm, rv, param("weight"), param("bias"), use_input_stats, momentum, eps);
  return batched ? out : out.squeeze(0);
}

std::string InstanceNorm::extra_repr() const {
  std::ostringstream os;
  os << num_features << ", eps=" << eps << ", momentum=" << momentum << ", affine=" << (affine ? "True" : "False")
     << ", track_running_stats=" << (track_running_stats ? "True" : "False");
  return os.str();
}

}  // namespace lamina::nn

// batch_norm and layer_norm are one fused kernel each way where the device has one (batch_norm
// runs after every convolution of a ResNet, layer_norm twice per transformer block); under
// create_graph their gradients are composed of differentiable ops so they differentiate again.
// The running statistics are updated outside the graph.
#include "lamina/ops/norm.h"

#include "lamina/autograd/autograd.h"
#include "lamina/kernels/batch_norm.h"
#include "lamina/kernels/layer_norm.h"
#include "lamina/ops/autocast.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/profiler.h"

namespace lamina {

namespace {

// batch_norm from differentiable ops: where no fused kernel runs (devices without one, dtypes
// the weight does not share). mean_c / var_c are the (1, C, 1, ...) statistics it normalizes by.
Tensor batch_norm_composite(const Tensor& x, const Tensor& mean_c, const Tensor& var_c, const Tensor& weight,
                            const Tensor& bias, const Shape& channel_shape, double eps) {
  Tensor y = mul(sub(x, mean_c), rsqrt(add(var_c, Scalar(eps))));
  if (weight.defined()) y = mul(y, weight.reshape(channel_shape));
  if (bias.defined()) y = add(y, bias.reshape(channel_shape));
  return y;
}

// The fused kernel's gradients from differentiable ops (for create_graph): the batch statistics
// recomputed from x when training, the saved running ones (constants) in evaluation.
std::vector<Tensor> batch_norm_grads_composite(const Tensor& grad, const Tensor& x, const Tensor& weight, bool has_bias,
                                               bool batch_stats, const Tensor& mean_saved, const Tensor& rstd_saved,
                                               const std::vector<int64_t>& dims, const Shape& channel_shape,
                                               double eps) {
  const int64_t c = channel_shape[1];
  Tensor centered, rstd;
  if (batch_stats) {
    centered = sub(x, mean(x, dims, true));
    rstd = rsqrt(add(mean(square(centered), dims, true), Scalar(eps)));
  } else {
    centered = sub(x, mean_saved.reshape(channel_shape).to(x.dtype()));
    rstd = rstd_saved.reshape(channel_shape).to(x.dtype());
  }
  const Tensor xhat = mul(centered, rstd);
  const Tensor wdy = weight.defined() ? mul(grad, weight.reshape(channel_shape)) : grad;
  std::vector<Tensor> r(3);
  if (batch_stats) {
    const Tensor c1 = mean(mul(wdy, xhat), dims, true), c2 = mean(wdy, dims, true);
    r[0] = mul(rstd, sub(sub(wdy, mul(xhat, c1)), c2));
  } else {
    r[0] = mul(wdy, rstd);
  }
  if (weight.defined()) r[1] = sum(mul(grad, xhat), dims).reshape({c});
  if (has_bias) r[2] = sum(grad, dims).reshape({c});
  return r;
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  LAMINA_PROFILE_OP("batch_norm", x, weight, bias);
  const char* op = "batch_norm";
  ops::check_defined(x, op);
  LAMINA_CHECK(x.dim() >= 2, ShapeError, op, "expects an input of at least 2 dims (N, C, ...), got ", describe(x));
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, op, "expects a floating-point input, got ", describe(x));
  LAMINA_CHECK(eps >= 0, ConfigError, op, "eps must be non-negative, got ", eps);
  const int64_t c = x.shape()[1];
  auto check_channel = [&](const Tensor& t, const char* name) {
    if (!t.defined()) return;
    LAMINA_CHECK(t.dim() == 1 && t.shape()[0] == c, ShapeError, op, name, " must have shape (", c, "), got ",
                 describe(t));
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
  if (training)
    LAMINA_CHECK(count > 1, ValueError, op, "expected more than 1 value per channel when training, got input ",
                 describe(x));
  Shape channel_shape(x.dim(), 1);
  channel_shape[1] = c;
  const double unbias = count > 1 ? static_cast<double>(count) / static_cast<double>(count - 1) : 1.0;
  // Moves the running statistics towards this batch's (outside the graph).
  auto update_running = [&](const Tensor& batch_mean, const Tensor& batch_var) {
    autograd::NoGradGuard no_grad;
    if (running_mean.defined()) {
      mul_(running_mean, Scalar(1.0 - momentum));
      add_(running_mean, mul(batch_mean.reshape({c}), Scalar(momentum)).to(running_mean.dtype()));
    }
    if (running_var.defined()) {
      mul_(running_var, Scalar(1.0 - momentum));
      add_(running_var, mul(batch_var.reshape({c}), Scalar(momentum * unbias)).to(running_var.dtype()));
    }
  };
  constexpr runtime::OpId id = runtime::op_id(kernels::Op::batch_norm);
  const bool same_dtype =
      (!weight.defined() || weight.dtype() == x.dtype()) && (!bias.defined() || bias.dtype() == x.dtype());
  if (!same_dtype || !runtime::has_kernel(id, x.device(), x.dtype())) {
    Tensor mean_c, var_c;
    if (training) {
      mean_c = mean(x, dims, true);
      var_c = var(x, dims, 0.0, true);
      update_running(mean_c, var_c);
    } else {
      mean_c = running_mean.reshape(channel_shape).to(x.dtype());
      var_c = running_var.reshape(channel_shape).to(x.dtype());
    }
    return batch_norm_composite(x, mean_c, var_c, weight, bias, channel_shape, eps);
  }
  const Dtype stat = x.dtype() == Dtype::Float64 ? Dtype::Float64 : Dtype::Float32;
  const Tensor xc = x.contiguous(), wc = weight.defined() ? weight.contiguous() : weight;
  const Tensor bc = bias.defined() ? bias.contiguous() : bias;
  kernels::BatchNormArgs args;
  args.n = x.shape()[0];
  args.c = c;
  args.s = c == 0 || args.n == 0 ? 0 : x.numel() / (args.n * c);
  args.eps = eps;
  args.has_weight = weight.defined();
  args.has_bias = bias.defined();
  args.batch_stats = training;
  Tensor mu, var_b, rstd;
  if (training) {
    mu = Tensor::empty({c}, stat, x.device());
    var_b = Tensor::empty({c}, stat, x.device());
    rstd = Tensor::empty({c}, stat, x.device());
  } else {
    autograd::NoGradGuard no_grad;
    mu = running_mean.to(stat).clone();  // a copy: the running stats may move before backward
    rstd = rsqrt(add(running_var.to(stat), Scalar(eps))).contiguous();
  }
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() > 0) {
    const void* px = xc.data_ptr();
    const void* pw = wc.defined() ? wc.data_ptr() : nullptr;
    const void* pb = bc.defined() ? bc.data_ptr() : nullptr;
    void* pm = mu.data_ptr();
    void* pv = var_b.defined() ? var_b.data_ptr() : nullptr;
    void* pr = rstd.data_ptr();
    void* py = y.data_ptr();
    runtime::launch_ranges<kernels::BatchNormKernel>(
        id, x.device(), x.dtype(), c, 3 * args.n * args.s,
        [&](kernels::BatchNormKernel kernel, int64_t b, int64_t e) { kernel(args, px, pw, pb, pm, pv, pr, py, b, e); });
  }
  if (training) update_running(mu, var_b);
  if (autograd::needs_grad({&x, &weight, &bias})) {
    autograd::SavedTensor sx(xc), sw(weight), smu(mu), srstd(rstd);
    autograd::record("NativeBatchNormBackward0", y, {&x, &weight, &bias},
                     [sx, sw, smu, srstd, args, dims, channel_shape, eps, stat](const Tensor& grad) {
                       const char* node = "NativeBatchNormBackward0";
                       const Tensor xs = sx.get(node), ws = sw.get(node);
                       if (autograd::grad_mode_enabled())
                         return batch_norm_grads_composite(grad, xs, ws, args.has_bias, args.batch_stats, smu.get(node),
                                                           srstd.get(node), dims, channel_shape, eps);
                       const Tensor dy = grad.contiguous();
                       Tensor dx = Tensor::empty(xs.shape(), xs.dtype(), xs.device());
                       Tensor dw = Tensor::empty({args.c}, stat, xs.device()),
                              db = Tensor::empty({args.c}, stat, xs.device());
                       if (xs.numel() > 0) {
                         constexpr runtime::OpId bid = runtime::op_id(kernels::Op::batch_norm_backward);
                         const Tensor wc = ws.defined() ? ws.contiguous() : ws;
                         const void* pdy = dy.data_ptr();
                         const void* px = xs.data_ptr();
                         const void* pw = wc.defined() ? wc.data_ptr() : nullptr;
                         const void* pm = smu.get(node).data_ptr();
                         const void* pr = srstd.get(node).data_ptr();
                         void* pdx = dx.data_ptr();
                         void* pdw = dw.data_ptr();
                         void* pdb = db.data_ptr();
                         runtime::launch_ranges<kernels::BatchNormBackwardKernel>(
                             bid, xs.device(), xs.dtype(), args.c, 4 * args.n * args.s,
                             [&](kernels::BatchNormBackwardKernel kernel, int64_t b, int64_t e) {
                               kernel(args, pdy, px, pw, pm, pr, pdx, pdw, pdb, b, e);
                             });
                       } else {
                         zero_(dw);
                         zero_(db);
                       }
                       std::vector<Tensor> r(3);
                       r[0] = dx;
                       if (args.has_weight) r[1] = dw.to(xs.dtype());
                       if (args.has_bias) r[2] = db.to(xs.dtype());
                       return r;
                     });
  }
  return y;
}

namespace {

// layer_norm's gradients from differentiable ops (for create_graph): xhat recomputed from x.
std::vector<Tensor> layer_norm_grads_composite(const Tensor& grad, const Tensor& x, const Tensor& weight, bool has_bias,
                                               int64_t normalized_dims, double eps) {
  std::vector<int64_t> dims;
  for (int64_t i = x.dim() - normalized_dims; i < x.dim(); ++i) dims.push_back(i);
  const Tensor centered = sub(x, mean(x, dims, true));
  const Tensor rstd = rsqrt(add(mean(square(centered), dims, true), Scalar(eps)));
  const Tensor xhat = mul(centered, rstd);
  const Tensor wdy = weight.defined() ? mul(grad, weight) : grad;
  const Tensor c1 = mean(mul(wdy, xhat), dims, true), c2 = mean(wdy, dims, true);
  std::vector<Tensor> r(3);
  r[0] = mul(rstd, sub(sub(wdy, mul(xhat, c1)), c2));
  if (weight.defined()) r[1] = sum_to(mul(grad, xhat), weight.shape());
  if (has_bias) r[2] = sum_to(grad, Shape(x.shape().end() - normalized_dims, x.shape().end()));
  return r;
}

}  // namespace

namespace {

// layer_norm of x, or of x + residual (then *sum_out gets the sum, computed in the kernel's pass
// and recorded as an add, so the gradient reaching it flows to both terms).
Tensor layer_norm_rows(const Tensor& x, const Tensor& residual, Tensor* sum_out, int64_t normalized_dims,
                       const Tensor& weight, const Tensor& bias, double eps, const char* op) {
  ops::check_defined(x, op);
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, op, "expects a floating-point input, got ", describe(x));
  LAMINA_CHECK(normalized_dims >= 1 && normalized_dims <= x.dim(), ShapeError, op, "cannot normalize the last ",
               normalized_dims, " dims of ", describe(x));
  Shape norm_shape(x.shape().end() - normalized_dims, x.shape().end());
  for (const Tensor* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    LAMINA_CHECK(p->shape() == norm_shape, ShapeError, op, "weight and bias must have shape ", norm_shape, ", got ",
                 describe(*p));
    LAMINA_CHECK(p->dtype() == x.dtype(), DTypeError, op, "weight and bias must have the input's dtype ",
                 dtype_name(x.dtype()), ", got ", describe(*p));
  }
  const int64_t d = shape_numel(norm_shape), rows = d == 0 ? 0 : x.numel() / d;
  const Dtype stat = x.dtype() == Dtype::Float64 ? Dtype::Float64 : Dtype::Float32;
  const Tensor wc = weight.defined() ? weight.contiguous() : weight;
  const Tensor bc = bias.defined() ? bias.contiguous() : bias;
  Tensor xc = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mu = Tensor::empty({rows}, stat, x.device()), rstd = Tensor::empty({rows}, stat, x.device());
  kernels::LayerNormArgs args;
  args.d = d;
  args.eps = eps;
  args.has_weight = weight.defined();
  args.has_bias = bias.defined();
  Tensor rc;
  if (residual.defined()) {
    rc = residual.contiguous();
    *sum_out = Tensor::empty(x.shape(), x.dtype(), x.device());
    args.residual = rc.data_ptr();
    args.sum = sum_out->data_ptr();
  }
  if (rows > 0) {
    constexpr runtime::OpId id = runtime::op_id(kernels::Op::layer_norm);
    const void* px = xc.data_ptr();
    const void* pw = wc.defined() ? wc.data_ptr() : nullptr;
    const void* pb = bc.defined() ? bc.data_ptr() : nullptr;
    void* py = y.data_ptr();
    void* pm = mu.data_ptr();
    void* pr = rstd.data_ptr();
    runtime::launch_ranges<kernels::LayerNormKernel>(
        id, x.device(), x.dtype(), rows, 3 * d,
        [&](kernels::LayerNormKernel kernel, int64_t b, int64_t e) { kernel(args, px, pw, pb, py, pm, pr, b, e); });
  }
  args.residual = nullptr;
  args.sum = nullptr;
  const Tensor& input = residual.defined() ? *sum_out : x;
  if (residual.defined()) {
    if (autograd::needs_grad({&x, &residual}))
      autograd::record("AddBackward0", input, {&x, &residual}, [](const Tensor& grad) {
        return std::vector<Tensor>{grad, grad};
      });
    xc = input;
  }
  if (autograd::needs_grad({&input, &weight, &bias})) {
    autograd::SavedTensor sx(xc), sw(weight), smu(mu), srstd(rstd);
    autograd::record(
        "NativeLayerNormBackward0", y, {&input, &weight, &bias},
        [sx, sw, smu, srstd, args, rows, normalized_dims, eps, stat](const Tensor& grad) {
          const char* node = "NativeLayerNormBackward0";
          const Tensor xs = sx.get(node), ws = sw.get(node);
          if (autograd::grad_mode_enabled())
            return layer_norm_grads_composite(grad, xs, ws, args.has_bias, normalized_dims, eps);
          const Tensor dy = grad.contiguous();
          Tensor dx = Tensor::empty(xs.shape(), xs.dtype(), xs.device());
          const int64_t chunks = (rows + kernels::kLayerNormChunk - 1) / kernels::kLayerNormChunk;
          Tensor dw_parts = Tensor::empty({chunks, args.d}, stat, xs.device());
          Tensor db_parts = Tensor::empty({chunks, args.d}, stat, xs.device());
          if (rows > 0) {
            constexpr runtime::OpId bid = runtime::op_id(kernels::Op::layer_norm_backward);
            const Tensor wc = ws.defined() ? ws.contiguous() : ws;
            const void* pdy = dy.data_ptr();
            const void* px = xs.data_ptr();
            const void* pw = wc.defined() ? wc.data_ptr() : nullptr;
            const void* pm = smu.get(node).data_ptr();
            const void* pr = srstd.get(node).data_ptr();
            void* pdx = dx.data_ptr();
            void* pdw = dw_parts.data_ptr();
            void* pdb = db_parts.data_ptr();
            runtime::launch_ranges<kernels::LayerNormBackwardKernel>(
                bid, xs.device(), xs.dtype(), chunks, kernels::kLayerNormChunk * 4 * args.d,
                [&](kernels::LayerNormBackwardKernel kernel, int64_t b, int64_t e) {
                  kernel(args, rows, pdy, px, pw, pm, pr, pdx, pdw, pdb, b, e);
                });
          }
          std::vector<Tensor> r(3);
          r[0] = dx;
          const Shape pshape(xs.shape().end() - normalized_dims, xs.shape().end());
          if (args.has_weight) r[1] = sum(dw_parts, std::vector<int64_t>{0}).to(xs.dtype()).reshape(pshape);
          if (args.has_bias) r[2] = sum(db_parts, std::vector<int64_t>{0}).to(xs.dtype()).reshape(pshape);
          return r;
        });
  }
  return y;
}

}  // namespace

Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, const Tensor& bias, double eps) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, layer_norm, x, normalized_dims, weight, bias, eps);
  LAMINA_PROFILE_OP("layer_norm", x, weight, bias);
  return layer_norm_rows(x, Tensor(), nullptr, normalized_dims, weight, bias, eps, "layer_norm");
}

std::pair<Tensor, Tensor> add_layer_norm(const Tensor& x, const Tensor& residual, int64_t normalized_dims,
                                         const Tensor& weight, const Tensor& bias, double eps) {
  LAMINA_PROFILE_OP("add_layer_norm", x, residual, weight, bias);
  const char* op = "add_layer_norm";
  ops::check_defined(x, op);
  ops::check_defined(residual, op);
  LAMINA_CHECK(residual.shape() == x.shape(), ShapeError, op, "the residual must have the input's shape ", x.shape(),
               ", got ", describe(residual));
  LAMINA_CHECK(residual.dtype() == x.dtype() && residual.device() == x.device(), DTypeError, op,
               "the residual must have the input's dtype and device (", describe(x), "), got ", describe(residual));
  if (!x.device().is_cpu()) {  // the residual form is the CPU kernel's
    Tensor sum = add(x, residual);
    Tensor y = layer_norm(sum, normalized_dims, weight, bias, eps);
    return {sum, y};
  }
  Tensor sum;
  Tensor y = layer_norm_rows(x, residual, &sum, normalized_dims, weight, bias, eps, op);
  return {sum, y};
}

}  // namespace lamina

namespace lamina {

namespace {

// RMS norm's gradients from differentiable ops (CPU, and create_graph on CUDA).
std::vector<Tensor> rms_norm_grads_composite(const Tensor& grad, const Tensor& x, const Tensor& weight,
                                             int64_t normalized_dims, double eps) {
  std::vector<int64_t> dims;
  for (int64_t i = x.dim() - normalized_dims; i < x.dim(); ++i) dims.push_back(i);
  const Tensor rstd = rsqrt(add(mean(square(x), dims, true), Scalar(eps)));
  const Tensor wdy = weight.defined() ? mul(grad, weight) : grad;
  const Tensor c = mean(mul(wdy, x), dims, true);
  std::vector<Tensor> r(2);
  r[0] = mul(rstd, sub(wdy, mul(mul(x, square(rstd)), c)));
  if (weight.defined()) r[1] = sum_to(mul(grad, mul(x, rstd)), weight.shape());
  return r;
}

}  // namespace

Tensor rms_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, double eps) {
  LAMINA_PROFILE_OP("rms_norm", x, weight);
  const char* op = "rms_norm";
  ops::check_defined(x, op);
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, op, "expects a floating-point input, got ", describe(x));
  LAMINA_CHECK(normalized_dims >= 1 && normalized_dims <= x.dim(), ShapeError, op, "cannot normalize the last ",
               normalized_dims, " dims of ", describe(x));
  const Shape norm_shape(x.shape().end() - normalized_dims, x.shape().end());
  if (weight.defined()) {
    LAMINA_CHECK(weight.shape() == norm_shape, ShapeError, op, "weight must have shape ", norm_shape, ", got ",
                 describe(weight));
    LAMINA_CHECK(weight.dtype() == x.dtype(), DTypeError, op, "weight must have the input's dtype ",
                 dtype_name(x.dtype()), ", got ", describe(weight));
  }
  if (!x.device().is_cuda()) {
    std::vector<int64_t> dims;
    for (int64_t i = x.dim() - normalized_dims; i < x.dim(); ++i) dims.push_back(i);
    const Tensor y = mul(x, rsqrt(add(mean(square(x), dims, true), Scalar(eps))));
    return weight.defined() ? mul(y, weight) : y;
  }
  const int64_t d = shape_numel(norm_shape), rows = d == 0 ? 0 : x.numel() / d;
  const Dtype stat = x.dtype() == Dtype::Float64 ? Dtype::Float64 : Dtype::Float32;
  const Tensor xc = x.contiguous(), wc = weight.defined() ? weight.contiguous() : weight;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = Tensor::empty({rows}, stat, x.device());
  kernels::LayerNormArgs args;
  args.d = d;
  args.eps = eps;
  args.has_weight = weight.defined();
  if (rows > 0) {
    constexpr runtime::OpId id = runtime::op_id(kernels::Op::rms_norm);
    runtime::launch_ranges<kernels::LayerNormKernel>(
        id, x.device(), x.dtype(), rows, 3 * d, [&](kernels::LayerNormKernel kernel, int64_t b, int64_t e) {
          kernel(args, xc.data_ptr(), wc.defined() ? wc.data_ptr() : nullptr, nullptr, y.data_ptr(), nullptr,
                 rstd.data_ptr(), b, e);
        });
  }
  if (autograd::needs_grad({&x, &weight})) {
    autograd::SavedTensor sx(xc), sw(wc), srstd(rstd);
    autograd::record("RmsNormBackward0", y, {&x, &weight},
                     [sx, sw, srstd, args, rows, normalized_dims, eps, stat](const Tensor& grad) {
                       const char* node = "RmsNormBackward0";
                       const Tensor xs = sx.get(node), ws = sw.get(node);
                       if (autograd::grad_mode_enabled())
                         return rms_norm_grads_composite(grad, xs, ws, normalized_dims, eps);
                       const Tensor dy = grad.contiguous();
                       Tensor dx = Tensor::empty(xs.shape(), xs.dtype(), xs.device());
                       const int64_t chunks = (rows + kernels::kLayerNormChunk - 1) / kernels::kLayerNormChunk;
                       Tensor dw_parts;
                       if (args.has_weight) dw_parts = Tensor::empty({chunks, args.d}, stat, xs.device());
                       if (rows > 0) {
                         constexpr runtime::OpId bid = runtime::op_id(kernels::Op::rms_norm_backward);
                         runtime::launch_ranges<kernels::LayerNormBackwardKernel>(
                             bid, xs.device(), xs.dtype(), chunks, kernels::kLayerNormChunk * 4 * args.d,
                             [&](kernels::LayerNormBackwardKernel kernel, int64_t b, int64_t e) {
                               kernel(args, rows, dy.data_ptr(), xs.data_ptr(), ws.defined() ? ws.data_ptr() : nullptr,
                                      nullptr, srstd.get(node).data_ptr(), dx.data_ptr(),
                                      args.has_weight ? dw_parts.data_ptr() : nullptr, nullptr, b, e);
                             });
                       }
                       std::vector<Tensor> r(2);
                       r[0] = dx;
                       if (args.has_weight) {
                         const Shape pshape(xs.shape().end() - normalized_dims, xs.shape().end());
                         r[1] = rows > 0 ? sum(dw_parts, std::vector<int64_t>{0}).to(xs.dtype()).reshape(pshape)
                                         : zeros(pshape, {xs.dtype(), xs.device()});
                       }
                       return r;
                     });
  }
  return y;
}

}  // namespace lamina

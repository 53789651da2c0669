// Convolution through a library where one is registered (cuDNN on CUDA, oneDNN on the CPU), else
// as im2col + GEMM: the input's kernel windows are a strided view (no copy) that one reshape
// gathers into a (positions x window) matrix for BLAS; the backward scatters the window
// gradients back with one strided add per kernel offset. Pooling uses the same view.
#include "lamina/ops/conv.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lamina/autograd/autograd.h"
#include "lamina/kernels/conv.h"
#include "lamina/kernels/window.h"
#include "lamina/ops/autocast.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/join.h"
#include "lamina/ops/linalg.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/profiler.h"

namespace lamina {
namespace {

namespace ag = lamina::autograd;

struct Geometry {
  int64_t n, c, h, w;  // input
  int64_t kh, kw;      // kernel
  Pair stride, padding, dilation;
  int64_t oh, ow;  // output
};

Geometry plan(const Tensor& x, int64_t kh, int64_t kw, Pair stride, Pair padding, Pair dilation, const char* op) {
  ops::check_defined(x, op);
  LAMINA_CHECK(x.dim() == 4, ShapeError, op, "expects a 4-d input (N, C, H, W), got ", describe(x));
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, op, "expects a floating-point input, got ", describe(x));
  LAMINA_CHECK(kh > 0 && kw > 0, ConfigError, op, "kernel size must be positive, got (", kh, ", ", kw, ")");
  for (int i = 0; i < 2; ++i) {
    LAMINA_CHECK(stride[i] > 0, ConfigError, op, "stride must be positive, got ", stride[i]);
    LAMINA_CHECK(dilation[i] > 0, ConfigError, op, "dilation must be positive, got ", dilation[i]);
    LAMINA_CHECK(padding[i] >= 0, ConfigError, op, "padding must be non-negative, got ", padding[i]);
  }
  Geometry g{x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3], kh, kw, stride, padding, dilation, 0, 0};
  const int64_t span_h = dilation[0] * (kh - 1) + 1, span_w = dilation[1] * (kw - 1) + 1;
  const int64_t hp = g.h + 2 * padding[0], wp = g.w + 2 * padding[1];
  LAMINA_CHECK(hp >= span_h && wp >= span_w, ShapeError, op, "kernel (", kh, ", ", kw, ") with dilation (", dilation[0],
               ", ", dilation[1], ") is larger than the padded input (", hp, ", ", wp, ") of ", describe(x));
  g.oh = (hp - span_h) / stride[0] + 1;
  g.ow = (wp - span_w) / stride[1] + 1;
  return g;
}

// x padded with `value` on height and width (x itself without padding).
Tensor padded(const Tensor& x, const Geometry& g, double value) {
  if (g.padding[0] == 0 && g.padding[1] == 0) return x;
  return pad(x, {g.padding[1], g.padding[1], g.padding[0], g.padding[0]}, "constant", value);
}

// The kernel windows of padded xp as a view (N, C, oH, oW, kH, kW).
Tensor windows(const Tensor& xp, const Geometry& g) {
  const Strides& s = xp.strides();
  return Tensor::make_view(
      xp.storage(), {g.n, g.c, g.oh, g.ow, g.kh, g.kw},
      {s[0], s[1], s[2] * g.stride[0], s[3] * g.stride[1], s[2] * g.dilation[0], s[3] * g.dilation[1]},
      xp.storage_offset(), xp.dtype());
}

// The gradient of padded x from window gradients gw (N, C, oH, oW, kH, kW): each kernel offset
// adds its slice; then the padding is cut away.
Tensor windows_backward(const Tensor& gw, const Geometry& g) {
  const int64_t hp = g.h + 2 * g.padding[0], wp = g.w + 2 * g.padding[1];
  Tensor gxp = zeros({g.n, g.c, hp, wp}, {gw.dtype(), gw.device()});
  for (int64_t i = 0; i < g.kh; ++i) {
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t h0 = i * g.dilation[0], w0 = j * g.dilation[1];
      Tensor target = gxp.slice(2, h0, h0 + g.stride[0] * (g.oh - 1) + 1, g.stride[0])
                          .slice(3, w0, w0 + g.stride[1] * (g.ow - 1) + 1, g.stride[1]);
      add_(target, gw.select(5, j).select(4, i));
    }
  }
  return gxp.narrow(2, g.padding[0], g.h).narrow(3, g.padding[1], g.w);
}

kernels::WindowGeometry kernel_geometry(const Geometry& g) {
  return {g.n,         g.c,          g.h,          g.w,           g.kh,          g.kw, g.stride[0],
          g.stride[1], g.padding[0], g.padding[1], g.dilation[0], g.dilation[1], g.oh, g.ow};
}

// x's windows as contiguous (N, C*kH*kW, oH*oW) matrices, padding as zeros.
Tensor im2col(const Tensor& x, const Geometry& g) {
  constexpr runtime::OpId id = runtime::op_id(kernels::Op::im2col);
  const Tensor xc = x.contiguous();
  Tensor cols = Tensor::empty({g.n, g.c * g.kh * g.kw, g.oh * g.ow}, x.dtype(), x.device());
  const kernels::WindowGeometry kg = kernel_geometry(g);
  const void* src = xc.data_ptr();
  void* dst = cols.data_ptr();
  runtime::launch_ranges<kernels::Im2colKernel>(
      id, x.device(), x.dtype(), g.n * g.c, g.kh * g.kw * g.oh * g.ow,
      [&](kernels::Im2colKernel kernel, int64_t b, int64_t e) { kernel(kg, src, dst, b, e); });
  return cols;
}

// The input gradient (N, C, H, W) from window gradients laid out like im2col's result.
Tensor col2im(const Tensor& cols, const Geometry& g) {
  constexpr runtime::OpId id = runtime::op_id(kernels::Op::col2im);
  const Tensor cc = cols.contiguous();
  Tensor gx = Tensor::empty({g.n, g.c, g.h, g.w}, cols.dtype(), cols.device());
  const kernels::WindowGeometry kg = kernel_geometry(g);
  const void* src = cc.data_ptr();
  void* dst = gx.data_ptr();
  runtime::launch_ranges<kernels::Col2imKernel>(
      id, cols.device(), cols.dtype(), g.n * g.c, g.kh * g.kw * g.oh * g.ow,
      [&](kernels::Col2imKernel kernel, int64_t b, int64_t e) { kernel(kg, src, dst, b, e); });
  return gx;
}

// conv2d's input gradient as conv_transpose2d of the output gradient (differentiable, for
// create_graph); output_padding restores the rows and columns the forward's stride dropped.
Tensor input_grad_by_conv_transpose(const Tensor& grad, const Tensor& w, const Geometry& g, int64_t groups) {
  Pair extra{};
  const int64_t in[2] = {g.h, g.w}, out[2] = {g.oh, g.ow}, kernel[2] = {g.kh, g.kw};
  for (int i = 0; i < 2; ++i)
    extra[i] = in[i] - ((out[i] - 1) * g.stride[i] - 2 * g.padding[i] + g.dilation[i] * (kernel[i] - 1) + 1);
  return conv_transpose2d(grad, w, Tensor(), g.stride, g.padding, extra, groups, g.dilation);
}

// conv2d's weight gradient as a convolution (differentiable in x and grad, for create_graph):
// per group, x with batch and channels swapped, convolved with the output gradient as the
// kernel; stride and dilation trade places; the result is cut to the kernel size.
Tensor weight_grad_by_conv(const Tensor& x, const Tensor& grad, const Geometry& g, int64_t groups) {
  const int64_t cg = g.c / groups, og = grad.shape()[1] / groups;
  std::vector<Tensor> parts;
  for (int64_t gi = 0; gi < groups; ++gi) {
    const Tensor xs = x.narrow(1, gi * cg, cg).transpose(0, 1);                        // (Cg, N, H, W)
    const Tensor gs = grad.narrow(1, gi * og, og).transpose(0, 1);                     // (Og, N, oH, oW)
    const Tensor full = conv2d(xs, gs, Tensor(), g.dilation, g.padding, g.stride, 1);  // (Cg, Og, >=kH, >=kW)
    parts.push_back(full.narrow(2, 0, g.kh).narrow(3, 0, g.kw).transpose(0, 1));
  }
  return groups == 1 ? parts[0] : cat(parts, 0);
}

// conv2d through a convolution library — cuDNN on a CUDA device, oneDNN on the CPU (the dtypes
// with a registered kernel; the op ids keep cuDNN's name) — false when the library is missing or
// switched off, and the caller takes the im2col path. The backward uses the library's data and
// filter passes, or differentiable convolutions under create_graph. On the CPU the bias, its
// gradient and (`relu`, the CPU only) a following ReLU are folded into the oneDNN primitives.
bool conv2d_library(const Tensor& x, const Tensor& weight, const Tensor& bias, const Geometry& g, int64_t groups,
                    bool relu, Tensor& result) {
  constexpr runtime::OpId fwd_id = runtime::op_id(kernels::Op::cudnn_conv2d);
  constexpr runtime::OpId data_id = runtime::op_id(kernels::Op::cudnn_conv2d_backward_input);
  constexpr runtime::OpId filter_id = runtime::op_id(kernels::Op::cudnn_conv2d_backward_weight);
  if (!runtime::has_kernel(fwd_id, x.device(), x.dtype())) return false;
  LAMINA_CHECK(weight.device() == x.device() && (!bias.defined() || bias.device() == x.device()), DeviceMismatchError,
               "conv2d", "input ", describe(x), ", weight ", describe(weight),
               bias.defined() ? " and bias " + describe(bias) : std::string(), " must be on one device");
  const int64_t out_channels = weight.shape()[0];
  kernels::ConvShape s;
  s.n = g.n;
  s.c = g.c;
  s.h = g.h;
  s.w = g.w;
  s.o = out_channels;
  s.kh = g.kh;
  s.kw = g.kw;
  s.oh = g.oh;
  s.ow = g.ow;
  s.sh = g.stride[0];
  s.sw = g.stride[1];
  s.ph = g.padding[0];
  s.pw = g.padding[1];
  s.dh = g.dilation[0];
  s.dw = g.dilation[1];
  s.groups = groups;
  const bool cpu = x.device().is_cpu();
  s.bias = cpu && bias.defined();
  s.relu = cpu && relu;
  Tensor out;
  {
    ag::NoGradGuard no_grad;
    const Tensor xc = x.contiguous(), wc = weight.contiguous(), bc = s.bias ? bias.contiguous() : Tensor();
    out = Tensor::empty({g.n, out_channels, g.oh, g.ow}, x.dtype(), x.device());
    const bool ran = runtime::launch_once<kernels::ConvForwardKernel>(
        fwd_id, x.device(), x.dtype(), [&](kernels::ConvForwardKernel k) {
          return k(s, xc.data_ptr(), wc.data_ptr(), s.bias ? bc.data_ptr() : nullptr, out.data_ptr());
        });
    if (!ran) return false;
    if (bias.defined() && !s.bias) add_(out, bias.reshape({out_channels, 1, 1}));
  }
  if (ag::needs_grad({&x, &weight, &bias})) {
    ag::SavedTensor sx(x), sw(weight), so;
    if (s.relu) so = ag::SavedTensor(out, true);
    const bool need_x = ag::needs_grad({&x}), need_w = ag::needs_grad({&weight}), need_b = ag::needs_grad({&bias});
    const char* name = s.relu ? "ConvolutionReluBackward0" : "ConvolutionBackward0";
    ag::record(
        name, out, {&x, &weight, &bias},
        [sx, sw, so, s, g, groups, need_x, need_w, need_b, name, has_bias = bias.defined()](const Tensor& grad_out) {
          const Tensor xs = sx.get(name), ws = sw.get(name);
          // Through the ReLU first: the gradient where its output was positive.
          const Tensor grad = s.relu ? ops::relu_grad(grad_out, so.get(name)) : grad_out;
          std::vector<Tensor> r(3);
          if (ag::grad_mode_enabled()) {
            if (has_bias) r[2] = sum(grad, std::vector<int64_t>{0, 2, 3});
            r[1] = weight_grad_by_conv(xs, grad, g, groups);
            r[0] = input_grad_by_conv_transpose(grad, ws, g, groups);
            return r;
          }
          const Tensor gc = grad.contiguous();
          const Device dev = grad.device();
          // The filter pass writes the bias gradient too where the forward took the bias.
          const bool bias_in_filter = s.bias && need_w;
          if (has_bias && need_b && !bias_in_filter) r[2] = sum(grad, std::vector<int64_t>{0, 2, 3});
          if (need_w) {
            const Tensor xc = xs.contiguous();
            r[1] = Tensor::empty(ws.shape(), ws.dtype(), dev);
            Tensor db = bias_in_filter ? Tensor::empty({s.o}, ws.dtype(), dev) : Tensor();
            kernels::ConvShape fs = s;
            fs.bias = bias_in_filter;
            fs.relu = false;
            runtime::launch_once<kernels::ConvBackwardFilterKernel>(
                filter_id, dev, ws.dtype(), [&](kernels::ConvBackwardFilterKernel k) {
                  k(fs, xc.data_ptr(), gc.data_ptr(), r[1].data_ptr(), bias_in_filter ? db.data_ptr() : nullptr);
                });
            if (bias_in_filter && need_b) r[2] = db;
          }
          if (need_x) {
            const Tensor wc = ws.contiguous();
            r[0] = Tensor::empty(xs.shape(), xs.dtype(), dev);
            kernels::ConvShape ds = s;
            ds.bias = ds.relu = false;
            runtime::launch_once<kernels::ConvBackwardDataKernel>(
                data_id, dev, xs.dtype(),
                [&](kernels::ConvBackwardDataKernel k) { k(ds, wc.data_ptr(), gc.data_ptr(), r[0].data_ptr()); });
          }
          return r;
        });
  }
  result = out;
  return true;
}

}  // namespace

namespace {

// conv2d, and with `relu` max(0, conv2d): folded into the library's primitive on the CPU, a
// separate relu elsewhere.
Tensor conv2d_impl(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding, Pair dilation,
                   int64_t groups, bool relu) {
  const char* op = relu ? "conv2d_relu" : "conv2d";
  ops::check_defined(weight, op, "weight");
  LAMINA_CHECK(weight.dim() == 4, ShapeError, op, "expects a 4-d weight (O, C/groups, kH, kW), got ", describe(weight));
  LAMINA_CHECK(groups > 0, ConfigError, op, "groups must be positive, got ", groups);
  const Geometry g = plan(x, weight.shape()[2], weight.shape()[3], stride, padding, dilation, op);
  const int64_t out_channels = weight.shape()[0], cg = weight.shape()[1];
  LAMINA_CHECK(g.c % groups == 0 && out_channels % groups == 0, ConfigError, op, "in_channels ", g.c,
               " and out_channels ", out_channels, " must both be divisible by groups=", groups);
  LAMINA_CHECK(cg * groups == g.c, ShapeError, op, "expected input with ", cg * groups, " channels for weight ",
               describe(weight), " and groups=", groups, ", got ", describe(x));
  LAMINA_CHECK(weight.dtype() == x.dtype(), DTypeError, op, "input ", describe(x), " and weight ", describe(weight),
               " must have the same dtype");
  if (bias.defined()) {
    LAMINA_CHECK(bias.dim() == 1 && bias.shape()[0] == out_channels, ShapeError, op, "expected bias of shape (",
                 out_channels, "), got ", describe(bias));
    LAMINA_CHECK(bias.dtype() == x.dtype(), DTypeError, op, "bias ", describe(bias), " must have dtype ",
                 dtype_name(x.dtype()));
  }
  {
    Tensor fused;  // (the ReLU folds into oneDNN's primitive only; elsewhere it runs after)
    if ((!relu || x.device().is_cpu()) && conv2d_library(x, weight, bias, g, groups, relu, fused)) return fused;
  }
  if (relu) return lamina::relu(conv2d_impl(x, weight, bias, stride, padding, dilation, groups, false));
  const int64_t p = g.oh * g.ow, k = cg * g.kh * g.kw, og = out_channels / groups;
  Tensor cols, out;
  const bool record = ag::needs_grad({&x, &weight, &bias});
  {
    ag::NoGradGuard no_grad;
    // Per image and group a (K, P) window matrix times the (Og, K) weights: a batch of small
    // GEMMs (one per pool thread) whose result is already in (N, O, oH, oW) order. Without a
    // graph the window matrices are not kept, so large batches run in slices of images and
    // never hold all of them (an evaluation batch would otherwise need K*P floats per image).
    const Tensor wg = weight.reshape({1, groups, og, k});
    const int64_t per_image = groups * k * p * static_cast<int64_t>(itemsize(x.dtype()));
    const int64_t slice = record ? g.n : std::max<int64_t>(1, (int64_t{16} << 20) / std::max<int64_t>(per_image, 1));
    if (slice >= g.n) {
      cols = im2col(x, g).reshape({g.n, groups, k, p});
      out = matmul(wg, cols).reshape({g.n, out_channels, g.oh, g.ow});
    } else {
      out = Tensor::empty({g.n, out_channels, g.oh, g.ow}, x.dtype(), x.device());
      for (int64_t n0 = 0; n0 < g.n; n0 += slice) {
        const int64_t m = std::min(slice, g.n - n0);
        Geometry part = g;
        part.n = m;
        const Tensor c = im2col(x.narrow(0, n0, m), part).reshape({m, groups, k, p});
        copy_(out.narrow(0, n0, m), matmul(wg, c).reshape({m, out_channels, g.oh, g.ow}));
      }
    }
    if (bias.defined()) add_(out, bias.reshape({out_channels, 1, 1}));
  }
  if (record) {
    ag::SavedTensor scols(cols), sw(weight), sx(x);
    const bool need_x = ag::needs_grad({&x}), need_w = ag::needs_grad({&weight});
    ag::record("ConvolutionBackward0", out, {&x, &weight, &bias},
               [scols, sw, sx, g, groups, p, k, og, out_channels, cg, need_x, need_w,
                has_bias = bias.defined()](const Tensor& grad) {
                 const Tensor w = sw.get("ConvolutionBackward0");
                 const Tensor gm = grad.reshape({g.n, groups, og, p});
                 std::vector<Tensor> r(3);
                 if (has_bias) r[2] = sum(grad, std::vector<int64_t>{0, 2, 3});
                 if (ag::grad_mode_enabled()) {
                   // create_graph: differentiable ops only. dW as a convolution of x with the
                   // output gradient (so it depends on x in the graph), dx as the transposed
                   // convolution of the output gradient.
                   r[1] = weight_grad_by_conv(sx.get("ConvolutionBackward0"), grad, g, groups);
                   r[0] = input_grad_by_conv_transpose(grad, w, g, groups);
                   return r;
                 }
                 // dW = sum over images of dOut @ cols^T; dcols = W^T @ dOut, scattered by col2im.
                 if (need_w)
                   r[1] = sum(matmul(gm, scols.get("ConvolutionBackward0").transpose(2, 3)), std::vector<int64_t>{0})
                              .reshape({out_channels, cg, g.kh, g.kw});
                 if (need_x) r[0] = col2im(matmul(w.reshape({1, groups, og, k}).transpose(2, 3), gm), g);
                 return r;
               });
  }
  return out;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding, Pair dilation,
              int64_t groups) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, conv2d, x, weight, bias, stride, padding, dilation, groups);
  LAMINA_PROFILE_OP("conv2d", x, weight, bias);
  return conv2d_impl(x, weight, bias, stride, padding, dilation, groups, false);
}

Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding, Pair dilation,
                   int64_t groups) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, conv2d_relu, x, weight, bias, stride, padding, dilation,
                  groups);
  LAMINA_PROFILE_OP("conv2d_relu", x, weight, bias);
  return conv2d_impl(x, weight, bias, stride, padding, dilation, groups, true);
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation, int64_t groups) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, conv1d, x, weight, bias, stride, padding, dilation, groups);
  LAMINA_PROFILE_OP("conv1d", x, weight, bias);
  ops::check_defined(x, "conv1d");
  ops::check_defined(weight, "conv1d", "weight");
  LAMINA_CHECK(x.dim() == 3, ShapeError, "conv1d", "expects a 3-d input (N, C, L), got ", describe(x));
  LAMINA_CHECK(weight.dim() == 3, ShapeError, "conv1d", "expects a 3-d weight (O, C/groups, k), got ",
               describe(weight));
  return conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, {1, stride}, {0, padding}, {1, dilation}, groups).squeeze(2);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding,
                        Pair output_padding, int64_t groups, Pair dilation) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, conv_transpose2d, x, weight, bias, stride, padding,
                  output_padding, groups, dilation);
  LAMINA_PROFILE_OP("conv_transpose2d", x, weight, bias);
  const char* op = "conv_transpose2d";
  ops::check_defined(x, op);
  ops::check_defined(weight, op, "weight");
  LAMINA_CHECK(x.dim() == 4, ShapeError, op, "expects a 4-d input (N, C, H, W), got ", describe(x));
  LAMINA_CHECK(weight.dim() == 4, ShapeError, op, "expects a 4-d weight (C, O/groups, kH, kW), got ", describe(weight));
  LAMINA_CHECK(is_floating(x.dtype()) && weight.dtype() == x.dtype(), DTypeError, op, "input ", describe(x),
               " and weight ", describe(weight), " must share one floating dtype");
  LAMINA_CHECK(groups > 0, ConfigError, op, "groups must be positive, got ", groups);
  const int64_t n = x.shape()[0], cin = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  const int64_t og = weight.shape()[1], kh = weight.shape()[2], kw = weight.shape()[3];
  LAMINA_CHECK(weight.shape()[0] == cin, ShapeError, op, "weight ", describe(weight), " expects ", weight.shape()[0],
               " input channels, got ", describe(x));
  LAMINA_CHECK(cin % groups == 0, ConfigError, op, "in_channels ", cin, " must be divisible by groups=", groups);
  for (int i = 0; i < 2; ++i) {
    LAMINA_CHECK(stride[i] > 0 && dilation[i] > 0 && padding[i] >= 0, ConfigError, op,
                 "stride and dilation must be positive and padding non-negative");
    LAMINA_CHECK(output_padding[i] >= 0 && (output_padding[i] < stride[i] || output_padding[i] < dilation[i]),
                 ConfigError, op, "output_padding must be smaller than either stride or dilation, got ",
                 output_padding[i]);
  }
  const int64_t cout = og * groups;
  const int64_t ho = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1;
  const int64_t wo = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1;
  LAMINA_CHECK(ho > 0 && wo > 0, ShapeError, op, "the output size (", ho, ", ", wo, ") is not positive for ",
               describe(x));
  if (bias.defined())
    LAMINA_CHECK(bias.dim() == 1 && bias.shape()[0] == cout && bias.dtype() == x.dtype(), ShapeError, op,
                 "expected bias of shape (", cout, ") and dtype ", dtype_name(x.dtype()), ", got ", describe(bias));
  // The conv2d that maps the output back to x: its windows over the output are where x's
  // values are scattered.
  Geometry g{n, cout, ho, wo, kh, kw, stride, padding, dilation, h, w};
  const int64_t cg = cin / groups, k = og * kh * kw, p = h * w;
  Tensor out;
  {
    ag::NoGradGuard no_grad;
    const Tensor xm = x.reshape({n, groups, cg, p});
    const Tensor gcols = matmul(weight.reshape({1, groups, cg, k}).transpose(2, 3), xm);  // (N, G, K, P)
    out = windows_backward(gcols.reshape({n, cout, kh, kw, h, w}).permute({0, 1, 4, 5, 2, 3}), g).contiguous();
    if (bias.defined()) out = add(out, bias.reshape({cout, 1, 1}));
  }
  if (ag::needs_grad({&x, &weight, &bias})) {
    ag::SavedTensor sx(x), sw(weight);
    ag::record(
        "ConvolutionBackward0", out, {&x, &weight, &bias},
        [sx, sw, g, groups, cg, k, p, has_bias = bias.defined()](const Tensor& grad) {
          const Tensor xs = sx.get("ConvolutionBackward0"), ws = sw.get("ConvolutionBackward0");
          std::vector<Tensor> r(3);
          // dx is the conv2d of the output gradient; dW pairs x with its windows.
          const Tensor cols = windows(padded(grad, g, 0.0), g).permute({0, 1, 4, 5, 2, 3}).reshape({g.n, groups, k, p});
          r[0] = matmul(ws.reshape({1, groups, cg, k}), cols).reshape(xs.shape());
          r[1] = sum(matmul(xs.reshape({g.n, groups, cg, p}), cols.transpose(2, 3)), std::vector<int64_t>{0})
                     .reshape(ws.shape());
          if (has_bias) r[2] = sum(grad, std::vector<int64_t>{0, 2, 3});
          return r;
        });
  }
  return out;
}

Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, Pair dilation) {
  LAMINA_PROFILE_OP("max_pool2d", x);
  const char* op = "max_pool2d";
  const Geometry g = plan(x, kernel[0], kernel[1], stride, padding, dilation, op);
  for (int i = 0; i < 2; ++i)
    LAMINA_CHECK(2 * padding[i] <= kernel[i], ConfigError, op, "padding ", padding[i],
                 " should be at most half of the kernel size ", kernel[i]);
  constexpr runtime::OpId id = runtime::op_id(kernels::Op::max_pool2d);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty({g.n, g.c, g.oh, g.ow}, x.dtype(), x.device());
  const bool record = ag::needs_grad({&x});
  Tensor arg = record ? Tensor::empty({g.n, g.c, g.oh, g.ow}, Dtype::Int64, x.device()) : Tensor();
  {
    const kernels::WindowGeometry kg = kernel_geometry(g);
    const void* src = xc.data_ptr();
    void* dst = out.data_ptr();
    int64_t* at = record ? static_cast<int64_t*>(arg.data_ptr()) : nullptr;
    runtime::launch_ranges<kernels::MaxPoolKernel>(
        id, x.device(), x.dtype(), g.n * g.c, g.oh * g.ow * g.kh * g.kw,
        [&](kernels::MaxPoolKernel kernel, int64_t b, int64_t e) { kernel(kg, src, dst, at, b, e); });
  }
  if (record) {
    ag::SavedTensor sa(arg);
    ag::record("MaxPool2DWithIndicesBackward0", out, {&x}, [sa, g](const Tensor& grad) {
      const Tensor a = sa.get("MaxPool2DWithIndicesBackward0");
      if (ag::grad_mode_enabled()) {  // create_graph: a differentiable scatter
        const Tensor gx = zeros({g.n, g.c, g.h * g.w}, {grad.dtype(), grad.device()});
        return std::vector<Tensor>{
            scatter_add(gx, 2, a.reshape({g.n, g.c, g.oh * g.ow}), grad.reshape({g.n, g.c, g.oh * g.ow}))
                .reshape({g.n, g.c, g.h, g.w})};
      }
      constexpr runtime::OpId bid = runtime::op_id(kernels::Op::max_pool2d_backward);
      const Tensor gc = grad.contiguous();
      Tensor gx = Tensor::empty({g.n, g.c, g.h, g.w}, grad.dtype(), grad.device());
      const kernels::WindowGeometry kg = kernel_geometry(g);
      const void* src = gc.data_ptr();
      const int64_t* at = static_cast<const int64_t*>(a.data_ptr());
      void* dst = gx.data_ptr();
      runtime::launch_ranges<kernels::MaxPoolBackwardKernel>(
          bid, grad.device(), grad.dtype(), g.n * g.c, g.h * g.w + g.oh * g.ow,
          [&](kernels::MaxPoolBackwardKernel kernel, int64_t b, int64_t e) { kernel(kg, src, at, dst, b, e); });
      return std::vector<Tensor>{gx};
    });
  }
  return out;
}

Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, bool count_include_pad) {
  LAMINA_PROFILE_OP("avg_pool2d", x);
  const char* op = "avg_pool2d";
  const Geometry g = plan(x, kernel[0], kernel[1], stride, padding, {1, 1}, op);
  for (int i = 0; i < 2; ++i)
    LAMINA_CHECK(2 * padding[i] <= kernel[i], ConfigError, op, "padding ", padding[i],
                 " should be at most half of the kernel size ", kernel[i]);
  Tensor out, divisor;
  {
    ag::NoGradGuard no_grad;
    const std::vector<int64_t> window_dims{4, 5};
    const Tensor sums = sum(windows(padded(x, g, 0.0), g), window_dims);
    if (count_include_pad) {
      divisor = full({1}, Scalar(static_cast<double>(g.kh * g.kw)), {x.dtype(), x.device()});
    } else {
      // In-bounds elements per window: the same windows over ones padded with zeros.
      const Tensor ones_in = ones({1, 1, g.h, g.w}, {x.dtype(), x.device()});
      Geometry one = g;
      one.n = one.c = 1;
      divisor = sum(windows(padded(ones_in, one, 0.0), one), window_dims);
    }
    out = div(sums, divisor);
  }
  if (ag::needs_grad({&x})) {
    ag::SavedTensor sd(divisor);
    ag::record("AvgPool2DBackward0", out, {&x}, [sd, g](const Tensor& grad) {
      const Tensor share = div(grad, sd.get("AvgPool2DBackward0"));
      const Tensor gw = share.unsqueeze(4).unsqueeze(5).expand({g.n, g.c, g.oh, g.ow, g.kh, g.kw});
      return std::vector<Tensor>{windows_backward(gw, g)};
    });
  }
  return out;
}

Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size) {
  LAMINA_PROFILE_OP("adaptive_avg_pool2d", x);
  const char* op = "adaptive_avg_pool2d";
  ops::check_defined(x, op);
  LAMINA_CHECK(x.dim() == 4, ShapeError, op, "expects a 4-d input (N, C, H, W), got ", describe(x));
  LAMINA_CHECK(output_size[0] > 0 && output_size[1] > 0, ConfigError, op, "output size must be positive, got (",
               output_size[0], ", ", output_size[1], ")");
  const int64_t h = x.shape()[2], w = x.shape()[3], oh = output_size[0], ow = output_size[1];
  LAMINA_CHECK(h > 0 && w > 0, ShapeError, op, "expects a non-empty spatial input, got ", describe(x));
  if (h % oh == 0 && w % ow == 0) {  // equal bins: one pooling with kernel = stride
    return avg_pool2d(x, {h / oh, w / ow}, {h / oh, w / ow});
  }
  // Bin i covers [floor(i*H/oH), ceil((i+1)*H/oH)) as in PyTorch; bins may overlap.
  std::vector<Tensor> rows;
  for (int64_t i = 0; i < oh; ++i) {
    const int64_t h0 = i * h / oh, h1 = ((i + 1) * h + oh - 1) / oh;
    std::vector<Tensor> cells;
    for (int64_t j = 0; j < ow; ++j) {
      const int64_t w0 = j * w / ow, w1 = ((j + 1) * w + ow - 1) / ow;
      cells.push_back(mean(x.narrow(2, h0, h1 - h0).narrow(3, w0, w1 - w0), std::vector<int64_t>{2, 3}));
    }
    rows.push_back(stack(cells, 2));
  }
  return stack(rows, 2);
}

}  // namespace lamina

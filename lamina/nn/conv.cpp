#include "lamina/nn/conv.h"

#include <cmath>
#include <sstream>

#include "lamina/autograd/autograd.h"
#include "lamina/core/print.h"
#include "lamina/nn/init.h"
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

namespace lamina::nn {
namespace {

std::string pair_str(Pair p) {
  std::ostringstream os;  // (string concatenation here trips a GCC 12 -Wrestrict false positive)
  os << "(" << p[0] << ", " << p[1] << ")";
  return os.str();
}
// Pooling reprs print a square size as one int, as PyTorch shows what the user passed.
std::string size_str(Pair p) { return p[0] == p[1] ? std::to_string(p[0]) : pair_str(p); }

void check_conv(const char* name, int64_t in, int64_t out, Pair k, Pair s, Pair p, Pair d, int64_t groups) {
  LAMINA_CHECK(in > 0 && out > 0, ConfigError, name, "channels must be positive, got in_channels=", in,
               ", out_channels=", out);
  LAMINA_CHECK(groups > 0 && in % groups == 0 && out % groups == 0, ConfigError, name, "in_channels=", in,
               " and out_channels=", out, " must be divisible by groups=", groups);
  for (int i = 0; i < 2; ++i) {
    LAMINA_CHECK(k[i] > 0, ConfigError, name, "kernel_size must be positive, got ", pair_str(k));
    LAMINA_CHECK(s[i] > 0, ConfigError, name, "stride must be positive, got ", pair_str(s));
    LAMINA_CHECK(p[i] >= 0, ConfigError, name, "padding must be non-negative, got ", pair_str(p));
    LAMINA_CHECK(d[i] > 0, ConfigError, name, "dilation must be positive, got ", pair_str(d));
  }
}

void check_input(const char* name, const Tensor& x, int64_t rank, int64_t channels) {
  LAMINA_CHECK(x.defined(), ValueError, name, "input is undefined");
  LAMINA_CHECK(x.dim() == rank && x.shape()[1] == channels, ShapeError, name, "expected a ", rank, "-d input with ",
               channels, " channels, got ", describe(x));
}

// PyTorch's default conv init: kaiming_uniform_(a=sqrt(5)) weight, bias U(+-1/sqrt(fan_in)).
void reset_conv(Module& m, int64_t fan_in) {
  init::kaiming_uniform_(m.param("weight"), std::sqrt(5.0));
  if (m.param("bias").defined()) {
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(m.param("bias"), -bound, bound);
  }
}

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Pair k, Pair s, Pair p, Pair d, int64_t g, bool bias, Dtype dtype)
    : Module("Conv2d"),
      in_channels(in),
      out_channels(out),
      groups(g),
      kernel_size(k),
      stride(s),
      padding(p),
      dilation(d) {
  check_conv("Conv2d", in, out, k, s, p, d, g);
  LAMINA_CHECK(is_floating(dtype), ConfigError, "Conv2d", "parameters need a floating dtype");
  register_parameter("weight", empty({out, in / g, k[0], k[1]}, {dtype}));
  register_parameter("bias", bias ? empty({out}, {dtype}) : Tensor());
  reset_parameters();
}

void Conv2d::reset_parameters() { reset_conv(*this, in_channels / groups * kernel_size[0] * kernel_size[1]); }

Tensor Conv2d::forward(const Tensor& x) {
  check_input("Conv2d", x, 4, in_channels);
  return conv2d(x, param("weight"), param("bias"), stride, padding, dilation, groups);
}

Tensor Conv2d::forward_relu(const Tensor& x) {
  check_input("Conv2d", x, 4, in_channels);
  return conv2d_relu(x, param("weight"), param("bias"), stride, padding, dilation, groups);
}

std::string Conv2d::extra_repr() const {
  std::ostringstream os;
  os << in_channels << ", " << out_channels << ", kernel_size=" << pair_str(kernel_size)
     << ", stride=" << pair_str(stride);
  if (padding != Pair{0, 0}) os << ", padding=" << pair_str(padding);
  if (dilation != Pair{1, 1}) os << ", dilation=" << pair_str(dilation);
  if (groups != 1) os << ", groups=" << groups;
  if (!param("bias").defined()) os << ", bias=False";
  return os.str();
}

Conv1d::Conv1d(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d, int64_t g, bool bias, Dtype dtype)
    : Module("Conv1d"),
      in_channels(in),
      out_channels(out),
      kernel_size(k),
      stride(s),
      padding(p),
      dilation(d),
      groups(g) {
  check_conv("Conv1d", in, out, {1, k}, {1, s}, {0, p}, {1, d}, g);
  LAMINA_CHECK(is_floating(dtype), ConfigError, "Conv1d", "parameters need a floating dtype");
  register_parameter("weight", empty({out, in / g, k}, {dtype}));
  register_parameter("bias", bias ? empty({out}, {dtype}) : Tensor());
  reset_conv(*this, in / g * k);
}

Tensor Conv1d::forward(const Tensor& x) {
  check_input("Conv1d", x, 3, in_channels);
  return conv1d(x, param("weight"), param("bias"), stride, padding, dilation, groups);
}

std::string Conv1d::extra_repr() const {
  std::ostringstream os;
  os << in_channels << ", " << out_channels << ", kernel_size=(" << kernel_size << ",), stride=(" << stride << ",)";
  if (padding != 0) os << ", padding=(" << padding << ",)";
  if (dilation != 1) os << ", dilation=(" << dilation << ",)";
  if (groups != 1) os << ", groups=" << groups;
  if (!param("bias").defined()) os << ", bias=False";
  return os.str();
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, Pair k, Pair s, Pair p, Pair op, int64_t g, bool bias, Pair d,
                                 Dtype dtype)
    : Module("ConvTranspose2d"),
      in_channels(in),
      out_channels(out),
      groups(g),
      kernel_size(k),
      stride(s),
      padding(p),
      output_padding(op),
      dilation(d) {
  check_conv("ConvTranspose2d", in, out, k, s, p, d, g);
  for (int i = 0; i < 2; ++i)
    LAMINA_CHECK(op[i] >= 0 && (op[i] < s[i] || op[i] < d[i]), ConfigError, "ConvTranspose2d",
                 "output_padding must be smaller than either stride or dilation, got ", pair_str(op));
  LAMINA_CHECK(is_floating(dtype), ConfigError, "ConvTranspose2d", "parameters need a floating dtype");
  register_parameter("weight", empty({in, out / g, k[0], k[1]}, {dtype}));
  register_parameter("bias", bias ? empty({out}, {dtype}) : Tensor());
  reset_conv(*this, out / g * k[0] * k[1]);  // PyTorch's fan_in of this weight layout
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  check_input("ConvTranspose2d", x, 4, in_channels);
  return conv_transpose2d(x, param("weight"), param("bias"), stride, padding, output_padding, groups, dilation);
}

std::string ConvTranspose2d::extra_repr() const {
  std::ostringstream os;
  os << in_channels << ", " << out_channels << ", kernel_size=" << pair_str(kernel_size)
     << ", stride=" << pair_str(stride);
  if (padding != Pair{0, 0}) os << ", padding=" << pair_str(padding);
  if (dilation != Pair{1, 1}) os << ", dilation=" << pair_str(dilation);
  if (output_padding != Pair{0, 0}) os << ", output_padding=" << pair_str(output_padding);
  if (groups != 1) os << ", groups=" << groups;
  if (!param("bias").defined()) os << ", bias=False";
  return os.str();
}

MaxPool2d::MaxPool2d(Pair k, Pair s, Pair p, Pair d)
    : Module("MaxPool2d"), kernel_size(k), stride(s), padding(p), dilation(d) {
  check_conv("MaxPool2d", 1, 1, k, s, p, d, 1);
  for (int i = 0; i < 2; ++i)
    LAMINA_CHECK(2 * p[i] <= k[i], ConfigError, "MaxPool2d", "padding should be at most half of kernel_size, got ",
                 pair_str(p), " for ", pair_str(k));
}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_size, stride, padding, dilation); }

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + size_str(kernel_size) + ", stride=" + size_str(stride) + ", padding=" + size_str(padding) +
         ", dilation=" + size_str(dilation) + ", ceil_mode=False";
}

AvgPool2d::AvgPool2d(Pair k, Pair s, Pair p, bool cip)
    : Module("AvgPool2d"), kernel_size(k), stride(s), padding(p), count_include_pad(cip) {
  check_conv("AvgPool2d", 1, 1, k, s, p, {1, 1}, 1);
  for (int i = 0; i < 2; ++i)
    LAMINA_CHECK(2 * p[i] <= k[i], ConfigError, "AvgPool2d", "padding should be at most half of kernel_size, got ",
                 pair_str(p), " for ", pair_str(k));
}

Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel_size, stride, padding, count_include_pad); }

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + size_str(kernel_size) + ", stride=" + size_str(stride) + ", padding=" + size_str(padding);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Pair size) : Module("AdaptiveAvgPool2d"), output_size(size) {
  LAMINA_CHECK(size[0] > 0 && size[1] > 0, ConfigError, "AdaptiveAvgPool2d", "output_size must be positive, got ",
               pair_str(size));
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size); }

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + pair_str(output_size); }

BatchNorm::BatchNorm(const char* name, std::vector<int64_t> dims, int64_t n, double e, double m, bool a, bool track,
                     Dtype dtype)
    : Module(name),
      num_features(n),
      eps(e),
      momentum(m),
      affine(a),
      track_running_stats(track),
      input_dims(std::move(dims)) {
  register_norm_state(*this, name, n, e, m, a, track, dtype);
}

void register_norm_state(Module& module, const char* name, int64_t n, double eps, double momentum, bool affine,
                         bool track_running_stats, Dtype dtype) {
  LAMINA_CHECK(n > 0, ConfigError, name, "num_features must be positive, got ", n);
  LAMINA_CHECK(eps >= 0, ConfigError, name, "eps must be non-negative, got ", eps);
  LAMINA_CHECK(momentum >= 0 && momentum <= 1, ConfigError, name, "momentum must be in [0, 1], got ", momentum);
  LAMINA_CHECK(is_floating(dtype), ConfigError, name, "parameters need a floating dtype");
  module.register_parameter("weight", affine ? ones({n}, {dtype}) : Tensor());
  module.register_parameter("bias", affine ? zeros({n}, {dtype}) : Tensor());
  if (track_running_stats) {
    module.register_buffer("running_mean", zeros({n}, {dtype}));
    module.register_buffer("running_var", ones({n}, {dtype}));
    module.register_buffer("num_batches_tracked", zeros({}, {Dtype::Int64}));
  }
}

void BatchNorm::reset_running_stats() {
  if (!track_running_stats) return;
  autograd::NoGradGuard no_grad;
  zero_(buffer("running_mean"));
  fill_(buffer("running_var"), Scalar(1.0));
  zero_(buffer("num_batches_tracked"));
}

Tensor BatchNorm::forward(const Tensor& x) {
  LAMINA_CHECK(x.defined(), ValueError, type_name().c_str(), "input is undefined");
  bool rank_ok = false;
  for (int64_t r : input_dims) rank_ok = rank_ok || x.dim() == r;
  LAMINA_CHECK(rank_ok && x.shape()[1] == num_features, ShapeError, type_name().c_str(), "expected input with ",
               num_features, " channels and ", input_dims.size() == 1 ? "4" : "2 or 3", " dims, got ", describe(x));
  const bool use_batch = is_training() || !track_running_stats;
  Tensor rm, rv;
  if (track_running_stats) {
    rm = buffer("running_mean");
    rv = buffer("running_var");
    if (is_training()) {
      autograd::NoGradGuard no_grad;
      add_(buffer("num_batches_tracked"), Scalar(int64_t{1}));
    }
  }
  return batch_norm(x, use_batch && !is_training() ? Tensor() : rm, use_batch && !is_training() ? Tensor() : rv,
                    param("weight"), param("bias"), use_batch, momentum, eps);
}

std::string BatchNorm::extra_repr() const {
  std::ostringstream os;
  os << num_features << ", eps=" << eps << ", momentum=" << momentum << ", affine=" << (affine ? "True" : "False")
     << ", track_running_stats=" << (track_running_stats ? "True" : "False");
  return os.str();
}

}  // namespace lamina::nn

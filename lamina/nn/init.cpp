#include "lamina/nn/init.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/runtime/blas.h"

namespace lamina::nn::init {

namespace {

int64_t fan(const Tensor& t, const std::string& mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  LAMINA_CHECK(mode == "fan_in" || mode == "fan_out", ValueError, "nn.init", "mode ", mode,
               " not supported, please use one of fan_in, fan_out");
  return mode == "fan_in" ? fan_in : fan_out;
}

void check_tensor(const Tensor& t) {
  LAMINA_CHECK(t.defined(), ValueError, "nn.init", "tensor is undefined");
  LAMINA_CHECK(is_floating(t.dtype()), DTypeError, "nn.init", "needs a floating point tensor, got ",
               dtype_name(t.dtype()));
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Phi^-1(p) for p in [0, 1]: Newton's method on the CDF, kept inside a shrinking bracket.
double normal_quantile(double p) {
  if (p <= 0.0) return -std::numeric_limits<double>::infinity();
  if (p >= 1.0) return std::numeric_limits<double>::infinity();
  double lo = -40.0, hi = 40.0, x = 0.0;
  for (int i = 0; i < 200; ++i) {
    const double f = normal_cdf(x) - p;
    if (f == 0.0) break;
    (f > 0.0 ? hi : lo) = x;
    const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
    double next = pdf > 0.0 ? x - f / pdf : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (std::abs(next - x) <= 1e-15 * (1.0 + std::abs(x))) return next;
    x = next;
  }
  return x;
}

}  // namespace

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  LAMINA_CHECK(t.defined() && t.dim() >= 2, ValueError, "nn.init",
               "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

double calculate_gain(const std::string& nl, double param) {
  if (nl == "linear" || nl == "sigmoid" || nl.rfind("conv", 0) == 0) return 1.0;
  if (nl == "tanh") return 5.0 / 3.0;
  if (nl == "relu") return std::sqrt(2.0);
  if (nl == "leaky_relu") {
    double slope = param < 0 ? 0.01 : param;
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  if (nl == "selu") return 3.0 / 4.0;
  LAMINA_THROW(ValueError, "nn.init", "Unsupported nonlinearity ", nl);
}

const Tensor& uniform_(const Tensor& t, double a, double b) {
  check_tensor(t);
  LAMINA_CHECK(a <= b, ValueError, "nn.init", "uniform_ expects a <= b, got a=", a, ", b=", b);
  autograd::NoGradGuard guard;
  return lamina::uniform_(t, a, b);
}

const Tensor& normal_(const Tensor& t, double mean, double std) {
  check_tensor(t);
  LAMINA_CHECK(std >= 0, ValueError, "nn.init", "normal_ expects std >= 0, got ", std);
  autograd::NoGradGuard guard;
  return lamina::normal_(t, mean, std);
}

const Tensor& constant_(const Tensor& t, double value) {
  check_tensor(t);
  autograd::NoGradGuard guard;
  return fill_(t, value);
}

const Tensor& zeros_(const Tensor& t) { return constant_(t, 0.0); }
const Tensor& ones_(const Tensor& t) { return constant_(t, 1.0); }

const Tensor& kaiming_uniform_(const Tensor& t, double a, const std::string& mode, const std::string& nonlinearity) {
  check_tensor(t);
  double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode)));
  double bound = std::sqrt(3.0) * std;
  return init::uniform_(t, -bound, bound);
}

const Tensor& kaiming_normal_(const Tensor& t, double a, const std::string& mode, const std::string& nonlinearity) {
  check_tensor(t);
  double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode)));
  return init::normal_(t, 0.0, std);
}

const Tensor& xavier_uniform_(const Tensor& t, double gain) {
  check_tensor(t);
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  double a = std::sqrt(3.0) * gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  return init::uniform_(t, -a, a);
}

const Tensor& xavier_normal_(const Tensor& t, double gain) {
  check_tensor(t);
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return init::normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

const Tensor& trunc_normal_(const Tensor& t, double mean, double std, double a, double b) {
  check_tensor(t);
  LAMINA_CHECK(std > 0.0 && a < b, ValueError, "nn.init", "trunc_normal_ expects std > 0 and a < b, got std=", std,
               ", a=", a, ", b=", b);
  autograd::NoGradGuard guard;
  const double lo = normal_cdf((a - mean) / std), hi = normal_cdf((b - mean) / std);
  Tensor draws = rand(t.shape(), {Dtype::Float64, kCPU});
  double* v = draws.data<double>();
  for (int64_t i = 0; i < draws.numel(); ++i)
    v[i] = std::clamp(mean + std * normal_quantile(lo + (hi - lo) * v[i]), a, b);
  return copy_(t, draws);
}

const Tensor& orthogonal_(const Tensor& t, double gain) {
  check_tensor(t);
  LAMINA_CHECK(t.dim() >= 2, ValueError, "nn.init", "Only tensors with 2 or more dimensions are supported");
  if (t.numel() == 0) return t;
  autograd::NoGradGuard guard;
  const int64_t rows = t.size(0), cols = t.numel() / rows;
  const int64_t m = std::max(rows, cols), n = std::min(rows, cols);
  Tensor g = randn({rows, cols}, {Dtype::Float64, kCPU});
  // LAPACK is column-major: the row-major (rows, cols) draws are the column-major (cols, rows)
  // matrix, i.e. the transpose. Factor the tall one of the two (PyTorch transposes a wide matrix).
  std::vector<double> a(static_cast<size_t>(m * n)), r_diag(static_cast<size_t>(n));
  const double* src = g.data<double>();
  if (rows >= cols) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) a[i + j * m] = src[i * cols + j];
  } else {
    std::copy(src, src + m * n, a.begin());
  }
  runtime::qr_f64(m, n, a.data(), r_diag.data());
  double* out = g.data<double>();
  for (int64_t j = 0; j < n; ++j) {
    const double s = gain * (r_diag[j] > 0.0 ? 1.0 : r_diag[j] < 0.0 ? -1.0 : 0.0);
    for (int64_t i = 0; i < m; ++i) a[i + j * m] *= s;
  }
  if (rows >= cols) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) out[i * cols + j] = a[i + j * m];
  } else {
    std::copy(a.begin(), a.end(), out);
  }
  return copy_(t, g.view(t.shape()));
}

}  // namespace lamina::nn::init

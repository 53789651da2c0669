#include "lamina/nn/rectifiers.h"

#include "lamina/core/print.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"

namespace lamina::nn {

namespace functional {

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return where(gt(x, Scalar(0.0)), x, mul(x, Scalar(negative_slope)));
}

// The negative branch sees min(x, 0), so a large positive x cannot overflow exp and poison the
// gradient that where() sends to the branch it did not pick.
Tensor elu(const Tensor& x, double alpha) {
  return where(gt(x, Scalar(0.0)), x, mul(expm1(minimum(x, zeros({}, {x.dtype(), x.device()}))), Scalar(alpha)));
}

Tensor celu(const Tensor& x, double alpha) {
  LAMINA_CHECK(alpha != 0.0, ConfigError, "celu", "alpha must not be 0 for the CELU formulation");
  Tensor neg_part = div(minimum(x, zeros({}, {x.dtype(), x.device()})), Scalar(alpha));
  return where(gt(x, Scalar(0.0)), x, mul(expm1(neg_part), Scalar(alpha)));
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  const int64_t n = weight.numel();
  Tensor w = weight;
  if (n != 1) {
    const int64_t channels = x.dim() >= 2 ? x.shape()[1] : 1;  // below 2-D there is no channel dim
    LAMINA_CHECK(weight.dim() == 1 && channels == n, ShapeError, "prelu", "weight of ", n,
                 " values does not match the ", channels, " channels of input ", describe(x));
    std::vector<int64_t> shape(static_cast<size_t>(x.dim() - 1), 1);
    shape[0] = n;
    w = weight.reshape(shape);
  } else {
    w = weight.reshape(std::vector<int64_t>{});
  }
  return where(gt(x, Scalar(0.0)), x, mul(x, w));
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  LAMINA_CHECK(max_val >= min_val, ConfigError, "hardtanh", "max_val (", max_val, ") must not be below min_val (",
               min_val, ")");
  return clamp(x, Scalar(min_val), Scalar(max_val));
}

Tensor relu6(const Tensor& x) { return hardtanh(x, 0.0, 6.0); }

Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (beta == 1.0 && threshold == 20.0) return lamina::softplus(x);
  Tensor bx = mul(x, Scalar(beta));
  return where(gt(bx, Scalar(threshold)), x, div(lamina::softplus(bx), Scalar(beta)));
}

Tensor logsigmoid(const Tensor& x) { return neg(lamina::softplus(neg(x))); }

Tensor softsign(const Tensor& x) { return div(x, add(abs(x), Scalar(1.0))); }

}  // namespace functional

LeakyReLU::LeakyReLU(double slope) : Module("LeakyReLU"), negative_slope(slope) {}
Tensor LeakyReLU::forward(const Tensor& x) { return functional::leaky_relu(x, negative_slope); }
std::string LeakyReLU::extra_repr() const { return "negative_slope=" + format_float(negative_slope); }

ELU::ELU(double a) : Module("ELU"), alpha(a) {}
Tensor ELU::forward(const Tensor& x) { return functional::elu(x, alpha); }
std::string ELU::extra_repr() const { return "alpha=" + format_float(alpha); }

CELU::CELU(double a) : Module("CELU"), alpha(a) {
  LAMINA_CHECK(alpha != 0.0, ConfigError, "CELU", "alpha must not be 0 for the CELU formulation");
}
Tensor CELU::forward(const Tensor& x) { return functional::celu(x, alpha); }
std::string CELU::extra_repr() const { return "alpha=" + format_float(alpha); }

Tensor SELU::forward(const Tensor& x) { return selu(x); }

PReLU::PReLU(int64_t n, double init, Dtype dtype) : Module("PReLU"), num_parameters(n) {
  LAMINA_CHECK(n >= 1, ConfigError, "PReLU", "num_parameters must be positive, got ", n);
  LAMINA_CHECK(is_floating(dtype), ConfigError, "PReLU", "parameters need a floating dtype, got ", dtype_name(dtype));
  register_parameter("weight", full({n}, Scalar(init), {dtype}));
}
Tensor PReLU::forward(const Tensor& x) { return functional::prelu(x, param("weight")); }
std::string PReLU::extra_repr() const { return "num_parameters=" + std::to_string(num_parameters); }

Hardtanh::Hardtanh(double lo, double hi) : Module("Hardtanh"), min_val(lo), max_val(hi) {
  LAMINA_CHECK(max_val >= min_val, ConfigError, "Hardtanh", "max_val (", max_val, ") must not be below min_val (",
               min_val, ")");
}
Tensor Hardtanh::forward(const Tensor& x) { return functional::hardtanh(x, min_val, max_val); }
std::string Hardtanh::extra_repr() const {
  return "min_val=" + format_float(min_val) + ", max_val=" + format_float(max_val);
}

Tensor ReLU6::forward(const Tensor& x) { return functional::relu6(x); }
Tensor Hardswish::forward(const Tensor& x) { return hardswish(x); }
Tensor Hardsigmoid::forward(const Tensor& x) { return hardsigmoid(x); }
Tensor Mish::forward(const Tensor& x) { return mish(x); }

Softplus::Softplus(double b, double t) : Module("Softplus"), beta(b), threshold(t) {}
Tensor Softplus::forward(const Tensor& x) { return functional::softplus(x, beta, threshold); }
std::string Softplus::extra_repr() const {
  return "beta=" + format_float(beta) + ", threshold=" + format_float(threshold);
}

Tensor LogSigmoid::forward(const Tensor& x) { return functional::logsigmoid(x); }
Tensor Softsign::forward(const Tensor& x) { return functional::softsign(x); }

}  // namespace lamina::nn

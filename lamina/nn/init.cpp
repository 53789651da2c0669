#include "lamina/nn/init.h"

#include <cmath>

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"

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

}  // namespace lamina::nn::init

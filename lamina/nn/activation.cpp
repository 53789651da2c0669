#include "lamina/nn/activation.h"

#include "lamina/autograd/autograd.h"
#include "lamina/core/print.h"
#include "lamina/ops/autocast.h"
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

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

GELU::GELU(std::string approx) : Module("GELU"), approximate(std::move(approx)) {
  LAMINA_CHECK(approximate == "none" || approximate == "tanh", ConfigError, "GELU",
               "approximate must be 'none' or 'tanh', got '", approximate, "'");
}
Tensor GELU::forward(const Tensor& x) { return gelu(x, approximate); }
std::string GELU::extra_repr() const { return "approximate='" + approximate + "'"; }

Tensor SiLU::forward(const Tensor& x) { return silu(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

Softmax::Softmax(int64_t d) : Module("Softmax"), dim(d) {}
Tensor Softmax::forward(const Tensor& x) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, forward, x);
  return softmax(x, dim);
}
std::string Softmax::extra_repr() const { return "dim=" + std::to_string(dim); }

LogSoftmax::LogSoftmax(int64_t d) : Module("LogSoftmax"), dim(d) {}
Tensor LogSoftmax::forward(const Tensor& x) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, forward, x);
  return log_softmax(x, dim);
}
std::string LogSoftmax::extra_repr() const { return "dim=" + std::to_string(dim); }

Flatten::Flatten(int64_t start, int64_t end) : Module("Flatten"), start_dim(start), end_dim(end) {}
Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_dim, end_dim); }
std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

Tensor Identity::forward(const Tensor& x) { return x; }

}  // namespace lamina::nn

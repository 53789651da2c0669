#include "lamina/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "lamina/autograd/autograd.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"

namespace lamina::autograd {
namespace {

// Element i (row-major) of a tensor as double, and writing it.
double get(const Tensor& t, int64_t i) { return t.reshape({-1}).select(0, i).item<double>(); }

void put(const Tensor& t, int64_t i, double v) {
  NoGradGuard no_grad;
  Tensor flat = t.view({-1});
  fill_(flat.select(0, i), Scalar(v));
}

}  // namespace

std::string gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& inputs,
                      const GradcheckOptions& options) {
  std::vector<size_t> checked;
  for (size_t k = 0; k < inputs.size(); ++k)
    if (inputs[k].defined() && requires_grad(inputs[k])) {
      LAMINA_CHECK(inputs[k].is_contiguous(), ValueError, "gradcheck", "input ", k,
                   " must be contiguous (it is perturbed in place through a flat view)");
      checked.push_back(k);
    }
  LAMINA_CHECK(!checked.empty(), ValueError, "gradcheck", "no input requires grad");
  const Tensor out = fn(inputs);
  LAMINA_CHECK(requires_grad(out), ValueError, "gradcheck", "the function's output does not require grad");
  const int64_t n_out = out.numel();
  std::vector<Tensor> wrt;
  for (size_t k : checked) wrt.push_back(inputs[k]);
  // Analytic Jacobian rows: one backward per output element, seeded with a one-hot gradient.
  std::vector<std::vector<Tensor>> analytic;
  for (int64_t j = 0; j < n_out; ++j) {
    Tensor seed = zeros(out.shape(), {out.dtype(), out.device()});
    put(seed, j, 1.0);
    std::vector<Tensor> g = grad({fn(inputs)}, wrt, {seed}, false, false, true);
    analytic.push_back(g);
  }
  for (size_t c = 0; c < checked.size(); ++c) {
    const Tensor& x = inputs[checked[c]];
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double original = get(x, i);
      Tensor plus, minus;
      {
        NoGradGuard no_grad;
        put(x, i, original + options.eps);
        plus = fn(inputs).to(Dtype::Float64).clone();
        put(x, i, original - options.eps);
        minus = fn(inputs).to(Dtype::Float64).clone();
        put(x, i, original);
      }
      for (int64_t j = 0; j < n_out; ++j) {
        const double numeric = (get(plus, j) - get(minus, j)) / (2 * options.eps);
        const Tensor& a = analytic[static_cast<size_t>(j)][c];
        const double value = a.defined() ? get(a, i) : 0.0;
        if (!(std::abs(value - numeric) <= options.atol + options.rtol * std::abs(numeric))) {
          std::ostringstream os;
          os << "Jacobian mismatch for output " << j << " with respect to input " << checked[c] << " element " << i
             << ": analytic " << value << ", numerical " << numeric;
          return os.str();
        }
      }
    }
  }
  return "";
}

}  // namespace lamina::autograd

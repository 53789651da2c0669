// Autograd: engine behaviour and every differentiable op's gradient against float64 central
// differences (gradcheck).
#include <gtest/gtest.h>

#include "lamina/lamina.h"

using namespace lamina;
namespace ag = lamina::autograd;

namespace {

// A float64 leaf that requires grad, values in [lo, hi).
Tensor leaf(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  Tensor t = add(mul(rand(shape, {Dtype::Float64, kCPU}), Scalar(hi - lo)), Scalar(lo));
  ag::set_requires_grad(t);
  return t;
}

void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& inputs,
                      const char* what, const ag::GradcheckOptions& options = {}) {
  const std::string report = ag::gradcheck(fn, inputs, options);
  EXPECT_TRUE(report.empty()) << what << ": " << report;
}

}  // namespace

TEST(Autograd, BackwardAccumulatesIntoLeaves) {
  Tensor x = leaf({3});
  Tensor y = sum(mul(x, x));
  ag::backward({y});
  const Tensor expected = mul(x, Scalar(2.0));
  EXPECT_TRUE(ag::grad(x).defined());
  EXPECT_LT(amax(abs(sub(ag::grad(x), expected))).item<double>(), 1e-12);
  ag::backward({sum(mul(x, x))});  // a second graph: gradients add up
  EXPECT_LT(amax(abs(sub(ag::grad(x), mul(expected, Scalar(2.0))))).item<double>(), 1e-12);
  EXPECT_TRUE(ag::is_leaf(x));
  EXPECT_FALSE(ag::is_leaf(y));
  EXPECT_EQ(ag::grad_fn(y)->name(), "SumBackward1");
}

TEST(Autograd, NonScalarNeedsAGradientAndGraphIsFreed) {
  Tensor x = leaf({2, 2});
  Tensor y = mul(x, Scalar(3.0));
  EXPECT_THROW(ag::backward({y}), ValueError);
  Tensor z = sum(exp(x));
  ag::backward({z});
  EXPECT_THROW(ag::backward({z}), ValueError);  // saved tensors were freed
  Tensor w = sum(exp(x));
  ag::backward({w}, {}, true);
  EXPECT_NO_THROW(ag::backward({w}));  // retain_graph kept them
}

TEST(Autograd, NoGradAndDetach) {
  Tensor x = leaf({4});
  {
    ag::NoGradGuard no_grad;
    EXPECT_FALSE(ag::requires_grad(mul(x, x)));
    ag::EnableGradGuard enable;
    EXPECT_TRUE(ag::requires_grad(mul(x, x)));
  }
  EXPECT_FALSE(ag::requires_grad(ag::detach(x)));
  EXPECT_EQ(ag::detach(x).data_ptr(), x.data_ptr());
}

TEST(Autograd, InPlaceModificationOfSavedTensorIsAnError) {
  Tensor x = leaf({3});
  Tensor a = mul(x, Scalar(1.0));
  Tensor b = exp(a);  // saves its output
  mul_(b, Scalar(2.0));
  EXPECT_THROW(ag::backward({sum(b)}), ValueError);
  EXPECT_THROW(add_(x, Scalar(1.0)), ValueError);  // a leaf that requires grad
}

TEST(Autograd, InPlaceOnNonLeafIsRecorded) {
  Tensor x = leaf({3});
  Tensor a = mul(x, Scalar(2.0));
  mul_(a, x);  // a = 2x * x
  ag::backward({sum(a)});
  EXPECT_LT(amax(abs(sub(ag::grad(x), mul(x, Scalar(4.0))))).item<double>(), 1e-12);
}

TEST(Autograd, GradFunctionHooksAndRetainGrad) {
  Tensor x = leaf({3});
  Tensor h = mul(x, Scalar(2.0));
  ag::retain_grad(h);
  ag::register_hook(h, [](const Tensor& g) { return mul(g, Scalar(10.0)); });
  Tensor y = sum(mul(h, h));
  std::vector<Tensor> g = ag::grad({y}, {x}, {}, true);
  EXPECT_LT(amax(abs(sub(g[0], mul(x, Scalar(80.0))))).item<double>(), 1e-10);
  EXPECT_FALSE(ag::grad(x).defined());  // grad() leaves .grad alone
  ag::backward({y});
  EXPECT_LT(amax(abs(sub(ag::grad(h), mul(h, Scalar(20.0))))).item<double>(), 1e-10);
}

TEST(Gradcheck, ElementwiseOps) {
  manual_seed(1);
  const Tensor a = leaf({2, 3}), b = leaf({3}), pos = leaf({2, 3}, 0.5, 2.0), unit = leaf({2, 3}, -0.9, 0.9);
  using V = const std::vector<Tensor>&;
  expect_gradcheck([](V t) { return add(t[0], t[1]); }, {a, b}, "add broadcast");
  expect_gradcheck([](V t) { return sub(t[0], t[1]); }, {a, b}, "sub");
  expect_gradcheck([](V t) { return mul(t[0], t[1]); }, {a, b}, "mul");
  expect_gradcheck([](V t) { return div(t[0], t[1]); }, {a, pos}, "div");
  expect_gradcheck([](V t) { return pow(t[0], t[1]); }, {pos, a}, "pow");
  expect_gradcheck([](V t) { return maximum(t[0], t[1]); }, {a, b}, "maximum");
  expect_gradcheck([](V t) { return minimum(t[0], t[1]); }, {a, b}, "minimum");
  expect_gradcheck([](V t) { return atan2(t[0], t[1]); }, {a, pos}, "atan2");
  expect_gradcheck([](V t) { return where(gt(t[0], Scalar(0)), t[0], t[1]); }, {a, b}, "where");
  expect_gradcheck([](V t) { return clamp(t[0], Scalar(-0.3), Scalar(0.4)); }, {a}, "clamp");
  for (const char* name : {"neg", "abs", "square", "exp", "exp2", "expm1", "sin", "cos", "tan", "atan", "sinh", "cosh",
                           "tanh", "erf", "sigmoid", "relu", "silu", "softplus", "gelu"}) {
    const std::string n(name);
    expect_gradcheck(
        [n](V t) {
          if (n == "neg") return neg(t[0]);
          if (n == "abs") return abs(t[0]);
          if (n == "square") return square(t[0]);
          if (n == "exp") return exp(t[0]);
          if (n == "exp2") return exp2(t[0]);
          if (n == "expm1") return expm1(t[0]);
          if (n == "sin") return sin(t[0]);
          if (n == "cos") return cos(t[0]);
          if (n == "tan") return tan(t[0]);
          if (n == "atan") return atan(t[0]);
          if (n == "sinh") return sinh(t[0]);
          if (n == "cosh") return cosh(t[0]);
          if (n == "tanh") return tanh(t[0]);
          if (n == "erf") return erf(t[0]);
          if (n == "sigmoid") return sigmoid(t[0]);
          if (n == "relu") return relu(t[0]);
          if (n == "silu") return silu(t[0]);
          if (n == "softplus") return softplus(t[0]);
          return gelu(t[0]);
        },
        {a}, name);
  }
  expect_gradcheck([](V t) { return gelu(t[0], "tanh"); }, {a}, "gelu tanh");
  for (const char* name : {"log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal"}) {
    const std::string n(name);
    expect_gradcheck(
        [n](V t) {
          if (n == "log") return log(t[0]);
          if (n == "log2") return log2(t[0]);
          if (n == "log10") return log10(t[0]);
          if (n == "log1p") return log1p(t[0]);
          if (n == "sqrt") return sqrt(t[0]);
          if (n == "rsqrt") return rsqrt(t[0]);
          return reciprocal(t[0]);
        },
        {pos}, name);
  }
  expect_gradcheck([](V t) { return asin(t[0]); }, {unit}, "asin");
  expect_gradcheck([](V t) { return acos(t[0]); }, {unit}, "acos");
  // Through float32 the differences are only float32-accurate: a coarser step and tolerance.
  expect_gradcheck([](V t) { return t[0].to(Dtype::Float32).to(Dtype::Float64); }, {a}, "cast round trip",
                   {1e-2, 1e-3, 1e-3});
}

TEST(Gradcheck, ReductionsAndScans) {
  manual_seed(2);
  const Tensor x = leaf({3, 4}), pos = leaf({3, 4}, 0.5, 1.5);
  using V = const std::vector<Tensor>&;
  expect_gradcheck([](V t) { return sum(t[0]); }, {x}, "sum");
  expect_gradcheck([](V t) { return sum(t[0], std::vector<int64_t>{1}); }, {x}, "sum dim");
  expect_gradcheck([](V t) { return mean(t[0], std::vector<int64_t>{0}, true); }, {x}, "mean keepdim");
  expect_gradcheck([](V t) { return prod(t[0], std::vector<int64_t>{1}); }, {x}, "prod");
  expect_gradcheck([](V t) { return amax(t[0], std::vector<int64_t>{1}); }, {x}, "amax");
  expect_gradcheck([](V t) { return amin(t[0]); }, {x}, "amin");
  expect_gradcheck([](V t) { return max(t[0], 1).values; }, {x}, "max dim");
  expect_gradcheck([](V t) { return min(t[0], 0, true).values; }, {x}, "min dim keepdim");
  expect_gradcheck([](V t) { return var(t[0], std::vector<int64_t>{1}); }, {x}, "var");
  expect_gradcheck([](V t) { return lamina::std(t[0], std::vector<int64_t>{0}, 0.0); }, {x}, "std");
  expect_gradcheck([](V t) { return logsumexp(t[0], std::vector<int64_t>{1}); }, {x}, "logsumexp");
  expect_gradcheck([](V t) { return norm(t[0], 2.0); }, {x}, "norm 2");
  expect_gradcheck([](V t) { return norm(t[0], 3.0, std::vector<int64_t>{1}); }, {pos}, "norm 3");
  expect_gradcheck([](V t) { return softmax(t[0], 1); }, {x}, "softmax");
  expect_gradcheck([](V t) { return log_softmax(t[0], 0); }, {x}, "log_softmax");
  expect_gradcheck([](V t) { return cumsum(t[0], 1); }, {x}, "cumsum");
  expect_gradcheck([](V t) { return cumprod(t[0], 1); }, {x}, "cumprod");
  Tensor with_zero = leaf({5});
  {
    ag::NoGradGuard no_grad;
    fill_(with_zero.select(0, 2), Scalar(0.0));
  }
  expect_gradcheck([](V t) { return prod(t[0]); }, {with_zero}, "prod with a zero");
  expect_gradcheck([](V t) { return cumprod(t[0], 0); }, {with_zero}, "cumprod with a zero");
}

TEST(Gradcheck, ViewsIndexingJoinsAndMatmul) {
  manual_seed(3);
  const Tensor x = leaf({3, 4}), y = leaf({4, 2}), v = leaf({4}), b3 = leaf({2, 3, 4}), c3 = leaf({2, 4, 2});
  using V = const std::vector<Tensor>&;
  expect_gradcheck([](V t) { return t[0].t(); }, {x}, "t");
  expect_gradcheck([](V t) { return t[0].reshape({2, 6}); }, {x}, "reshape");
  expect_gradcheck([](V t) { return t[0].t().reshape({12}); }, {x}, "reshape of a transposed view (copies)");
  expect_gradcheck([](V t) { return t[0].permute({2, 0, 1}); }, {b3}, "permute");
  expect_gradcheck([](V t) { return t[0].slice(1, 3, 0, -2); }, {x}, "negative-step slice");
  expect_gradcheck([](V t) { return t[0].select(0, -1); }, {x}, "select");
  expect_gradcheck([](V t) { return t[0].narrow(1, 1, 2); }, {x}, "narrow");
  expect_gradcheck([](V t) { return t[0].unsqueeze(1).expand({3, 2, 4}); }, {x}, "expand");
  expect_gradcheck([](V t) { return t[0].diagonal(); }, {x}, "diagonal");
  expect_gradcheck([](V t) { return t[0].flatten(); }, {b3}, "flatten");
  expect_gradcheck([](V t) { return matmul(t[0], t[1]); }, {x, y}, "matmul");
  expect_gradcheck([](V t) { return matmul(t[0], t[1]); }, {b3, c3}, "batched matmul");
  expect_gradcheck([](V t) { return matmul(t[0], t[1]); }, {b3, y}, "broadcast matmul");
  expect_gradcheck([](V t) { return matmul(t[0], t[1]); }, {x, v}, "matrix @ vector");
  expect_gradcheck([](V t) { return dot(t[0], t[1]); }, {v, v}, "dot");
  expect_gradcheck([](V t) { return mm(t[0], t[0].t()); }, {x}, "mm with itself");
  expect_gradcheck([](V t) { return cat({t[0], t[1].t()}, 0); }, {x, y}, "cat");
  expect_gradcheck([](V t) { return stack({t[0], t[0]}, 1); }, {x}, "stack");
  const Tensor idx = tensor<int64_t>({2, 0, 2});
  expect_gradcheck([idx](V t) { return index_select(t[0], 1, idx); }, {x}, "index_select (repeated)");
  expect_gradcheck([idx](V t) { return index(t[0], {Slice{}, idx}); }, {x}, "advanced index");
  expect_gradcheck([](V t) { return index(t[0], {int64_t{1}, Slice{1, std::nullopt, 2}}); }, {x}, "basic index");
  const Tensor gidx = tensor<int64_t>({0, 2, 1, 1, 0, 3}, {3, 2});
  expect_gradcheck([gidx](V t) { return gather(t[0], 1, gidx); }, {x}, "gather");
  expect_gradcheck([](V t) { return einsum("ij,jk->ik", {t[0], t[1]}); }, {x, y}, "einsum");
}

TEST(Gradcheck, JoinsSortsAndScatters) {
  manual_seed(9);
  const Tensor x = leaf({3, 4}), s = leaf({3, 2});
  const Tensor idx = tensor<int64_t>({0, 3, 2, 2, 1, 0}, {3, 2});
  using V = const std::vector<Tensor>&;
  expect_gradcheck([](V t) { return pad(t[0], {1, 2, 0, 1}); }, {x}, "constant pad");
  expect_gradcheck([](V t) { return pad(t[0], {-1, 1}); }, {x}, "cropping pad");
  for (const char* mode : {"reflect", "replicate", "circular"}) {
    const std::string m(mode);
    expect_gradcheck([m](V t) { return pad(t[0].unsqueeze(0), {2, 1}, m); }, {x}, mode);
  }
  expect_gradcheck([](V t) { return sort(t[0], 1).values; }, {x}, "sort");
  expect_gradcheck([](V t) { return sort(t[0], 0, true).values; }, {x}, "sort descending");
  expect_gradcheck([](V t) { return topk(t[0], 2, 1).values; }, {x}, "topk");
  expect_gradcheck([](V t) { return flip(t[0], {0, 1}); }, {x}, "flip");
  expect_gradcheck([](V t) { return roll(t[0], {1, -2}, {0, 1}); }, {x}, "roll");
  expect_gradcheck([](V t) { return tril(t[0], 1); }, {x}, "tril");
  expect_gradcheck([](V t) { return triu(t[0]); }, {x}, "triu");
  expect_gradcheck([](V t) { return repeat(t[0], {2, 1, 2}); }, {x}, "repeat");
  expect_gradcheck([](V t) { return masked_fill(t[0], gt(t[0], Scalar(0)), Scalar(0.5)); }, {x}, "masked_fill");
  // scatter with repeated indices keeps one write (which is unspecified, as in PyTorch): unique ones here.
  const Tensor unique = tensor<int64_t>({0, 3, 2, 1, 1, 0}, {3, 2});
  expect_gradcheck([unique](V t) { return scatter(t[0], 1, unique, t[1]); }, {x, s}, "scatter");
  expect_gradcheck([unique](V t) { return scatter(t[0], 1, unique, Scalar(0.5)); }, {x}, "scatter of a scalar");
  expect_gradcheck([idx](V t) { return scatter_add(t[0], 1, idx, t[1]); }, {x, s}, "scatter_add");
  expect_gradcheck([idx](V t) { return take_along_dim(t[0], idx, 1); }, {x}, "take_along_dim");
  expect_gradcheck([](V t) { return split(t[0], 3, 1)[1]; }, {x}, "split");
  expect_gradcheck([](V t) { return unbind(t[0], 1)[2]; }, {x}, "unbind");
  expect_gradcheck([](V t) { return movedim(t[0], {0}, {1}); }, {x}, "movedim");
}

TEST(Gradcheck, IndexPutAndInPlaceScatters) {
  manual_seed(10);
  const Tensor x = leaf({3, 4}), v = leaf({2}), v1 = leaf({1});
  const Tensor rows = tensor<int64_t>({2, 0});
  using V = const std::vector<Tensor>&;
  expect_gradcheck([rows](V t) { return index_put(t[0], {rows, Slice{1, 2}}, t[1].unsqueeze(1), false); }, {x, v},
                   "index_put");
  expect_gradcheck([rows](V t) { return index_put(t[0], {rows}, t[1].unsqueeze(1), true); }, {x, v}, "index_put accumulate");
  expect_gradcheck([](V t) { return index_put(t[0], {int64_t{1}}, t[1], false); }, {x, v1}, "index_put basic, broadcast");
  expect_gradcheck(
      [](V t) {
        Tensor y = mul(t[0], Scalar(1.0));
        index_put_(y, {gt(t[0], Scalar(0.2))}, Scalar(0.0));
        return y;
      },
      {x}, "masked index_put_ on a non-leaf");
}

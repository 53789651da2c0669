// The Highway (cpu_simd) kernels agree with the portable (cpu_scalar) ones.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "lamina/lamina.h"
#include "lamina/runtime/blas.h"

using namespace lamina;

namespace {

template <class F>
std::pair<Tensor, Tensor> both_backends(F f) {
  runtime::set_backend("cpu_scalar");
  Tensor scalar = f();
  runtime::set_backend("cpu_simd");
  Tensor simd = f();
  return {scalar.to(Dtype::Float64).contiguous(), simd.to(Dtype::Float64).contiguous()};
}

void expect_close(const Tensor& a, const Tensor& b, double ulps) {
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) {
    double x = a.data<double>()[i], y = b.data<double>()[i];
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(y)) << i;
      continue;
    }
    EXPECT_NEAR(x, y, std::fabs(x) * ulps * 1.2e-7 + 1e-30) << "element " << i;
  }
}

}  // namespace

TEST(Simd, ReportsTarget) { EXPECT_FALSE(runtime::simd_target_name().empty()); }

TEST(Simd, BinaryMatchesScalarExactly) {
  for (int64_t n : {1, 7, 33, 1003}) {
    manual_seed(static_cast<uint64_t>(n));
    for (Dtype dt : {Dtype::Float32, Dtype::Float64}) {
      Tensor a = randn({n}, {dt}), b = add(rand({n}, {dt}), Scalar(0.5));
      for (auto op : {+[](const Tensor& x, const Tensor& y) { return add(x, y); },
                      +[](const Tensor& x, const Tensor& y) { return sub(x, y); },
                      +[](const Tensor& x, const Tensor& y) { return mul(x, y); },
                      +[](const Tensor& x, const Tensor& y) { return div(x, y); }}) {
        auto [s, v] = both_backends([&] { return op(a, b); });
        expect_close(s, v, 0);
        auto [s2, v2] = both_backends([&] { return op(a, scalar_tensor(Scalar(1.25), dt)); });  // scalar operand
        expect_close(s2, v2, 0);
      }
    }
  }
}

TEST(Simd, StridedFallsBackCorrectly) {
  Tensor a = randn({17, 9});
  Tensor t = a.t();  // non-contiguous rows
  auto [s, v] = both_backends([&] { return add(t, t); });
  expect_close(s, v, 0);
  auto [s2, v2] = both_backends([&] { return exp(t); });
  expect_close(s2, v2, 4);
}

TEST(Simd, UnaryWithinFewUlp) {
  Tensor x = mul(randn({1003}), Scalar(3.0));
  Tensor pos = add(abs(x), Scalar(0.01));
  struct Case {
    std::function<Tensor()> f;
    double ulps;
  };
  std::vector<Case> cases = {{[&] { return neg(x); }, 0},      {[&] { return abs(x); }, 0},
                             {[&] { return relu(x); }, 0},     {[&] { return sqrt(pos); }, 0},
                             {[&] { return exp(x); }, 4},      {[&] { return log(pos); }, 4},
                             {[&] { return tanh(x); }, 8},     {[&] { return sigmoid(x); }, 8},
                             {[&] { return exp(x.to(Dtype::Float64)); }, 4}};
  for (auto& c : cases) {
    auto [s, v] = both_backends(c.f);
    expect_close(s, v, c.ulps);
  }
}

TEST(Simd, NanAndInfinity) {
  Tensor x = tensor<float>({NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.0f, NAN});
  for (auto f : {+[](const Tensor& t) { return relu(t); }, +[](const Tensor& t) { return exp(t); },
                 +[](const Tensor& t) { return add(t, t); }, +[](const Tensor& t) { return abs(t); }}) {
    auto [s, v] = both_backends([&] { return f(x); });
    for (int64_t i = 0; i < s.numel(); ++i) {
      double a = s.data<double>()[i], b = v.data<double>()[i];
      EXPECT_TRUE((std::isnan(a) && std::isnan(b)) || a == b) << i << ": " << a << " vs " << b;
    }
  }
}

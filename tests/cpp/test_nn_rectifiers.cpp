// Activations with settings, instance norm, channel dropout and padding layers through the C++ API:
// values against closed forms, gradients by finite differences, reprs and typed errors.
#include <gtest/gtest.h>

#include <cmath>

#include "lamina/lamina.h"
#include "lamina/nn/nn.h"

using namespace lamina;

namespace {
const TensorOptions kF64{Dtype::Float64, kCPU};
}

TEST(NnRectifiers, ValuesAndGradients) {
  manual_seed(4);
  Tensor x = mul(randn({3, 4}, kF64), Scalar(3.0));
  nn::LeakyReLU leaky(0.2);
  nn::ELU elu(0.7);
  nn::PReLU prelu(4, 0.3, Dtype::Float64);
  Tensor lr = leaky.forward(x), el = elu.forward(x), pr = prelu.forward(x);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      const double v = x.select(0, i).select(0, j).item<double>();
      EXPECT_DOUBLE_EQ(lr.select(0, i).select(0, j).item<double>(), v > 0 ? v : 0.2 * v);
      EXPECT_NEAR(el.select(0, i).select(0, j).item<double>(), v > 0 ? v : 0.7 * std::expm1(v), 1e-14);
      EXPECT_DOUBLE_EQ(pr.select(0, i).select(0, j).item<double>(), v > 0 ? v : 0.3 * v);
    }
  autograd::set_requires_grad(x);
  using V = const std::vector<Tensor>&;
  for (auto fn : std::vector<std::function<Tensor(V)>>{
           [](V t) { return nn::functional::elu(t[0], 0.5); }, [](V t) { return nn::functional::celu(t[0], 2.0); },
           [](V t) { return nn::functional::softplus(t[0], 2.0, 3.0); },
           [](V t) { return nn::functional::logsigmoid(t[0]); }, [](V t) { return nn::functional::softsign(t[0]); },
           [](V t) { return selu(t[0]); }, [](V t) { return mish(t[0]); }}) {
    const std::string report = autograd::gradcheck(fn, {x});
    EXPECT_TRUE(report.empty()) << report;
  }
  EXPECT_EQ(leaky.repr(), "LeakyReLU(negative_slope=0.2)");
  EXPECT_EQ(prelu.repr(), "PReLU(num_parameters=4)");
  EXPECT_THROW(prelu.forward(randn({3, 5}, kF64)), ShapeError);
  EXPECT_THROW(nn::CELU(0.0), ConfigError);
  EXPECT_THROW(nn::Hardtanh(1.0, -1.0), ConfigError);
}

TEST(NnRectifiers, InstanceNormChannelDropoutAndPadding) {
  manual_seed(5);
  nn::InstanceNorm2d norm(3, 1e-5, 0.1, true, true, Dtype::Float64);
  Tensor x = randn({2, 3, 4, 5}, kF64);
  Tensor y = norm.forward(x);
  Tensor m = mean(y, std::vector<int64_t>{2, 3});
  EXPECT_LT(amax(abs(m)).item<double>(), 1e-12);  // each (sample, channel) normalized on its own
  EXPECT_GT(amax(abs(norm.buffer("running_mean"))).item<double>(), 0.0);
  EXPECT_EQ(norm.repr(), "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  EXPECT_THROW(norm.forward(randn({2, 4, 4, 5}, kF64)), ShapeError);
  EXPECT_THROW(nn::InstanceNorm1d(0), ConfigError);

  nn::Dropout2d drop(0.5);
  Tensor d = drop.forward(ones({4, 8, 3, 3}));
  Tensor per_channel = amax(d, std::vector<int64_t>{2, 3});
  Tensor low = amin(d, std::vector<int64_t>{2, 3});
  EXPECT_EQ(amax(abs(sub(per_channel, low))).item<double>(), 0.0);  // whole channels kept or dropped
  EXPECT_THROW(drop.forward(ones({4, 8})), ShapeError);

  nn::Pad reflect("ReflectionPad2d", 2, {1, 1, 2, 0}, "reflect");
  EXPECT_EQ(reflect.forward(randn({1, 2, 3, 3})).shape(), Shape({1, 2, 5, 5}));
  EXPECT_EQ(reflect.repr(), "ReflectionPad2d((1, 1, 2, 0))");
  nn::Pad constant("ConstantPad1d", 1, {2, 2}, "constant", 0.5);
  EXPECT_EQ(constant.repr(), "ConstantPad1d(padding=(2, 2), value=0.5)");
  EXPECT_THROW(nn::Pad("ZeroPad2d", 2, {1, 1, 1}, "constant"), ConfigError);
  EXPECT_THROW(reflect.forward(randn({3, 3})), ShapeError);
}

// Convolution, pooling and batch-norm layers through the C++ API, and a small CNN that trains.
#include <gtest/gtest.h>

#include <cmath>

#include "lamina/lamina.h"
#include "lamina/nn/nn.h"
#include "lamina/optim/optimizer.h"

using namespace lamina;

TEST(NnConv, ShapesReprsStateDictAndErrors) {
  manual_seed(1);
  nn::Conv2d conv(3, 8, {3, 3}, {1, 1}, {1, 1});
  EXPECT_EQ(conv.forward(rand({2, 3, 10, 9})).shape(), Shape({2, 8, 10, 9}));
  EXPECT_EQ(conv.repr(), "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  EXPECT_EQ(conv.param("weight").shape(), Shape({8, 3, 3, 3}));
  // PyTorch's default init bound: 1/sqrt(fan_in) for both weight (kaiming a=sqrt(5)) and bias.
  EXPECT_LE(amax(abs(conv.param("weight"))).item<double>(), 1.0 / ::sqrt(27.0) + 1e-6);
  nn::Conv2d grouped(4, 6, {3, 2}, {2, 1}, {0, 0}, {1, 2}, 2, false);
  EXPECT_EQ(grouped.repr(), "Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 1), dilation=(1, 2), groups=2, bias=False)");
  nn::Conv1d c1(2, 4, 3, 1, 1);
  EXPECT_EQ(c1.forward(rand({1, 2, 7})).shape(), Shape({1, 4, 7}));
  nn::ConvTranspose2d up(8, 3, {2, 2}, {2, 2});
  EXPECT_EQ(up.forward(rand({1, 8, 5, 5})).shape(), Shape({1, 3, 10, 10}));
  EXPECT_EQ(up.param("weight").shape(), Shape({8, 3, 2, 2}));
  nn::MaxPool2d mp({2, 2}, {2, 2});
  EXPECT_EQ(mp.repr(), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  nn::AdaptiveAvgPool2d ap({1, 1});
  EXPECT_EQ(ap.forward(rand({2, 3, 5, 5})).shape(), Shape({2, 3, 1, 1}));
  nn::BatchNorm2d bn(8);
  EXPECT_EQ(bn.repr(), "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  std::vector<std::string> keys;
  for (const auto& [k, v] : bn.state_dict()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
  EXPECT_THROW(nn::Conv2d(3, 8, {0, 3}), ConfigError);
  EXPECT_THROW(nn::Conv2d(3, 8, {3, 3}, {1, 1}, {0, 0}, {1, 1}, 2), ConfigError);
  EXPECT_THROW(conv.forward(rand({2, 4, 10, 9})), ShapeError);
  EXPECT_THROW(nn::BatchNorm2d(0), ConfigError);
  EXPECT_THROW(bn.forward(rand({2, 8, 3})), ShapeError);
  EXPECT_THROW(nn::MaxPool2d({2, 2}, {2, 2}, {2, 2}), ConfigError);
}

TEST(NnConv, BatchNormTrainAndEval) {
  manual_seed(2);
  nn::BatchNorm2d bn(3);
  const Tensor x = add(mul(randn({8, 3, 4, 4}), Scalar(2.0)), Scalar(5.0));
  bn.train(true);
  (void)bn.forward(x);
  EXPECT_EQ(bn.buffer("num_batches_tracked").item<int64_t>(), 1);
  const Tensor mean_c = mean(x, std::vector<int64_t>{0, 2, 3});
  EXPECT_LT(amax(abs(sub(bn.buffer("running_mean"), mul(mean_c, Scalar(0.1))))).item<double>(), 1e-5);
  bn.train(false);
  const Tensor y = bn.forward(x);
  const Tensor want = div(sub(x, bn.buffer("running_mean").reshape({1, 3, 1, 1})),
                          sqrt(add(bn.buffer("running_var").reshape({1, 3, 1, 1}), Scalar(1e-5))));
  EXPECT_LT(amax(abs(sub(y, want))).item<double>(), 1e-4);
}

TEST(NnConv, SmallCnnTrains) {
  manual_seed(3);
  // Two classes of 8x8 images: a bright square top-left or bottom-right, plus noise.
  const int64_t n = 64;
  Tensor x = mul(rand({n, 1, 8, 8}), Scalar(0.3));
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = i % 2;
    labels.push_back(label);
    Tensor patch = x.select(0, i).select(0, 0).narrow(0, label * 4, 4).narrow(1, label * 4, 4);
    add_(patch, Scalar(1.0));
  }
  const Tensor y = tensor<int64_t>(labels);
  auto model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(1, 4, Pair{3, 3}, Pair{1, 1}, Pair{1, 1}), std::make_shared<nn::BatchNorm2d>(4),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(Pair{2, 2}, Pair{2, 2}),
      std::make_shared<nn::Conv2d>(4, 8, Pair{3, 3}), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::AdaptiveAvgPool2d>(Pair{1, 1}), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(8, 2)});
  optim::AdamOptions options;
  options.lr = 0.02;
  optim::Adam opt(model->parameters(), options);
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    opt.zero_grad();
    Tensor loss = nn::functional::cross_entropy(model->forward(x), y);
    autograd::backward({loss});
    opt.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_LT(last, 0.2 * first) << "loss " << first << " -> " << last;
  model->train(false);
  const Tensor predicted = argmax(model->forward(x), 1);
  EXPECT_EQ(sum(eq(predicted, y)).item<int64_t>(), n);
}

TEST(NnConv, SequentialRunsConvThenReluAsOneOp) {
  // Sequential's Conv2d + ReLU is ops::conv2d_relu (one node); values and gradients equal the
  // layers run one by one.
  manual_seed(4);
  auto conv = std::make_shared<nn::Conv2d>(2, 3, Pair{3, 3}, Pair{1, 1}, Pair{1, 1});
  nn::Sequential seq(std::vector<std::shared_ptr<nn::Module>>{conv, std::make_shared<nn::ReLU>()});
  Tensor x = randn({2, 2, 6, 6});
  autograd::set_requires_grad(x);
  const Tensor y = seq.forward(x);
  ASSERT_NE(autograd::grad_fn(y), nullptr);
  EXPECT_EQ(autograd::grad_fn(y)->name(), "ConvolutionReluBackward0");
  const Tensor y2 = relu(conv->forward(x));
  auto max_diff = [](const Tensor& u, const Tensor& v) { return amax(abs(sub(u, v))).item<double>(); };
  EXPECT_LT(max_diff(y, y2), 1e-6);
  const Tensor g = randn(y.shape());
  const std::vector<Tensor> a = autograd::grad({y}, {x, conv->param("weight"), conv->param("bias")}, {g});
  const std::vector<Tensor> b = autograd::grad({y2}, {x, conv->param("weight"), conv->param("bias")}, {g});
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT(max_diff(a[i], b[i]), 1e-5) << i;
}

TEST(NnConv, MultiheadAttentionShapesAndGradients) {
  manual_seed(4);
  nn::MultiheadAttention mha(6, 2, 0.0, true, true, Dtype::Float64);
  std::vector<std::string> names;
  for (const auto& [k, v] : mha.named_parameters()) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"}));
  Tensor x = randn({2, 3, 6}, {Dtype::Float64, kCPU});
  autograd::set_requires_grad(x);
  auto [out, weights] = mha.forward(x, x, x);
  EXPECT_EQ(out.shape(), Shape({2, 3, 6}));
  EXPECT_EQ(weights.shape(), Shape({2, 3, 3}));
  EXPECT_LT(amax(abs(sub(sum(weights, std::vector<int64_t>{2}), Scalar(1.0)))).item<double>(), 1e-12);
  const Tensor causal = triu(ones({3, 3}, {Dtype::Bool, kCPU}), 1);
  const std::string report = autograd::gradcheck(
      [&](const std::vector<Tensor>& t) { return mha.forward(t[0], t[0], t[0], Tensor(), false, causal).first; }, {x});
  EXPECT_TRUE(report.empty()) << report;
  EXPECT_THROW(nn::MultiheadAttention(6, 4), ConfigError);
}

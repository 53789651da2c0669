// lamina::nn through the C++ API: Module bookkeeping (names, state_dict, load errors, modes,
// dtype, repr), each layer's forward against its formula, validation errors, gradcheck through
// the layers and every loss, and a small MLP that learns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "lamina/lamina.h"
#include "lamina/nn/nn.h"
#include "lamina/optim/optimizer.h"

using namespace lamina;
namespace F = lamina::nn::functional;
namespace ag = lamina::autograd;
using V = const std::vector<Tensor>&;

namespace {

std::vector<double> values(const Tensor& t) {
  Tensor c = ag::detach(t).to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

// Deterministic float64 test data: sin(1.3 i + offset) * scale.
Tensor data(const Shape& shape, double offset = 0.0, double scale = 1.0, bool grad = false) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(std::sin(1.3 * static_cast<double>(i) + offset) * scale);
  Tensor t = tensor<double>(v, shape);
  if (grad) ag::set_requires_grad(t, true);
  return t;
}

void expect_close(const Tensor& a, const std::vector<double>& b, double tol = 1e-6) {
  auto av = values(a);
  ASSERT_EQ(av.size(), b.size());
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(av[i], b[i], tol) << "at " << i;
}

void expect_gradcheck(const std::function<Tensor(V)>& fn, const std::vector<Tensor>& inputs, const char* what) {
  std::string report = ag::gradcheck(fn, inputs);
  EXPECT_TRUE(report.empty()) << what << ": " << report;
}

std::vector<std::string> keys(const nn::NamedTensors& v) {
  std::vector<std::string> out;
  for (auto& [k, t] : v) out.push_back(k);
  return out;
}

struct Net : nn::Module {
  Net() : nn::Module("Net") {
    fc = register_module("fc", std::make_shared<nn::Linear>(3, 4));
    body = register_module("body", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                                       std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(4, 2, false)}));
    register_buffer("scale", ones({2}));
  }
  Tensor forward(const Tensor& x) override { return body->forward(fc->forward(x)) * buffer("scale"); }
  std::shared_ptr<nn::Linear> fc;
  std::shared_ptr<nn::Sequential> body;
};

}  // namespace

TEST(Module, NamesStateDictAndRepr) {
  Net net;
  EXPECT_EQ(keys(net.named_parameters()), (std::vector<std::string>{"fc.weight", "fc.bias", "body.1.weight"}));
  EXPECT_EQ(keys(net.state_dict()), (std::vector<std::string>{"scale", "fc.weight", "fc.bias", "body.1.weight"}));
  EXPECT_EQ(keys(net.named_buffers()), (std::vector<std::string>{"scale"}));
  EXPECT_EQ(net.parameters(false).size(), 0u);
  EXPECT_EQ(net.children().size(), 2u);
  EXPECT_EQ(net.modules().size(), 5u);
  auto named = net.named_modules();
  EXPECT_EQ(named[3].first, "body.0");
  EXPECT_EQ(net.state_dict()[1].second.shape(), (Shape{4, 3}));
  EXPECT_EQ(net.repr(),
            "Net(\n  (fc): Linear(in_features=3, out_features=4, bias=True)\n  (body): Sequential(\n"
            "    (0): ReLU()\n    (1): Linear(in_features=4, out_features=2, bias=False)\n  )\n)");
  EXPECT_EQ(nn::LayerNorm({4}).repr(), "LayerNorm((4,), eps=1e-05, elementwise_affine=True)");
  EXPECT_EQ(nn::RMSNorm({2, 3}).repr(), "RMSNorm((2, 3), eps=None, elementwise_affine=True)");
  EXPECT_EQ(nn::GroupNorm(2, 4).repr(), "GroupNorm(2, 4, eps=1e-05, affine=True)");
  EXPECT_EQ(nn::Dropout(0.25).repr(), "Dropout(p=0.25, inplace=False)");
  EXPECT_EQ(nn::Embedding(10, 3, 0).repr(), "Embedding(10, 3, padding_idx=0)");
  EXPECT_EQ(nn::GELU("tanh").repr(), "GELU(approximate='tanh')");
  EXPECT_EQ(nn::Flatten().repr(), "Flatten(start_dim=1, end_dim=-1)");
  EXPECT_EQ(nn::format_float(1.0), "1.0");
  EXPECT_EQ(nn::format_float(0.0001), "0.0001");
}

TEST(Module, LoadStateDictCopiesAndReportsKeys) {
  Net a, b;
  b.load_state_dict(a.state_dict());
  Tensor x = data({2, 3});
  expect_close(b.forward(x.to(Dtype::Float32)), values(a.forward(x.to(Dtype::Float32))), 0);

  nn::NamedTensors partial = a.state_dict();
  partial.erase(partial.begin() + 1);
  partial.emplace_back("extra", zeros({1}));
  EXPECT_THROW(b.load_state_dict(partial, true), ValueError);
  nn::LoadResult r = b.load_state_dict(partial, false);
  EXPECT_EQ(r.missing_keys, (std::vector<std::string>{"fc.weight"}));
  EXPECT_EQ(r.unexpected_keys, (std::vector<std::string>{"extra"}));

  nn::NamedTensors bad = a.state_dict();
  bad[2].second = zeros({5});
  try {
    b.load_state_dict(bad);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("fc.bias"), std::string::npos) << e.what();
  }
}

TEST(Module, TrainEvalToZeroGradApply) {
  Net net;
  net.eval();
  EXPECT_FALSE(net.body->child("0")->is_training());
  net.train();
  EXPECT_TRUE(net.fc->is_training());
  Tensor loss = sum(net.forward(ones({2, 3})));
  ag::backward({loss});
  EXPECT_TRUE(ag::grad(net.fc->weight()).defined());
  net.zero_grad(false);
  for (double v : values(ag::grad(net.fc->weight()))) EXPECT_EQ(v, 0.0);
  net.zero_grad();
  EXPECT_FALSE(ag::grad(net.fc->weight()).defined());
  net.to(Dtype::Float64);
  for (auto& [k, t] : net.state_dict()) EXPECT_EQ(t.dtype(), Dtype::Float64) << k;
  EXPECT_TRUE(ag::requires_grad(net.fc->weight()));
  EXPECT_EQ(net.forward(ones({1, 3}, {Dtype::Float64})).dtype(), Dtype::Float64);
  int count = 0;
  net.apply([&](nn::Module&) { ++count; });
  EXPECT_EQ(count, 5);
  EXPECT_THROW(nn::ModuleList().forward(ones({1})), NotImplementedError);
}

TEST(Nn, LinearMatchesFormulaAndInit) {
  manual_seed(0);
  nn::Linear lin(3, 2, true, Dtype::Float64);
  Tensor x = data({4, 3});
  auto w = values(lin.weight()), b = values(lin.bias()), xv = values(x);
  std::vector<double> expect;
  for (int i = 0; i < 4; ++i)
    for (int o = 0; o < 2; ++o) {
      double s = b[o];
      for (int k = 0; k < 3; ++k) s += xv[i * 3 + k] * w[o * 3 + k];
      expect.push_back(s);
    }
  expect_close(lin(x), expect, 1e-12);
  double bound = 1.0 / std::sqrt(3.0);  // kaiming_uniform_(a=sqrt(5)) gives the same bound
  for (double v : w) EXPECT_LE(std::abs(v), bound);
  for (double v : b) EXPECT_LE(std::abs(v), bound);
  EXPECT_EQ(lin(data({5, 2, 3})).shape(), (Shape{5, 2, 2}));
}

TEST(Nn, ValidationErrors) {
  EXPECT_THROW(nn::Linear(0, 2), ConfigError);
  EXPECT_THROW(nn::Linear(2, -1), ConfigError);
  EXPECT_THROW(nn::Dropout(1.5), ConfigError);
  EXPECT_THROW(nn::Dropout(-0.1), ConfigError);
  EXPECT_THROW(nn::GroupNorm(3, 4), ConfigError);
  EXPECT_THROW(nn::GroupNorm(0, 4), ConfigError);
  EXPECT_THROW(nn::Embedding(0, 3), ConfigError);
  EXPECT_THROW(nn::Embedding(5, 3, 5), ConfigError);
  EXPECT_THROW(nn::LayerNorm({}), ConfigError);
  EXPECT_THROW(nn::GELU("fast"), ConfigError);
  EXPECT_THROW(nn::MSELoss("avg"), ConfigError);
  EXPECT_THROW(nn::CrossEntropyLoss(Tensor(), -100, "mean", 1.5), ConfigError);
  EXPECT_THROW(nn::SmoothL1Loss("mean", -1.0), ConfigError);
  try {
    nn::Linear(3, 2)(ones({2, 4}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("Linear"), std::string::npos) << msg;
    EXPECT_NE(msg.find("in_features=3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("got 4"), std::string::npos) << msg;
  }
  try {
    nn::Dropout(2.0);
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("Dropout"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("2"), std::string::npos);
  }
  EXPECT_THROW(nn::LayerNorm({4})(ones({2, 3})), ShapeError);
  EXPECT_THROW(nn::GroupNorm(2, 4)(ones({2, 6, 3})), ShapeError);
  EXPECT_THROW(nn::Embedding(4, 2)(tensor<int64_t>({0, 4})), IndexError);
  EXPECT_THROW(F::cross_entropy(ones({2, 3}), tensor<int64_t>({0, 3})), IndexError);
  EXPECT_THROW(F::cross_entropy(ones({2, 3}), tensor<int64_t>({0, 1, 2})), ShapeError);
  EXPECT_THROW(F::binary_cross_entropy(full({2}, 1.5), ones({2})), ValueError);
}

TEST(Nn, NormsMatchFormulas) {
  Tensor x = data({2, 3, 4}, 0.3, 2.0);
  auto xv = values(x);
  // LayerNorm over the last dim, with non-trivial affine parameters.
  nn::LayerNorm ln({4}, 1e-5, true, true, Dtype::Float64);
  {
    ag::NoGradGuard g;
    copy_(ln.param("weight"), data({4}, 1.0));
    copy_(ln.param("bias"), data({4}, 2.0));
  }
  auto w = values(ln.param("weight")), b = values(ln.param("bias"));
  std::vector<double> expect, rms_expect;
  for (int r = 0; r < 6; ++r) {
    double m = 0, v = 0, ms = 0;
    for (int k = 0; k < 4; ++k) m += xv[r * 4 + k] / 4;
    for (int k = 0; k < 4; ++k) v += (xv[r * 4 + k] - m) * (xv[r * 4 + k] - m) / 4;
    for (int k = 0; k < 4; ++k) ms += xv[r * 4 + k] * xv[r * 4 + k] / 4;
    for (int k = 0; k < 4; ++k) expect.push_back((xv[r * 4 + k] - m) / std::sqrt(v + 1e-5) * w[k] + b[k]);
    for (int k = 0; k < 4; ++k) rms_expect.push_back(xv[r * 4 + k] / std::sqrt(ms + 2.220446049250313e-16));
  }
  expect_close(ln(x), expect, 1e-10);
  expect_close(nn::RMSNorm({4}, std::nullopt, true, Dtype::Float64)(x), rms_expect, 1e-10);
  // GroupNorm(1 group) on (2, 3, 4) equals a LayerNorm over (3, 4).
  expect_close(nn::GroupNorm(1, 3, 1e-5, true, Dtype::Float64)(x),
               values(F::layer_norm(x, {3, 4}, Tensor(), Tensor(), 1e-5)), 1e-10);
  // GroupNorm(3 groups) normalizes each channel on its own.
  Tensor gn = nn::GroupNorm(3, 3, 1e-5, false, Dtype::Float64)(x);
  expect_close(gn, values(F::layer_norm(x, {4}, Tensor(), Tensor(), 1e-5)), 1e-10);
}

TEST(Nn, EmbeddingDropoutActivations) {
  manual_seed(1);
  nn::Embedding emb(5, 3, 1, Dtype::Float64);
  for (double v : values(emb.weight().select(0, 1))) EXPECT_EQ(v, 0.0);
  Tensor idx = tensor<int64_t>({0, 1, 4, 1, 0, 2}, {2, 3});
  Tensor out = emb(idx);
  EXPECT_EQ(out.shape(), (Shape{2, 3, 3}));
  expect_close(out.select(0, 0).select(0, 2), values(emb.weight().select(0, 4)), 0);
  ag::backward({sum(out)});
  auto g = values(ag::grad(emb.weight()));
  std::vector<double> counts{2, 0, 1, 0, 1};  // the padding row gets no gradient
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(g[r * 3 + c], counts[r]);

  nn::Dropout drop(0.3);
  Tensor x = ones({1000});
  manual_seed(7);
  auto a = values(drop(x));
  manual_seed(7);
  auto b = values(drop(x));
  EXPECT_EQ(a, b);
  int zeros_n = 0;
  for (double v : a) {
    if (v == 0) ++zeros_n;
    else EXPECT_NEAR(v, 1 / 0.7, 1e-6);
  }
  EXPECT_GT(zeros_n, 230);
  EXPECT_LT(zeros_n, 370);
  drop.eval();
  expect_close(drop(x), values(x), 0);
  expect_close(nn::Dropout(1.0)(x), std::vector<double>(1000, 0.0), 0);

  Tensor y = data({2, 3});
  auto yv = values(y);
  std::vector<double> relu_v, silu_v, sig_v;
  for (double v : yv) {
    relu_v.push_back(v > 0 ? v : 0);
    sig_v.push_back(1 / (1 + std::exp(-v)));
    silu_v.push_back(v / (1 + std::exp(-v)));
  }
  expect_close(nn::ReLU()(y), relu_v);
  expect_close(nn::Sigmoid()(y), sig_v);
  expect_close(nn::SiLU()(y), silu_v);
  expect_close(nn::Tanh()(y), values(tanh(y)));
  expect_close(nn::GELU()(y), values(y * Scalar(0.5) * (erf(y * Scalar(1 / std::sqrt(2.0))) + Scalar(1.0))));
  expect_close(nn::Softmax(1)(y), values(exp(nn::LogSoftmax(1)(y))));
  expect_close(nn::Identity()(y), yv, 0);
  EXPECT_EQ(nn::Flatten()(data({2, 3, 4})).shape(), (Shape{2, 12}));
}

TEST(Nn, GradcheckThroughLayers) {
  manual_seed(3);
  nn::Linear lin(3, 2, true, Dtype::Float64);
  expect_gradcheck([](V t) { return F::linear(t[0], t[1], t[2]); }, {data({4, 3}, 0, 1, true), lin.weight(), lin.bias()},
                   "linear");
  expect_gradcheck([](V t) { return F::layer_norm(t[0], {4}, t[1], t[2]); },
                   {data({3, 4}, 0.1, 1.5, true), data({4}, 1, 1, true), data({4}, 2, 1, true)}, "layer_norm");
  expect_gradcheck([](V t) { return F::rms_norm(t[0], {4}, t[1], 1e-6); },
                   {data({3, 4}, 0.1, 1.5, true), data({4}, 1, 1, true)}, "rms_norm");
  expect_gradcheck([](V t) { return F::group_norm(t[0], 2, t[1], t[2]); },
                   {data({2, 4, 3}, 0.2, 1.5, true), data({4}, 1, 1, true), data({4}, 2, 1, true)}, "group_norm");
  Tensor idx = tensor<int64_t>({0, 2, 2, 3});
  expect_gradcheck([&](V t) { return F::embedding(idx, t[0]); }, {data({4, 3}, 0, 1, true)}, "embedding");
}

TEST(Loss, GradcheckEveryLoss) {
  Tensor x = data({4, 3}, 0.5, 2.0, true);
  Tensor target = tensor<int64_t>({0, 2, -100, 1});
  Tensor w = tensor<double>({0.5, 2.0, 1.0});
  Tensor probs = softmax(data({4, 3}, 2.0), 1);
  for (const char* red : {"mean", "sum", "none"}) {
    expect_gradcheck([&](V t) { return F::cross_entropy(t[0], target, w, -100, red, 0.1); }, {x}, "ce weight ls");
    expect_gradcheck([&](V t) { return F::cross_entropy(t[0], target, Tensor(), -100, red, 0.0); }, {x}, "ce");
    expect_gradcheck([&](V t) { return F::cross_entropy(t[0], probs, w, -100, red, 0.2); }, {x}, "ce probs");
    expect_gradcheck([&](V t) { return F::nll_loss(log_softmax(t[0], 1), target, w, -100, red); }, {x}, "nll");
  }
  Tensor y = data({4, 3}, 1.0, 1.5);
  expect_gradcheck([&](V t) { return F::mse_loss(t[0], y); }, {x}, "mse");
  expect_gradcheck([&](V t) { return F::l1_loss(t[0], y, "sum"); }, {x}, "l1");
  expect_gradcheck([&](V t) { return F::smooth_l1_loss(t[0], y, "mean", 0.7); }, {x}, "smooth_l1");
  Tensor p = sigmoid(data({4, 3}, 0.5, 2.0));
  ag::set_requires_grad(p, true);
  Tensor t01 = sigmoid(data({4, 3}, 3.0, 3.0));
  expect_gradcheck([&](V t) { return F::binary_cross_entropy(t[0], t01, w); }, {p}, "bce");
  expect_gradcheck([&](V t) { return F::binary_cross_entropy_with_logits(t[0], t01, w, "mean", data({3}, 4, 1) + 1.5); },
                   {x}, "bce logits");
  Tensor logq = log_softmax(data({4, 3}, 0.7), 1);
  expect_gradcheck([&](V t) { return F::kl_div(log_softmax(t[0], 1), probs, "batchmean"); }, {x}, "kl");
  expect_gradcheck([&](V t) { return F::kl_div(log_softmax(t[0], 1), logq, "sum", true); }, {x}, "kl log_target");
}

TEST(Loss, ValuesMatchFormulas) {
  Tensor x = data({3, 4}, 0.5, 2.0);
  Tensor target = tensor<int64_t>({3, 0, 1});
  auto xv = values(x);
  std::vector<double> nll;
  for (int r = 0; r < 3; ++r) {
    double m = -1e300, s = 0;
    for (int c = 0; c < 4; ++c) m = std::max(m, xv[r * 4 + c]);
    for (int c = 0; c < 4; ++c) s += std::exp(xv[r * 4 + c] - m);
    int t = std::vector<int>{3, 0, 1}[r];
    nll.push_back(-(xv[r * 4 + t] - m - std::log(s)));
  }
  expect_close(F::cross_entropy(x, target, Tensor(), -100, "none"), nll, 1e-12);
  Tensor w = tensor<double>({1.0, 2.0, 3.0, 4.0});
  double num = nll[0] * 4 + nll[1] * 1 + nll[2] * 2;
  expect_close(nn::CrossEntropyLoss(w)(x, target), {num / 7}, 1e-12);
  expect_close(F::cross_entropy(x, tensor<int64_t>({3, -100, 1})), {(nll[0] + nll[2]) / 2}, 1e-12);

  Tensor a = tensor<double>({0.0, 1.0, -2.0}), b = tensor<double>({0.5, 1.0, 1.0});
  expect_close(nn::MSELoss()(a, b), {(0.25 + 0 + 9) / 3}, 1e-12);
  expect_close(nn::L1Loss("sum")(a, b), {3.5}, 1e-12);
  expect_close(nn::SmoothL1Loss("none", 1.0)(a, b), {0.125, 0, 2.5}, 1e-12);
  Tensor big = tensor<double>({100.0, -100.0, 0.0}), yy = tensor<double>({0.0, 1.0, 1.0});
  expect_close(nn::BCEWithLogitsLoss(Tensor(), "none")(big, yy), {100.0, 100.0, std::log(2.0)}, 1e-9);
  expect_close(nn::BCELoss(Tensor(), "none")(tensor<double>({0.0, 0.25}), tensor<double>({1.0, 1.0})),
               {100.0, -std::log(0.25)}, 1e-9);
  Tensor q = tensor<double>({0.5, 0.5}), lp = log(tensor<double>({0.25, 0.75}));
  double kl = 0.5 * std::log(0.5 / 0.25) + 0.5 * std::log(0.5 / 0.75);
  expect_close(nn::KLDivLoss("sum")(lp, q), {kl}, 1e-12);
  expect_close(nn::KLDivLoss("sum", true)(lp, log(q)), {kl}, 1e-12);
  expect_close(nn::NLLLoss()(log_softmax(x, 1), target), {(nll[0] + nll[1] + nll[2]) / 3}, 1e-12);
}

TEST(Nn, InitFansAndGains) {
  Tensor w = empty({6, 4, 3});
  auto [fi, fo] = nn::init::calculate_fan_in_and_fan_out(w);
  EXPECT_EQ(fi, 12);
  EXPECT_EQ(fo, 18);
  EXPECT_THROW(nn::init::calculate_fan_in_and_fan_out(empty({3})), ValueError);
  EXPECT_NEAR(nn::init::calculate_gain("relu"), std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(nn::init::calculate_gain("tanh"), 5.0 / 3, 1e-12);
  EXPECT_NEAR(nn::init::calculate_gain("leaky_relu", 0.2), std::sqrt(2.0 / 1.04), 1e-12);
  manual_seed(0);
  Tensor big = empty({200, 100});
  nn::init::kaiming_uniform_(big, 0.0, "fan_in", "relu");
  double bound = std::sqrt(6.0 / 100);
  double mx = amax(abs(big)).item<double>();
  EXPECT_LE(mx, bound);
  EXPECT_GT(mx, 0.95 * bound);
  nn::init::xavier_normal_(big);
  EXPECT_NEAR(lamina::std(big).item<double>(), std::sqrt(2.0 / 300), 0.002);
  nn::init::kaiming_normal_(big, 0.0, "fan_out", "relu");
  EXPECT_NEAR(lamina::std(big).item<double>(), std::sqrt(2.0 / 200), 0.003);
  nn::init::constant_(big, 0.5);
  EXPECT_EQ(amin(big).item<double>(), 0.5);
  EXPECT_THROW(nn::init::kaiming_uniform_(big, 0.0, "fan_avg"), ValueError);
}

TEST(NnInit, TruncNormalStaysInsideItsWindowAndOrthogonalIsOrthonormal) {
  manual_seed(9);
  Tensor t = empty({20000});
  nn::init::trunc_normal_(t, 1.0, 0.5, 0.25, 1.5);
  const float* v = t.data<float>();
  double sum = 0.0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    ASSERT_GE(v[i], 0.25f);
    ASSERT_LE(v[i], 1.5f);
    sum += v[i];
  }
  // The mean of N(1, 0.5^2) on [0.25, 1.5] (alpha = -1.5, beta = 1), from the closed form.
  EXPECT_NEAR(sum / t.numel(), 0.9274, 0.01);
  EXPECT_THROW(nn::init::trunc_normal_(t, 0.0, 0.0), ValueError);
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{5, 3}, {3, 5}}) {
    Tensor w = empty({rows, cols}, {Dtype::Float64});
    nn::init::orthogonal_(w, 1.5);
    const double* a = w.data<double>();
    const int64_t k = std::min(rows, cols);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) {
        double dot = 0.0;  // rows of a wide matrix, columns of a tall one, are orthogonal
        for (int64_t l = 0; l < std::max(rows, cols); ++l)
          dot += rows < cols ? a[i * cols + l] * a[j * cols + l] : a[l * cols + i] * a[l * cols + j];
        EXPECT_NEAR(dot, i == j ? 2.25 : 0.0, 1e-12);
      }
  }
  EXPECT_THROW(nn::init::orthogonal_(empty({4})), ValueError);
}

TEST(Nn, MlpTrainsWithAdam) {
  manual_seed(0);
  // y = sin(x0) + x1 * x2 on 64 points.
  Tensor x = rand({64, 3}) * Scalar(2.0) - Scalar(1.0);
  Tensor y = (sin(x.select(1, 0)) + x.select(1, 1) * x.select(1, 2)).unsqueeze(1);
  auto model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(3, 32), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(32, 32),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(32, 1)});
  optim::AdamOptions opts;
  opts.lr = 0.01;
  optim::Adam opt(model->parameters(), opts);
  nn::MSELoss loss_fn;
  double first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    Tensor loss = loss_fn((*model)(x), y);
    ag::backward({loss});
    opt.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.1 * first) << first << " -> " << last;
}

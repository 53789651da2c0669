// GradScaler (lamina/optim/grad_scaler.h) through the C++ API: scaling, unscaling before the step,
// skipped steps and backoff on inf/NaN gradients, growth after growth_interval finite steps, the
// once-per-iteration rules, state round trips and loads that fail without changing anything.
// Expectations are hand-computed from torch.amp.GradScaler's rules (powers of two: exact).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lamina/autograd/autograd.h"
#include "lamina/lamina.h"
#include "lamina/optim/grad_scaler.h"
#include "lamina/optim/optimizer.h"

using namespace lamina;
using namespace lamina::optim;

namespace {

std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

Tensor make_param(const std::vector<double>& v) {
  Tensor p = tensor<double>(v, {static_cast<int64_t>(v.size())}).to(Dtype::Float32);
  autograd::set_requires_grad(p, true);
  return p;
}

// A tiny model: parameter p = [1, 2, 3], loss sum(p * p) (gradient 2p), SGD with lr 0.1.
struct Tiny {
  Tensor p = make_param({1.0, 2.0, 3.0});
  SGD opt{std::vector<Tensor>{p}, SGDOptions{.lr = 0.1}};

  Tensor loss() const { return sum(p * p); }
  // zero_grad, then backward of the scaled loss.
  void backward(GradScaler& scaler) {
    opt.zero_grad();
    autograd::backward({scaler.scale(loss())});
  }
  // The gradient replaced by one holding `bad` at index 1.
  void poison(double bad) {
    std::vector<double> g = values(autograd::grad(p));
    g[1] = bad;
    autograd::set_grad(p, tensor<double>(g, {3}).to(Dtype::Float32));
  }
};

// Runs `f`, expecting a ValueError whose message contains `needle`.
template <class F>
void expect_value_error(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no ValueError (expected '" << needle << "')";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

void expect_state_eq(const GradScalerState& a, const GradScalerState& b) {
  EXPECT_EQ(a.scale, b.scale);
  EXPECT_EQ(a.growth_factor, b.growth_factor);
  EXPECT_EQ(a.backoff_factor, b.backoff_factor);
  EXPECT_EQ(a.growth_interval, b.growth_interval);
  EXPECT_EQ(a.growth_tracker, b.growth_tracker);
}

}  // namespace

TEST(GradScaler, DefaultsAreTorchs) {
  GradScaler scaler;
  EXPECT_TRUE(scaler.is_enabled());
  EXPECT_FALSE(scaler.is_initialized());
  EXPECT_EQ(scaler.get_scale(), 65536.0);
  EXPECT_EQ(scaler.get_growth_factor(), 2.0);
  EXPECT_EQ(scaler.get_backoff_factor(), 0.5);
  EXPECT_EQ(scaler.get_growth_interval(), 2000);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  expect_value_error([] { GradScaler(1024.0, 1.0); }, "growth factor");
  expect_value_error([] { GradScaler(1024.0, 2.0, 1.0); }, "backoff factor");
  EXPECT_NO_THROW(GradScaler(1024.0, 1.0, 1.0, 10, false));  // a disabled scaler checks nothing
}

TEST(GradScaler, ScaleMultipliesByAFloat32Scale) {
  GradScaler scaler;
  Tensor scaled = scaler.scale(scalar_tensor(3.0).to(Dtype::Float16));
  EXPECT_EQ(scaled.dtype(), Dtype::Float32);  // 0-d float16 * 0-d float32 promotes
  EXPECT_EQ(scaled.item<double>(), 3.0 * 65536);
  EXPECT_TRUE(scaler.is_initialized());
  EXPECT_EQ(scaler.scale_tensor().dtype(), Dtype::Float32);
  EXPECT_EQ(scaler.scale_tensor().dim(), 0);
  std::vector<Tensor> many = scaler.scale(std::vector<Tensor>{scalar_tensor(1.0), scalar_tensor(2.0)});
  ASSERT_EQ(many.size(), 2u);
  EXPECT_EQ(many[0].item<double>(), 65536.0);
  EXPECT_EQ(many[1].item<double>(), 131072.0);
  Tensor half = tensor<double>({1.0, -2.0}, {2}).to(Dtype::Float16);
  EXPECT_EQ(scaler.scale(half).dtype(), Dtype::Float16);  // a dimensioned tensor keeps its dtype
  // 65536 is past float16's largest value (65504): the product overflows, as in torch.
  EXPECT_TRUE(std::isinf(values(scaler.scale(half))[0]));
  GradScaler small(1024.0);
  EXPECT_EQ(values(small.scale(half)), (std::vector<double>{1024.0, -2048.0}));
}

TEST(GradScaler, StepUnscalesAndSteps) {
  Tiny m;
  GradScaler scaler(1024.0);
  m.backward(scaler);
  EXPECT_EQ(values(autograd::grad(m.p)), (std::vector<double>{2048.0, 4096.0, 6144.0}));
  EXPECT_EQ(scaler.stage(reinterpret_cast<GradScaler::OptimizerKey>(&m.opt)), ScalerStage::Ready);
  EXPECT_TRUE(scaler.step(m.opt));
  EXPECT_EQ(scaler.stage(reinterpret_cast<GradScaler::OptimizerKey>(&m.opt)), ScalerStage::Stepped);
  EXPECT_EQ(values(autograd::grad(m.p)), (std::vector<double>{2.0, 4.0, 6.0}));  // the true gradient
  std::vector<double> p = values(m.p);
  EXPECT_FLOAT_EQ(p[0], 1.0f - 0.1f * 2.0f);
  EXPECT_FLOAT_EQ(p[1], 2.0f - 0.1f * 4.0f);
  EXPECT_FLOAT_EQ(p[2], 3.0f - 0.1f * 6.0f);
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), 1024.0);
  EXPECT_EQ(scaler.growth_tracker(), 1);
  EXPECT_EQ(scaler.stage(reinterpret_cast<GradScaler::OptimizerKey>(&m.opt)), ScalerStage::Ready);
}

TEST(GradScaler, InfOrNanGradientsSkipTheStepAndBackOff) {
  Tiny m;
  GradScaler scaler(256.0, 2.0, 0.5, 3);
  for (int i = 0; i < 2; ++i) {  // two finite steps: the tracker counts them
    m.backward(scaler);
    EXPECT_TRUE(scaler.step(m.opt));
    scaler.update();
  }
  EXPECT_EQ(scaler.growth_tracker(), 2);

  m.backward(scaler);
  m.poison(std::numeric_limits<double>::infinity());
  std::vector<double> before = values(m.p);
  EXPECT_FALSE(scaler.step(m.opt));
  EXPECT_EQ(values(m.p), before);  // skipped
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), 128.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);

  m.backward(scaler);
  m.poison(std::nan(""));
  EXPECT_FALSE(scaler.step(m.opt));
  EXPECT_EQ(values(m.p), before);
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), 64.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

TEST(GradScaler, GrowsAfterGrowthIntervalFiniteSteps) {
  Tiny m;
  GradScaler scaler(4.0, 3.0, 0.5, 3);
  std::vector<double> scales;
  std::vector<int64_t> trackers;
  for (int i = 0; i < 7; ++i) {
    m.backward(scaler);
    scaler.step(m.opt);
    scaler.update();
    scales.push_back(scaler.get_scale());
    trackers.push_back(scaler.growth_tracker());
  }
  EXPECT_EQ(scales, (std::vector<double>{4.0, 4.0, 12.0, 12.0, 12.0, 36.0, 36.0}));
  EXPECT_EQ(trackers, (std::vector<int64_t>{1, 2, 0, 1, 2, 0, 1}));
}

TEST(GradScaler, GrowthThatWouldOverflowFloat32IsDropped) {
  GradScaler scaler(std::ldexp(1.0, 127), 2.0, 0.5, 1);
  scaler.scale(scalar_tensor(1.0));
  Tensor g = tensor<double>({1.0}, {1}).to(Dtype::Float32);
  EXPECT_TRUE(scaler.step(/*key=*/1, {g}, [] {}));
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), std::ldexp(1.0, 127));  // 2^128 is inf in float32: not taken
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

TEST(GradScaler, UnscaleAtMostOncePerIteration) {
  Tiny m;
  GradScaler scaler(512.0);
  expect_value_error([&] { scaler.unscale_(m.opt); }, "before the scale was created");
  expect_value_error([&] { scaler.step(m.opt); }, "before the scale was created");
  m.backward(scaler);
  scaler.unscale_(m.opt);
  EXPECT_EQ(values(autograd::grad(m.p)), (std::vector<double>{2.0, 4.0, 6.0}));
  expect_value_error([&] { scaler.unscale_(m.opt); },
                     "unscale_() has already been called on this optimizer since the last update()");
  EXPECT_TRUE(scaler.step(m.opt));  // does not unscale again
  EXPECT_EQ(values(autograd::grad(m.p)), (std::vector<double>{2.0, 4.0, 6.0}));
  expect_value_error([&] { scaler.step(m.opt); }, "step() has already been called since the last update()");
  expect_value_error([&] { scaler.unscale_(m.opt); }, "unscale_() is being called after step()");
  scaler.update();
  expect_value_error([&] { scaler.update(); }, "No inf checks were recorded prior to update");
  m.backward(scaler);
  EXPECT_NO_THROW(scaler.unscale_(m.opt));  // allowed again after update()
}

TEST(GradScaler, UpdateWithANewScale) {
  Tiny m;
  GradScaler scaler;
  expect_value_error([&] { scaler.update(8.0); }, "before the scale was created");
  m.backward(scaler);
  scaler.step(m.opt);
  scaler.update(8.0);
  EXPECT_EQ(scaler.get_scale(), 8.0);
  scaler.update(tensor<double>({2.0}, {1}));
  EXPECT_EQ(scaler.get_scale(), 2.0);
  EXPECT_EQ(scaler.scale_tensor().item<double>(), 2.0);
  expect_value_error([&] { scaler.update(tensor<double>({1.0, 2.0}, {2})); }, "1-element tensor");
  expect_value_error([&] { scaler.update(0.0); }, "finite and > 0");
  expect_value_error([&] { scaler.update(std::numeric_limits<double>::infinity()); }, "finite and > 0");
  EXPECT_EQ(scaler.get_scale(), 2.0);
  EXPECT_EQ(scaler.scale(scalar_tensor(3.0)).item<double>(), 6.0);
}

TEST(GradScaler, UnscaleGradsChecksEveryGradientFirst) {
  GradScaler scaler(4.0);
  scaler.scale(scalar_tensor(1.0));
  EXPECT_FALSE(scaler.unscale_grads({}).defined());
  Tensor a = tensor<double>({4.0, 8.0}, {2}).to(Dtype::Float32);
  Tensor b = tensor<double>({12.0}, {1}).to(Dtype::BFloat16);
  Tensor flag = scaler.unscale_grads({a, b});
  EXPECT_EQ(flag.dtype(), Dtype::Bool);
  EXPECT_EQ(flag.dim(), 0);
  EXPECT_FALSE(flag.item<bool>());
  EXPECT_EQ(values(a), (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(values(b), (std::vector<double>{3.0}));
  Tensor bad = tensor<double>({std::nan(""), 4.0}, {2}).to(Dtype::Float32);
  EXPECT_TRUE(scaler.unscale_grads({a, bad}).item<bool>());
  // A float16 gradient anywhere in the list: refused before any gradient is divided.
  Tensor c = tensor<double>({4.0}, {1}).to(Dtype::Float32);
  Tensor h = tensor<double>({4.0}, {1}).to(Dtype::Float16);
  expect_value_error([&] { scaler.unscale_grads({c, h}); }, "Attempting to unscale FP16 gradients");
  EXPECT_EQ(values(c), (std::vector<double>{4.0}));
  EXPECT_FALSE(scaler.unscale_grads({c, h}, /*allow_fp16=*/true).item<bool>());
  EXPECT_EQ(values(h), (std::vector<double>{1.0}));
}

TEST(GradScaler, StepsAnyOptimizerThroughAKey) {
  GradScaler scaler(2.0);
  scaler.scale(scalar_tensor(1.0));
  const GradScaler::OptimizerKey key = 42;
  Tensor g = tensor<double>({2.0, 6.0}, {2}).to(Dtype::Float32);
  int steps = 0;
  EXPECT_TRUE(scaler.step(key, {g}, [&] { ++steps; }));
  EXPECT_EQ(steps, 1);
  EXPECT_EQ(values(g), (std::vector<double>{1.0, 3.0}));
  scaler.update();
  // An optimizer without gradients records no inf check: step refuses, as torch's assertion.
  scaler.unscale_(key, {});
  EXPECT_EQ(scaler.stage(key), ScalerStage::Unscaled);
  EXPECT_FALSE(scaler.has_inf_check(key));
  expect_value_error([&] { scaler.step(key, {}, [&] { ++steps; }); }, "No inf checks were recorded for this optimizer");
  EXPECT_EQ(steps, 1);
}

TEST(GradScaler, StateRoundTrip) {
  Tiny m;
  GradScaler scaler(64.0, 4.0, 0.125, 5);
  for (int i = 0; i < 3; ++i) {
    m.backward(scaler);
    scaler.step(m.opt);
    scaler.update();
  }
  std::optional<GradScalerState> sd = scaler.state_dict();
  ASSERT_TRUE(sd.has_value());
  expect_state_eq(*sd, GradScalerState{64.0, 4.0, 0.125, 5, 3});

  GradScaler fresh;  // not initialized yet: the loaded scale is used by the first scale()
  fresh.load_state_dict(sd);
  expect_state_eq(*fresh.state_dict(), *sd);
  for (int i = 0; i < 2; ++i) {  // the restored tracker reaches the interval after two more steps
    m.backward(fresh);
    fresh.step(m.opt);
    fresh.update();
  }
  EXPECT_EQ(fresh.get_scale(), 256.0);
  EXPECT_EQ(fresh.growth_tracker(), 0);

  GradScaler used;
  m.backward(used);  // loads into an already-created scale tensor too
  used.load_state_dict(sd);
  EXPECT_EQ(used.get_scale(), 64.0);
  EXPECT_EQ(used.scale_tensor().item<double>(), 64.0);
  EXPECT_EQ(used.growth_tracker(), 3);
}

TEST(GradScaler, AFailedLoadLeavesTheScalerUnchanged) {
  Tiny m;
  GradScaler scaler(32.0, 2.0, 0.25, 7);
  m.backward(scaler);
  scaler.step(m.opt);
  scaler.update();
  const GradScalerState saved = *scaler.state_dict();
  const GradScalerState good{8.0, 3.0, 0.5, 4, 2};
  auto with = [&](auto change) {
    GradScalerState s = good;
    change(s);
    return s;
  };
  expect_value_error([&] { scaler.load_state_dict(std::nullopt); }, "empty");
  expect_value_error([&] { scaler.load_state_dict(with([](GradScalerState& s) { s.scale = std::nan(""); })); },
                     "finite and > 0");
  expect_value_error([&] { scaler.load_state_dict(with([](GradScalerState& s) { s.scale = -1.0; })); },
                     "finite and > 0");
  expect_value_error([&] { scaler.load_state_dict(with([](GradScalerState& s) { s.growth_factor = 1.0; })); },
                     "growth factor");
  expect_value_error([&] { scaler.load_state_dict(with([](GradScalerState& s) { s.backoff_factor = 2.0; })); },
                     "backoff factor");
  expect_value_error([&] { scaler.load_state_dict(with([](GradScalerState& s) { s.growth_tracker = -1; })); },
                     "growth tracker");
  expect_state_eq(*scaler.state_dict(), saved);
  EXPECT_EQ(scaler.scale_tensor().item<double>(), 32.0);
  scaler.load_state_dict(good);
  expect_state_eq(*scaler.state_dict(), good);
}

TEST(GradScaler, DisabledPassesEverythingThrough) {
  Tiny m;
  GradScaler scaler(1024.0, 2.0, 0.5, 2000, /*enabled=*/false);
  Tensor loss = m.loss();
  Tensor scaled = scaler.scale(loss);
  EXPECT_EQ(scaled.data_ptr(), loss.data_ptr());
  EXPECT_EQ(scaler.get_scale(), 1.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  EXPECT_FALSE(scaler.state_dict().has_value());
  EXPECT_NO_THROW(scaler.load_state_dict(std::nullopt));
  m.opt.zero_grad();
  autograd::backward({scaled});
  std::vector<double> before = values(m.p);
  scaler.unscale_(m.opt);
  EXPECT_EQ(values(autograd::grad(m.p)), (std::vector<double>{2.0, 4.0, 6.0}));
  EXPECT_TRUE(scaler.step(m.opt));
  EXPECT_NE(values(m.p), before);
  EXPECT_NO_THROW(scaler.update());
}

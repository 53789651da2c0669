// Optimizers, LR schedulers and gradient clipping through the C++ API, against trajectories
// PyTorch 1.13 computed for the same parameters and gradients (/usr/bin/python3, float32).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>

#include "lamina/autograd/autograd.h"
#include "lamina/lamina.h"
#include "lamina/nn/utils.h"
#include "lamina/optim/lr_scheduler.h"
#include "lamina/optim/optimizer.h"

using namespace lamina;
using namespace lamina::optim;

namespace {

constexpr int kN = 7;
constexpr int kSteps = 6;

std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

Tensor make_param(Dtype dtype = Dtype::Float32) {
  std::vector<double> v;
  for (int i = 0; i < kN; ++i) v.push_back(std::sin(i + 1.0));
  Tensor p = tensor<double>(v, {kN}).to(Dtype::Float32).to(dtype);
  autograd::set_requires_grad(p, true);
  return p;
}

// The gradient of step k: cos(0.7 i + 1.3 k) (1 + 0.1 i), rounded to float32 like the reference.
Tensor grad_at(int k, Dtype dtype = Dtype::Float32) {
  std::vector<double> v;
  for (int i = 0; i < kN; ++i) v.push_back(std::cos(0.7 * i + 1.3 * k) * (1 + 0.1 * i));
  return tensor<double>(v, {kN}).to(Dtype::Float32).to(dtype);
}

void run_steps(Optimizer& opt, const Tensor& p, int from, int to, Dtype dtype = Dtype::Float32) {
  for (int k = from; k < to; ++k) {
    autograd::set_grad(p, grad_at(k, dtype));
    opt.step();
  }
}

// PyTorch 1.13 parameters after 6 steps (tests/cpp/test_optim.cpp header explains the inputs).
const std::map<std::string, std::vector<double>> kReference = {
    {"sgd_momentum", {0.536859989, 0.801206529, 0.332311064, -0.313607424, -0.459331125, 0.0211143754, 0.576106787}},
    {"sgd_nesterov", {1.2004801, 1.05011117, -0.0547084734, -1.24773741, -1.53920066, -0.66399461, 0.692655861}},
    {"adam", {0.817211509, 0.895253062, 0.14472875, -0.726051509, -0.932032108, -0.263599724, 0.655536711}},
    {"adam_amsgrad", {0.80637151, 0.893202364, 0.146413818, -0.707518697, -0.917164624, -0.253387898, 0.660740495}},
    {"adamw", {0.816736281, 0.895390987, 0.144602686, -0.72438401, -0.929815292, -0.26309219, 0.65436542}},
    {"rmsprop_centered",
     {0.695849538, 0.833236873, 0.0776477009, -0.508827269, -0.785023391, -0.172172815, 0.705946863}},
    {"rmsprop", {0.745071113, 0.847443819, 0.095349662, -0.627074301, -0.852256835, -0.198714107, 0.704184771}},
    {"adagrad", {0.748692811, 0.850126266, 0.138764486, -0.636230111, -0.854337394, -0.201931089, 0.695522308}},
    {"adadelta", {0.825544119, 0.897438109, 0.130059481, -0.742323160, -0.944529951, -0.265700191, 0.667239964}},
};

using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> f = {
      {"sgd_momentum",
       [](std::vector<Tensor> ps) {
         return std::make_unique<SGD>(ps, SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
       }},
      {"sgd_nesterov",
       [](std::vector<Tensor> ps) {
         return std::make_unique<SGD>(ps, SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true, .maximize = true});
       }},
      {"adam",
       [](std::vector<Tensor> ps) { return std::make_unique<Adam>(ps, AdamOptions{.lr = 0.01, .weight_decay = 0.1}); }},
      {"adam_amsgrad",
       [](std::vector<Tensor> ps) {
         return std::make_unique<Adam>(ps, AdamOptions{.lr = 0.02, .beta1 = 0.8, .beta2 = 0.9, .amsgrad = true});
       }},
      {"adamw",
       [](std::vector<Tensor> ps) {
         return std::make_unique<AdamW>(ps, AdamOptions{.lr = 0.01, .weight_decay = 0.1});
       }},
      {"rmsprop_centered",
       [](std::vector<Tensor> ps) {
         return std::make_unique<RMSprop>(
             ps, RMSpropOptions{.lr = 0.01, .weight_decay = 0.01, .momentum = 0.5, .centered = true});
       }},
      {"rmsprop", [](std::vector<Tensor> ps) { return std::make_unique<RMSprop>(ps, RMSpropOptions{.lr = 0.01}); }},
      {"adagrad",
       [](std::vector<Tensor> ps) {
         return std::make_unique<Adagrad>(
             ps, AdagradOptions{.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.01, .initial_accumulator_value = 0.1});
       }},
      {"adadelta",
       [](std::vector<Tensor> ps) {
         return std::make_unique<Adadelta>(ps,
                                           AdadeltaOptions{.lr = 0.5, .rho = 0.8, .eps = 1e-4, .weight_decay = 0.02});
       }},
  };
  return f;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << what << " element " << i;
}

}  // namespace

TEST(Optim, MatchesPyTorchTrajectories) {
  for (const auto& [name, make] : factories()) {
    Tensor p = make_param();
    auto opt = make({p});
    run_steps(*opt, p, 0, kSteps);
    expect_near(values(p), kReference.at(name), 2e-6, name);
  }
}

TEST(Optim, Float64AndHalfParameters) {
  for (const auto& [name, make] : factories()) {
    Tensor p = make_param(Dtype::Float64);
    auto opt = make({p});
    run_steps(*opt, p, 0, kSteps, Dtype::Float64);
    EXPECT_EQ(p.dtype(), Dtype::Float64);
    expect_near(values(p), kReference.at(name), 1e-5, name + " f64");
    Tensor h = make_param(Dtype::BFloat16);
    auto opt_h = make({h});
    run_steps(*opt_h, h, 0, kSteps, Dtype::BFloat16);
    expect_near(values(h), kReference.at(name), 0.05, name + " bf16");
  }
}

TEST(Optim, NonContiguousParameterAndLargeTensor) {
  // A transposed parameter is updated through a contiguous copy; a large one across the pool.
  Tensor base = make_param();
  Tensor grid = arange(Scalar(int64_t{12})).to(Dtype::Float32).reshape({3, 4}).t();
  autograd::set_requires_grad(grid, true);
  Adam opt({grid}, AdamOptions{.lr = 0.1});
  autograd::set_grad(grid, ones({4, 3}));
  opt.step();
  std::vector<double> g = values(grid);
  std::vector<double> want = values(arange(Scalar(int64_t{12})).to(Dtype::Float32).reshape({3, 4}).t());
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i] - 0.1, 1e-6);

  Tensor big = zeros({300000});
  autograd::set_requires_grad(big, true);
  SGD sgd({big}, SGDOptions{.lr = 0.5, .momentum = 0.9});
  autograd::set_grad(big, ones({300000}));
  sgd.step();
  sgd.step();
  EXPECT_NEAR(sum(big).item<double>() / 300000, -0.5 - 0.5 * 1.9, 1e-6);
}

TEST(Optim, ParamGroupsWithOwnLearningRates) {
  Tensor a = make_param(), b = make_param();
  SGD opt(std::vector<ParamGroup>{{{a}, {}}, {{b}, {{"lr", 0.5}}}}, SGDOptions{.lr = 0.1});
  ASSERT_EQ(opt.param_groups().size(), 2u);
  EXPECT_EQ(opt.param_groups()[1].number("momentum"), 0.0);
  std::vector<double> a0 = values(a), b0 = values(b), g = values(grad_at(0));
  autograd::set_grad(a, grad_at(0));
  autograd::set_grad(b, grad_at(0));
  opt.step();
  for (int i = 0; i < kN; ++i) {
    EXPECT_NEAR(values(a)[i], a0[i] - 0.1 * g[i], 1e-6);
    EXPECT_NEAR(values(b)[i], b0[i] - 0.5 * g[i], 1e-6);
  }
  // A changed lr is used at the next step; a parameter without a gradient is skipped.
  opt.param_groups()[0].options["lr"] = 0.0;
  autograd::set_grad(b, Tensor());
  std::vector<double> a1 = values(a), b1 = values(b);
  opt.step();
  EXPECT_EQ(values(a), a1);
  EXPECT_EQ(values(b), b1);
  Tensor c = make_param();
  opt.add_param_group({{c}, {{"lr", 1.0}}});
  EXPECT_EQ(opt.param_groups()[2].number("lr"), 1.0);
  EXPECT_THROW(opt.add_param_group({{a}, {}}), ValueError);
}

TEST(Optim, ZeroGrad) {
  Tensor p = make_param();
  SGD opt({p}, SGDOptions{.lr = 0.1});
  autograd::set_grad(p, grad_at(0));
  opt.zero_grad(false);
  ASSERT_TRUE(autograd::grad(p).defined());
  EXPECT_EQ(values(autograd::grad(p)), std::vector<double>(kN, 0.0));
  opt.zero_grad();
  EXPECT_FALSE(autograd::grad(p).defined());
}

TEST(Optim, StateDictRoundTrip) {
  for (const auto& [name, make] : factories()) {
    Tensor p = make_param();
    auto opt = make({p});
    run_steps(*opt, p, 0, 3);
    StateDict sd = opt->state_dict();
    ASSERT_EQ(sd.param_groups.size(), 1u);
    EXPECT_EQ(sd.param_groups[0].params, std::vector<int64_t>{0});
    ASSERT_EQ(sd.state.count(0), 1u) << name;
    Tensor q = make_param();
    {
      autograd::NoGradGuard no_grad;
      copy_(q, p);
    }
    auto fresh = make({q});
    fresh->load_state_dict(sd);
    run_steps(*fresh, q, 3, kSteps);
    expect_near(values(q), kReference.at(name), 2e-6, name + " resumed");
  }
  Tensor p = make_param();
  Adam adam({p});
  run_steps(adam, p, 0, 2);
  StateDict sd = adam.state_dict();
  EXPECT_EQ(sd.state.at(0).at("step").item<double>(), 2.0);
  EXPECT_TRUE(sd.state.at(0).count("exp_avg") && sd.state.at(0).count("exp_avg_sq"));
  EXPECT_EQ(std::get<std::vector<double>>(sd.param_groups[0].options.at("betas")), (std::vector<double>{0.9, 0.999}));
  Tensor p2 = make_param(), p3 = make_param();
  Adam two(std::vector<ParamGroup>{{{p2}, {}}, {{p3}, {}}});
  EXPECT_THROW(two.load_state_dict(sd), ValueError);
  Adam wider({p2, p3});
  EXPECT_THROW(wider.load_state_dict(sd), ValueError);
}

TEST(Optim, Validation) {
  Tensor p = make_param();
  auto config = [&](const std::function<void()>& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no ConfigError for " << needle;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  config([&] { SGD({p}, SGDOptions{.lr = -0.1}); }, "[SGD] invalid learning rate: -0.1");
  config([&] { SGD({p}, SGDOptions{}); }, "[SGD] invalid learning rate");
  config([&] { SGD({p}, SGDOptions{.lr = 0.1, .momentum = -1}); }, "momentum value: -1");
  config([&] { SGD({p}, SGDOptions{.lr = 0.1, .weight_decay = -1}); }, "weight_decay value: -1");
  config([&] { SGD({p}, SGDOptions{.lr = 0.1, .nesterov = true}); }, "nesterov");
  config([&] { SGD({p}, SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}); }, "nesterov");
  config([&] { Adam({p}, AdamOptions{.lr = -1}); }, "[Adam] invalid learning rate: -1");
  config([&] { Adam({p}, AdamOptions{.eps = -1e-8}); }, "[Adam] invalid epsilon value");
  config([&] { Adam({p}, AdamOptions{.beta1 = 1.0}); }, "[Adam] invalid beta parameter at index 0: 1");
  config([&] { AdamW({p}, AdamOptions{.beta2 = -0.1}); }, "[AdamW] invalid beta parameter at index 1: -0.1");
  config([&] { AdamW({p}, AdamOptions{.weight_decay = -0.5}); }, "[AdamW] invalid weight_decay value: -0.5");
  config([&] { RMSprop({p}, RMSpropOptions{.alpha = -1}); }, "[RMSprop] invalid alpha value: -1");
  config([&] { RMSprop({p}, RMSpropOptions{.momentum = -1}); }, "[RMSprop] invalid momentum");
  config([&] { RMSprop({p}, RMSpropOptions{.eps = -1}); }, "[RMSprop] invalid epsilon");
  config([&] { Adagrad({p}, AdagradOptions{.lr_decay = -1}); }, "[Adagrad] invalid lr_decay value: -1");
  config([&] { Adagrad({p}, AdagradOptions{.initial_accumulator_value = -1}); }, "initial_accumulator_value");
  config([&] { Adagrad({p}, AdagradOptions{.eps = -1}); }, "[Adagrad] invalid epsilon");
  EXPECT_EQ(AdamW({p}).param_groups()[0].number("weight_decay"), 1e-2);
  EXPECT_EQ(Adam({p}).param_groups()[0].number("weight_decay"), 0.0);

  Tensor plain = zeros({2});
  try {
    Adam({p, plain});
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("parameter 1 of group 0 does not require grad"), std::string::npos) << e.what();
  }
  Tensor nonleaf = mul(p, Scalar(2.0));
  try {
    SGD({nonleaf}, SGDOptions{.lr = 0.1});
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("not a leaf"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SGD(std::vector<Tensor>{}, SGDOptions{.lr = 0.1}), ValueError);
  EXPECT_THROW(SGD({p, p}, SGDOptions{.lr = 0.1}), ValueError);
}

// ---- schedulers ----

namespace {
std::vector<double> lr_sequence(const std::function<std::unique_ptr<LRScheduler>(Optimizer&)>& make, int n,
                                Optimizer& opt) {
  auto s = make(opt);
  std::vector<double> out{s->get_last_lr()[0]};
  for (int i = 0; i < n; ++i) {
    opt.step();
    s->step();
    out.push_back(s->get_last_lr()[0]);
  }
  return out;
}
}  // namespace

TEST(LrSched, MatchesPyTorchSequences) {
  const std::map<std::string, std::pair<std::function<std::unique_ptr<LRScheduler>(Optimizer&)>, std::vector<double>>> cases = {
      {"step", {[](Optimizer& o) { return std::make_unique<StepLR>(o, 3, 0.5); },
                {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125}}},
      {"multistep", {[](Optimizer& o) { return std::make_unique<MultiStepLR>(o, std::vector<int64_t>{2, 5, 5}, 0.1); },
                     {0.1, 0.1, 0.01, 0.01, 0.01, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4}}},
      {"exponential", {[](Optimizer& o) { return std::make_unique<ExponentialLR>(o, 0.9); },
                       {0.1, 0.09, 0.081, 0.0729, 0.06561, 0.059049, 0.0531441, 0.04782969, 0.043046721, 0.0387420489,
                        0.03486784401}}},
      {"cosine", {[](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 4, 0.01); },
                  {0.1, 0.086819805153394644, 0.055, 0.023180194846605363, 0.01, 0.023180194846605363, 0.055,
                   0.086819805153394686, 0.1, 0.0868198051533947, 0.055}}},
      {"linear", {[](Optimizer& o) { return std::make_unique<LinearLR>(o); },
                  {0.1 / 3, 0.046666666666666669, 0.06, 0.073333333333333348, 0.086666666666666684, 0.1, 0.1, 0.1, 0.1,
                   0.1, 0.1}}},
      {"sequential",
       {[](Optimizer& o) {
          auto warm = std::make_shared<LinearLR>(o, 0.1, 1.0, 3);
          auto decay = std::make_shared<ExponentialLR>(o, 0.9);
          return std::make_unique<SequentialLR>(o, std::vector<std::shared_ptr<LRScheduler>>{warm, decay},
                                                std::vector<int64_t>{3});
        },
        {0.01, 0.04, 0.07, 0.1, 0.09, 0.081, 0.0729, 0.06561, 0.059049, 0.0531441, 0.04782969}}},
  };
  for (const auto& [name, c] : cases) {
    Tensor p = make_param();
    SGD opt({p}, SGDOptions{.lr = 0.1, .momentum = 0.9});
    expect_near(lr_sequence(c.first, 10, opt), c.second, 1e-12, name);
  }
}

TEST(LrSched, OneCycleCyclesLrAndMomentum) {
  const std::vector<double> lrs = {0.040000000000000036, 0.52, 1, 0.95048463201347366, 0.81174565394976306,
                                   0.61126202193628931, 0.38874197806371075, 0.18825834605023697,
                                   0.049519367986526286, 3.9999999999999998e-06};
  const std::vector<double> mom = {0.95, 0.9, 0.85, 0.85495155660487898, 0.86882550990706331, 0.88887395330218422,
                                   0.91112604669781572, 0.93117449009293662, 0.94504844339512095, 0.95};
  for (bool adam : {false, true}) {
    Tensor p = make_param();
    std::unique_ptr<Optimizer> opt;
    if (adam)
      opt = std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions{.lr = 0.1});
    else
      opt = std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions{.lr = 0.1, .momentum = 0.9});
    OneCycleLR s(*opt, OneCycleLROptions{.max_lr = {1.0}, .total_steps = 10});
    auto momentum = [&] {
      const Options& o = opt->param_groups()[0].options;
      return adam ? option_tuple(o, "betas")[0] : option_number(o, "momentum");
    };
    std::vector<double> got_lr{s.get_last_lr()[0]}, got_mom{momentum()};
    for (int i = 0; i < 9; ++i) {
      s.step();
      got_lr.push_back(s.get_last_lr()[0]);
      got_mom.push_back(momentum());
    }
    expect_near(got_lr, lrs, 1e-12, "onecycle lr");
    expect_near(got_mom, mom, 1e-12, "onecycle momentum");
    s.step();
    EXPECT_THROW(s.step(), ValueError);
  }
  Tensor p = make_param();
  SGD opt({p}, SGDOptions{.lr = 0.1});
  EXPECT_THROW(OneCycleLR(opt, OneCycleLROptions{.max_lr = {1.0}}), ConfigError);
  EXPECT_THROW(OneCycleLR(opt, OneCycleLROptions{.max_lr = {1.0}, .total_steps = 10, .pct_start = 1.5}), ConfigError);
  EXPECT_THROW(OneCycleLR(opt, OneCycleLROptions{.max_lr = {1.0}, .total_steps = 10, .anneal_strategy = "x"}),
               ConfigError);
}

TEST(LrSched, StateDictRoundTripAndErrors) {
  Tensor p = make_param();
  SGD opt({p}, SGDOptions{.lr = 0.1});
  CosineAnnealingLR s(opt, 4, 0.01);
  for (int i = 0; i < 3; ++i) s.step();
  SchedulerState st = s.state_dict();
  StateDict saved_opt = opt.state_dict();
  EXPECT_EQ(std::get<int64_t>(st.values.at("last_epoch")), 3);
  std::vector<double> want;
  for (int i = 0; i < 4; ++i) {
    s.step();
    want.push_back(s.get_last_lr()[0]);
  }
  Tensor q = make_param();
  SGD opt2({q}, SGDOptions{.lr = 0.1});
  CosineAnnealingLR s2(opt2, 4, 0.01);
  opt2.load_state_dict(saved_opt);
  s2.load_state_dict(st);
  std::vector<double> got;
  for (int i = 0; i < 4; ++i) {
    s2.step();
    got.push_back(s2.get_last_lr()[0]);
  }
  expect_near(got, want, 1e-15, "cosine resumed");
  Tensor r = make_param();
  SGD opt3({r}, SGDOptions{.lr = 0.1});
  EXPECT_THROW(StepLR(opt3, 3, 0.1, 5), ConfigError);  // resuming needs "initial_lr" in each group
  EXPECT_THROW(StepLR(opt3, 0), ConfigError);
  EXPECT_THROW(LinearLR(opt3, 0.0), ConfigError);
  EXPECT_THROW(LinearLR(opt3, 0.5, 1.5), ConfigError);
  auto other = std::make_shared<ExponentialLR>(opt, 0.9);
  auto mine = std::make_shared<ExponentialLR>(opt3, 0.9);
  EXPECT_THROW(SequentialLR(opt3, {mine, other}, {2}), ValueError);
  EXPECT_THROW(SequentialLR(opt3, {mine}, {2}), ValueError);
}

// ---- clipping ----

TEST(Clip, GradNormAndValue) {
  Tensor a = make_param(), b = make_param();
  autograd::set_grad(a, tensor<float>({3, 4, 0, 0, 0, 0, 0}, {kN}));
  autograd::set_grad(b, tensor<float>({0, 0, 0, 0, 0, 0, 12}, {kN}));
  Tensor total = nn::utils::clip_grad_norm_({a, b}, 6.5);
  EXPECT_NEAR(total.item<double>(), 13.0, 1e-6);
  EXPECT_NEAR(values(autograd::grad(a))[0], 3 * 6.5 / (13 + 1e-6), 1e-6);
  EXPECT_NEAR(values(autograd::grad(b))[6], 12 * 6.5 / (13 + 1e-6), 1e-6);
  // Below the limit nothing changes; the inf norm is the largest magnitude.
  Tensor t2 = nn::utils::clip_grad_norm_({a, b}, 100.0, INFINITY);
  EXPECT_NEAR(t2.item<double>(), 6.0, 1e-5);
  EXPECT_NEAR(values(autograd::grad(b))[6], 6.0, 1e-5);
  Tensor t1 = nn::utils::clip_grad_norm_({a, b}, 100.0, 1.0);
  EXPECT_NEAR(t1.item<double>(), 1.5 + 2 + 6, 1e-5);
  autograd::set_grad(a, tensor<float>({NAN, 0, 0, 0, 0, 0, 0}, {kN}));
  EXPECT_THROW(nn::utils::clip_grad_norm_({a, b}, 1.0, 2.0, true), KernelError);
  EXPECT_TRUE(std::isnan(nn::utils::clip_grad_norm_({a, b}, 1.0).item<double>()));
  autograd::set_grad(a, tensor<float>({-3, 0.5, 2, 0, 0, 0, 0}, {kN}));
  nn::utils::clip_grad_value_({a, b}, 1.0);
  EXPECT_EQ(values(autograd::grad(a)), (std::vector<double>{-1, 0.5, 1, 0, 0, 0, 0}));
  Tensor none = make_param();
  EXPECT_EQ(nn::utils::clip_grad_norm_({none}, 1.0).item<double>(), 0.0);
}

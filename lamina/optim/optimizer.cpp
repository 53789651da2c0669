#include "lamina/optim/optimizer.h"

#include <cmath>
#include <unordered_set>

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/fused_step.h"
#include "lamina/runtime/profiler.h"

namespace lamina::optim {

using OptimArgs = ops::FusedStepArgs;

double option_number(const Options& options, const std::string& key, const char* owner) {
  auto it = options.find(key);
  LAMINA_CHECK(it != options.end(), ConfigError, owner, "missing option '", key, "'");
  if (const double* d = std::get_if<double>(&it->second)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
  LAMINA_THROW(ConfigError, owner, "option '", key, "' must be a number");
}

bool option_flag(const Options& options, const std::string& key, const char* owner) {
  auto it = options.find(key);
  LAMINA_CHECK(it != options.end(), ConfigError, owner, "missing option '", key, "'");
  const bool* b = std::get_if<bool>(&it->second);
  LAMINA_CHECK(b != nullptr, ConfigError, owner, "option '", key, "' must be a bool");
  return *b;
}

std::vector<double> option_tuple(const Options& options, const std::string& key, const char* owner) {
  auto it = options.find(key);
  LAMINA_CHECK(it != options.end(), ConfigError, owner, "missing option '", key, "'");
  const auto* v = std::get_if<std::vector<double>>(&it->second);
  LAMINA_CHECK(v != nullptr, ConfigError, owner, "option '", key, "' must be a tuple of numbers");
  return *v;
}

namespace {

// A fresh contiguous tensor of `shape` and `dtype` holding `src` (state the kernels can walk
// with the parameter's layout).
Tensor contiguous_copy(const Tensor& src, Dtype dtype) {
  Tensor out = Tensor::empty(src.shape(), dtype, src.device());
  copy_(out, src);
  return out;
}

Tensor zeros_state(const Tensor& param) { return zeros(param.shape(), {param.dtype(), param.device()}); }

// Increments a 0-d step counter and returns the new count.
double bump_step(Tensor& step, Dtype dtype) {
  if (!step.defined()) step = scalar_tensor(Scalar(0.0), dtype);
  const double t = step.item<double>() + 1.0;
  fill_(step, Scalar(t));
  return t;
}

Options with_defaults(const Options& given, const Options& defaults) {
  Options out = defaults;
  for (const auto& [k, v] : given) out[k] = v;
  return out;
}

}  // namespace

Optimizer::Optimizer(std::string name, Options defaults) : name_(std::move(name)), defaults_(std::move(defaults)) {}

void Optimizer::init_groups(std::vector<ParamGroup> groups) {
  size_t total = 0;
  for (const ParamGroup& g : groups) total += g.params.size();
  LAMINA_CHECK(!groups.empty() && total > 0, ValueError, name_.c_str(), "optimizer got an empty parameter list");
  for (const ParamGroup& g : groups) add_param_group(g);
}

void Optimizer::add_param_group(const ParamGroup& group) {
  const char* op = name_.c_str();
  ParamGroup g{group.params, with_defaults(group.options, defaults_)};
  validate(g.options);
  std::unordered_set<const void*> seen;
  for (const ParamGroup& other : groups_)
    for (const Tensor& p : other.params) seen.insert(p.impl().get());
  const size_t gi = groups_.size();
  for (size_t i = 0; i < g.params.size(); ++i) {
    const Tensor& p = g.params[i];
    LAMINA_CHECK(p.defined(), ValueError, op, "parameter ", i, " of group ", gi, " is undefined");
    LAMINA_CHECK(autograd::is_leaf(p), ValueError, op, "parameter ", i, " of group ", gi,
                 " is not a leaf tensor (can't optimize a non-leaf tensor)");
    LAMINA_CHECK(autograd::requires_grad(p), ValueError, op, "parameter ", i, " of group ", gi,
                 " does not require grad");
    LAMINA_CHECK(seen.insert(p.impl().get()).second, ValueError, op, "parameter ", i, " of group ", gi,
                 " appears more than once in the parameter groups");
  }
  groups_.push_back(std::move(g));
  for (const Tensor& p : groups_.back().params) on_add_param(p, groups_.back().options);
}

ParamState& Optimizer::state(const Tensor& p) { return state_[p.impl().get()]; }

void Optimizer::step() {
  profiler::OpScope profile_scope;  // "SGD.step", "Adam.step", ... (the name is built only when profiling)
  if (profiler::enabled()) profile_scope.start_with(name_ + ".step", profiler::EventKind::Op);
  autograd::NoGradGuard no_grad;
  ++step_count_;
  // The fused updates of all parameters are queued and launched together (the multi-tensor
  // step); parameters updated through contiguous copies are written back after it.
  std::vector<std::pair<Tensor, Tensor>> updated;  // (parameter, the tensor its update wrote)
  {
    ops::FusedStepBatch batch;
    for (ParamGroup& group : groups_) {
      for (const Tensor& p : group.params) {
        Tensor g = autograd::grad(p);
        if (!g.defined()) continue;
        LAMINA_CHECK(g.shape() == p.shape(), ShapeError, name_.c_str(), "gradient shape ", g.shape(),
                     " does not match parameter shape ", p.shape());
        if (g.dtype() != p.dtype() || !g.is_contiguous()) g = contiguous_copy(g, p.dtype());
        const Tensor work = p.is_contiguous() ? p : contiguous_copy(p, p.dtype());
        update(group.options, work, g, state(p));
        updated.emplace_back(p, work);
      }
    }
    batch.run();
  }
  for (auto& [p, work] : updated) {
    if (!work.is_same(p))
      copy_(p, work);
    else
      p.bump_version();
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  for (ParamGroup& group : groups_) {
    for (const Tensor& p : group.params) {
      Tensor g = autograd::grad(p);
      if (!g.defined()) continue;
      if (set_to_none)
        autograd::set_grad(p, Tensor());
      else
        zero_(g);
    }
  }
}

StateDict Optimizer::state_dict() const {
  StateDict sd;
  int64_t index = 0;
  for (const ParamGroup& group : groups_) {
    GroupState gs{group.options, {}};
    for (const Tensor& p : group.params) {
      auto it = state_.find(p.impl().get());
      if (it != state_.end() && !it->second.empty()) sd.state[index] = it->second;
      gs.params.push_back(index++);
    }
    sd.param_groups.push_back(std::move(gs));
  }
  return sd;
}

void Optimizer::load_state_dict(const StateDict& sd) {
  const char* op = name_.c_str();
  LAMINA_CHECK(sd.param_groups.size() == groups_.size(), ValueError, op,
               "loaded state dict has a different number of parameter groups (", sd.param_groups.size(), " vs ",
               groups_.size(), ")");
  for (size_t i = 0; i < groups_.size(); ++i)
    LAMINA_CHECK(sd.param_groups[i].params.size() == groups_[i].params.size(), ValueError, op,
                 "loaded state dict contains a parameter group that doesn't match the size of optimizer's group ", i,
                 " (", sd.param_groups[i].params.size(), " vs ", groups_[i].params.size(), ")");
  // Everything is checked and copied before the optimizer changes, so a failed load leaves it as it was.
  std::unordered_map<const void*, ParamState> new_state;
  for (size_t i = 0; i < groups_.size(); ++i) {
    for (size_t j = 0; j < groups_[i].params.size(); ++j) {
      const Tensor& p = groups_[i].params[j];
      auto it = sd.state.find(sd.param_groups[i].params[j]);
      if (it == sd.state.end()) continue;
      ParamState st;
      for (const auto& [key, t] : it->second) {
        if (!t.defined() || key == "step") {
          st[key] = t.defined() ? t.clone() : Tensor();
          continue;
        }
        LAMINA_CHECK(t.shape() == p.shape(), ValueError, op, "state '", key, "' of parameter ", j, " of group ", i,
                     " has shape ", t.shape(), ", the parameter has ", p.shape());
        st[key] = contiguous_copy(t, p.dtype());
      }
      new_state[p.impl().get()] = std::move(st);
    }
  }
  for (size_t i = 0; i < groups_.size(); ++i) groups_[i].options = sd.param_groups[i].options;
  state_ = std::move(new_state);
}

// ---- SGD ----

namespace {
Options sgd_options(const SGDOptions& o) {
  return {{"lr", o.lr},
          {"momentum", o.momentum},
          {"dampening", o.dampening},
          {"weight_decay", o.weight_decay},
          {"nesterov", o.nesterov},
          {"maximize", o.maximize}};
}
}  // namespace

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : SGD(std::vector<ParamGroup>{{std::move(params), {}}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& options) : Optimizer("SGD", sgd_options(options)) {
  init_groups(std::move(groups));
}

void SGD::validate(const Options& o) const {
  const double lr = option_number(o, "lr", "SGD"), momentum = option_number(o, "momentum", "SGD"),
               dampening = option_number(o, "dampening", "SGD"), wd = option_number(o, "weight_decay", "SGD");
  LAMINA_CHECK(lr >= 0.0, ConfigError, "SGD", "invalid learning rate: ", lr, " (must be >= 0; SGD has no default lr)");
  LAMINA_CHECK(momentum >= 0.0, ConfigError, "SGD", "invalid momentum value: ", momentum, " (must be >= 0)");
  LAMINA_CHECK(wd >= 0.0, ConfigError, "SGD", "invalid weight_decay value: ", wd, " (must be >= 0)");
  LAMINA_CHECK(!option_flag(o, "nesterov", "SGD") || (momentum > 0.0 && dampening == 0.0), ConfigError, "SGD",
               "nesterov momentum requires a momentum and zero dampening (momentum=", momentum,
               ", dampening=", dampening, ")");
  option_flag(o, "maximize", "SGD");
}

void SGD::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& st) {
  constexpr ops::FusedStep id = ops::FusedStep::Sgd;
  OptimArgs a;
  a.lr = option_number(o, "lr", "SGD");
  a.momentum = option_number(o, "momentum", "SGD");
  a.dampening = option_number(o, "dampening", "SGD");
  a.weight_decay = option_number(o, "weight_decay", "SGD");
  a.nesterov = option_flag(o, "nesterov", "SGD");
  a.maximize = option_flag(o, "maximize", "SGD");
  Tensor& buf = st["momentum_buffer"];
  if (a.momentum == 0.0) {
    ops::fused_step(id, "SGD", {&param, &grad}, nullptr, nullptr, a);
    return;
  }
  if (!buf.defined()) {
    buf = Tensor::empty(param.shape(), param.dtype(), param.device());
    a.init_buffer = true;
  }
  ops::fused_step(id, "SGD", {&param, &grad, &buf}, nullptr, nullptr, a);
}

// ---- Adam / AdamW ----

namespace {
Options adam_options(const AdamOptions& o, double default_wd) {
  return {{"lr", o.lr},           {"betas", std::vector<double>{o.beta1, o.beta2}},
          {"eps", o.eps},         {"weight_decay", o.weight_decay.value_or(default_wd)},
          {"amsgrad", o.amsgrad}, {"maximize", o.maximize}};
}
}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam("Adam", false, std::vector<ParamGroup>{{std::move(params), {}}}, options) {}
Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam("Adam", false, std::move(groups), options) {}
Adam::Adam(const char* name, bool decoupled, std::vector<ParamGroup> groups, const AdamOptions& options)
    : Optimizer(name, adam_options(options, decoupled ? 1e-2 : 0.0)), decoupled_(decoupled) {
  init_groups(std::move(groups));
}

AdamW::AdamW(std::vector<Tensor> params, const AdamOptions& options)
    : Adam("AdamW", true, std::vector<ParamGroup>{{std::move(params), {}}}, options) {}
AdamW::AdamW(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam("AdamW", true, std::move(groups), options) {}

void Adam::validate(const Options& o) const {
  const char* op = name().c_str();
  const double lr = option_number(o, "lr", op), eps = option_number(o, "eps", op),
               wd = option_number(o, "weight_decay", op);
  const std::vector<double> betas = option_tuple(o, "betas", op);
  LAMINA_CHECK(lr >= 0.0, ConfigError, op, "invalid learning rate: ", lr, " (must be >= 0)");
  LAMINA_CHECK(eps >= 0.0, ConfigError, op, "invalid epsilon value: ", eps, " (must be >= 0)");
  LAMINA_CHECK(betas.size() == 2, ConfigError, op, "betas must hold two values, got ", betas.size());
  for (int i = 0; i < 2; ++i)
    LAMINA_CHECK(betas[i] >= 0.0 && betas[i] < 1.0, ConfigError, op, "invalid beta parameter at index ", i, ": ",
                 betas[i], " (must be in [0, 1))");
  LAMINA_CHECK(wd >= 0.0, ConfigError, op, "invalid weight_decay value: ", wd, " (must be >= 0)");
  option_flag(o, "amsgrad", op);
  option_flag(o, "maximize", op);
}

void Adam::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& st) {
  constexpr ops::FusedStep id = ops::FusedStep::Adam;
  const char* op = name().c_str();
  const double lr = option_number(o, "lr", op), wd = option_number(o, "weight_decay", op);
  const std::vector<double> betas = option_tuple(o, "betas", op);
  OptimArgs a;
  a.beta1 = betas.at(0);
  a.beta2 = betas.at(1);
  a.eps = option_number(o, "eps", op);
  a.amsgrad = option_flag(o, "amsgrad", op);
  a.maximize = option_flag(o, "maximize", op);
  if (decoupled_)
    a.param_decay = 1.0 - lr * wd;
  else
    a.weight_decay = wd;
  if (!st.count("exp_avg")) {
    st["step"] = scalar_tensor(Scalar(0.0), Dtype::Float32);
    st["exp_avg"] = zeros_state(param);
    st["exp_avg_sq"] = zeros_state(param);
  }
  if (a.amsgrad && !st.count("max_exp_avg_sq")) st["max_exp_avg_sq"] = zeros_state(param);
  const double t = bump_step(st["step"], Dtype::Float32);
  a.step_size = lr / (1.0 - std::pow(a.beta1, t));
  a.bc2_sqrt = std::sqrt(1.0 - std::pow(a.beta2, t));
  ops::fused_step(id, op, {&param, &grad, &st["exp_avg"], &st["exp_avg_sq"]}, a.amsgrad ? &st["max_exp_avg_sq"] : nullptr,
            nullptr, a);
}

// ---- RMSprop ----

namespace {
Options rmsprop_options(const RMSpropOptions& o) {
  return {{"lr", o.lr},
          {"alpha", o.alpha},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"momentum", o.momentum},
          {"centered", o.centered},
          {"maximize", o.maximize}};
}
}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& options)
    : RMSprop(std::vector<ParamGroup>{{std::move(params), {}}}, options) {}
RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& options)
    : Optimizer("RMSprop", rmsprop_options(options)) {
  init_groups(std::move(groups));
}

void RMSprop::validate(const Options& o) const {
  const char* op = "RMSprop";
  const double lr = option_number(o, "lr", op), eps = option_number(o, "eps", op),
               momentum = option_number(o, "momentum", op), wd = option_number(o, "weight_decay", op),
               alpha = option_number(o, "alpha", op);
  LAMINA_CHECK(lr >= 0.0, ConfigError, op, "invalid learning rate: ", lr, " (must be >= 0)");
  LAMINA_CHECK(eps >= 0.0, ConfigError, op, "invalid epsilon value: ", eps, " (must be >= 0)");
  LAMINA_CHECK(momentum >= 0.0, ConfigError, op, "invalid momentum value: ", momentum, " (must be >= 0)");
  LAMINA_CHECK(wd >= 0.0, ConfigError, op, "invalid weight_decay value: ", wd, " (must be >= 0)");
  LAMINA_CHECK(alpha >= 0.0, ConfigError, op, "invalid alpha value: ", alpha, " (must be >= 0)");
  option_flag(o, "centered", op);
  option_flag(o, "maximize", op);
}

void RMSprop::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& st) {
  constexpr ops::FusedStep id = ops::FusedStep::RmsProp;
  const char* op = "RMSprop";
  OptimArgs a;
  a.lr = option_number(o, "lr", op);
  a.alpha = option_number(o, "alpha", op);
  a.eps = option_number(o, "eps", op);
  a.weight_decay = option_number(o, "weight_decay", op);
  a.momentum = option_number(o, "momentum", op);
  a.centered = option_flag(o, "centered", op);
  a.maximize = option_flag(o, "maximize", op);
  if (!st.count("square_avg")) {
    st["step"] = scalar_tensor(Scalar(int64_t{0}), Dtype::Int64);
    st["square_avg"] = zeros_state(param);
  }
  if (a.momentum > 0.0 && !st.count("momentum_buffer")) st["momentum_buffer"] = zeros_state(param);
  if (a.centered && !st.count("grad_avg")) st["grad_avg"] = zeros_state(param);
  bump_step(st["step"], Dtype::Int64);
  ops::fused_step(id, op, {&param, &grad, &st["square_avg"]}, a.momentum > 0.0 ? &st["momentum_buffer"] : nullptr,
            a.centered ? &st["grad_avg"] : nullptr, a);
}

// ---- Adagrad ----

namespace {
Options adagrad_options(const AdagradOptions& o) {
  return {{"lr", o.lr},
          {"lr_decay", o.lr_decay},
          {"weight_decay", o.weight_decay},
          {"initial_accumulator_value", o.initial_accumulator_value},
          {"eps", o.eps},
          {"maximize", o.maximize}};
}
}  // namespace

Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& options)
    : Adagrad(std::vector<ParamGroup>{{std::move(params), {}}}, options) {}
Adagrad::Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options)
    : Optimizer("Adagrad", adagrad_options(options)) {
  init_groups(std::move(groups));
}

void Adagrad::validate(const Options& o) const {
  const char* op = "Adagrad";
  const double lr = option_number(o, "lr", op), lr_decay = option_number(o, "lr_decay", op),
               wd = option_number(o, "weight_decay", op), init = option_number(o, "initial_accumulator_value", op),
               eps = option_number(o, "eps", op);
  LAMINA_CHECK(lr >= 0.0, ConfigError, op, "invalid learning rate: ", lr, " (must be >= 0)");
  LAMINA_CHECK(lr_decay >= 0.0, ConfigError, op, "invalid lr_decay value: ", lr_decay, " (must be >= 0)");
  LAMINA_CHECK(wd >= 0.0, ConfigError, op, "invalid weight_decay value: ", wd, " (must be >= 0)");
  LAMINA_CHECK(init >= 0.0, ConfigError, op, "invalid initial_accumulator_value value: ", init, " (must be >= 0)");
  LAMINA_CHECK(eps >= 0.0, ConfigError, op, "invalid epsilon value: ", eps, " (must be >= 0)");
  option_flag(o, "maximize", op);
}

void Adagrad::on_add_param(const Tensor& param, const Options& o) {
  ParamState& st = state(param);
  st["step"] = scalar_tensor(Scalar(0.0), Dtype::Float32);
  st["sum"] = full(param.shape(), Scalar(option_number(o, "initial_accumulator_value", "Adagrad")),
                   {param.dtype(), param.device()});
}

void Adagrad::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& st) {
  constexpr ops::FusedStep id = ops::FusedStep::Adagrad;
  const char* op = "Adagrad";
  OptimArgs a;
  const double lr = option_number(o, "lr", op), lr_decay = option_number(o, "lr_decay", op);
  a.weight_decay = option_number(o, "weight_decay", op);
  a.eps = option_number(o, "eps", op);
  a.maximize = option_flag(o, "maximize", op);
  if (!st.count("sum")) on_add_param(param, o);
  const double t = bump_step(st["step"], Dtype::Float32);
  a.step_size = lr / (1.0 + (t - 1.0) * lr_decay);
  ops::fused_step(id, op, {&param, &grad, &st["sum"]}, nullptr, nullptr, a);
}

// ---- Adadelta ----

namespace {
Options adadelta_options(const AdadeltaOptions& o) {
  return {{"lr", o.lr}, {"rho", o.rho}, {"eps", o.eps}, {"weight_decay", o.weight_decay}, {"maximize", o.maximize}};
}
}  // namespace

Adadelta::Adadelta(std::vector<Tensor> params, const AdadeltaOptions& options)
    : Adadelta(std::vector<ParamGroup>{{std::move(params), {}}}, options) {}
Adadelta::Adadelta(std::vector<ParamGroup> groups, const AdadeltaOptions& options)
    : Optimizer("Adadelta", adadelta_options(options)) {
  init_groups(std::move(groups));
}

void Adadelta::validate(const Options& o) const {
  const char* op = "Adadelta";
  const double lr = option_number(o, "lr", op), rho = option_number(o, "rho", op), eps = option_number(o, "eps", op),
               wd = option_number(o, "weight_decay", op);
  LAMINA_CHECK(lr >= 0.0, ConfigError, op, "invalid learning rate: ", lr, " (must be >= 0)");
  LAMINA_CHECK(rho >= 0.0 && rho <= 1.0, ConfigError, op, "invalid rho value: ", rho, " (must be in [0, 1])");
  LAMINA_CHECK(eps >= 0.0, ConfigError, op, "invalid epsilon value: ", eps, " (must be >= 0)");
  LAMINA_CHECK(wd >= 0.0, ConfigError, op, "invalid weight_decay value: ", wd, " (must be >= 0)");
  option_flag(o, "maximize", op);
}

// Composed of elementwise ops (any device, any floating dtype) rather than a fused kernel:
// Adadelta is rare enough in training code not to need one.
void Adadelta::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& st) {
  const char* op = "Adadelta";
  const double lr = option_number(o, "lr", op), rho = option_number(o, "rho", op), eps = option_number(o, "eps", op),
               wd = option_number(o, "weight_decay", op);
  const bool maximize = option_flag(o, "maximize", op);
  if (!st.count("square_avg")) {
    st["step"] = scalar_tensor(Scalar(0.0), Dtype::Float32);
    st["square_avg"] = zeros_state(param);
    st["acc_delta"] = zeros_state(param);
  }
  bump_step(st["step"], Dtype::Float32);
  Tensor g = maximize ? neg(grad) : grad;
  if (wd != 0.0) g = add(g, param, Scalar(wd));
  const Tensor& square_avg = st["square_avg"];
  const Tensor& acc_delta = st["acc_delta"];
  copy_(square_avg, add(mul(square_avg, Scalar(rho)), mul(g, g), Scalar(1.0 - rho)));
  Tensor delta = mul(div(sqrt(add(acc_delta, Scalar(eps))), sqrt(add(square_avg, Scalar(eps)))), g);
  copy_(acc_delta, add(mul(acc_delta, Scalar(rho)), mul(delta, delta), Scalar(1.0 - rho)));
  copy_(param, sub(param, delta, Scalar(lr)));
}

}  // namespace lamina::optim

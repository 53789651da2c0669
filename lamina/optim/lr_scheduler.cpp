#include "lamina/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "lamina/core/error.h"

namespace lamina::optim {

namespace {

constexpr double kPi = std::numbers::pi;

// Python's % for a positive divisor (never negative).
int64_t py_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

std::vector<double> to_doubles(const std::vector<int64_t>& v) { return std::vector<double>(v.begin(), v.end()); }

int64_t state_int(const SchedulerState& s, const char* key, const char* owner) {
  return static_cast<int64_t>(option_number(s.values, key, owner));
}

}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer, int64_t last_epoch, const char* name, bool init_base)
    : optimizer_(&optimizer), name_(name), last_epoch_(last_epoch) {
  if (!init_base) return;
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    if (last_epoch == -1) {
      if (!groups[i].options.count("initial_lr")) groups[i].options["initial_lr"] = group_lr(i);
    } else {
      LAMINA_CHECK(groups[i].options.count("initial_lr"), ConfigError, name,
                   "param 'initial_lr' is not specified in param_groups[", i, "] when resuming an optimizer");
    }
    base_lrs_.push_back(option_number(groups[i].options, "initial_lr", name));
  }
}

double LRScheduler::group_lr(size_t i) const { return option_number(optimizer_->param_groups()[i].options, "lr", name_); }

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

void LRScheduler::step() { step_impl(std::nullopt); }

void LRScheduler::step_impl(std::optional<int64_t> epoch) {
  ++step_count_;
  std::vector<double> values;
  if (!epoch) {
    ++last_epoch_;
    values = get_lr();
  } else {
    last_epoch_ = *epoch;
    auto closed = closed_form_lr();
    values = closed ? *closed : get_lr();
  }
  auto& groups = optimizer_->param_groups();
  for (size_t i = 0; i < groups.size() && i < values.size(); ++i) groups[i].options["lr"] = values[i];
  last_lr_.clear();
  for (size_t i = 0; i < groups.size(); ++i) last_lr_.push_back(group_lr(i));
}

SchedulerState LRScheduler::state_dict() const {
  SchedulerState s;
  s.values["base_lrs"] = base_lrs_;
  s.values["last_epoch"] = last_epoch_;
  s.values["_step_count"] = step_count_;
  s.values["_last_lr"] = last_lr_;
  s.values["verbose"] = false;
  return s;
}

void LRScheduler::load_state_dict(const SchedulerState& s) {
  if (s.values.count("base_lrs")) base_lrs_ = option_tuple(s.values, "base_lrs", name_);
  if (s.values.count("last_epoch")) last_epoch_ = state_int(s, "last_epoch", name_);
  if (s.values.count("_step_count")) step_count_ = state_int(s, "_step_count", name_);
  if (s.values.count("_last_lr")) last_lr_ = option_tuple(s.values, "_last_lr", name_);
}

// ---- StepLR ----

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma, int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch, "StepLR"), step_size_(step_size), gamma_(gamma) {
  LAMINA_CHECK(step_size > 0, ConfigError, "StepLR", "step_size must be positive, got ", step_size);
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> out;
  for (size_t i = 0; i < base_lrs_.size(); ++i) {
    const double lr = group_lr(i);
    out.push_back(last_epoch_ == 0 || last_epoch_ % step_size_ != 0 ? lr : lr * gamma_);
  }
  return out;
}

std::optional<std::vector<double>> StepLR::closed_form_lr() const {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_)));
  return out;
}

SchedulerState StepLR::state_dict() const {
  SchedulerState s = LRScheduler::state_dict();
  s.values["step_size"] = step_size_;
  s.values["gamma"] = gamma_;
  return s;
}

void StepLR::load_state_dict(const SchedulerState& s) {
  LRScheduler::load_state_dict(s);
  if (s.values.count("step_size")) step_size_ = state_int(s, "step_size", name_);
  if (s.values.count("gamma")) gamma_ = option_number(s.values, "gamma", name_);
}

// ---- MultiStepLR ----

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma, int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  const auto count = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  std::vector<double> out;
  for (size_t i = 0; i < base_lrs_.size(); ++i)
    out.push_back(count == 0 ? group_lr(i) : group_lr(i) * std::pow(gamma_, static_cast<double>(count)));
  return out;
}

std::optional<std::vector<double>> MultiStepLR::closed_form_lr() const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(gamma_, static_cast<double>(passed)));
  return out;
}

SchedulerState MultiStepLR::state_dict() const {
  SchedulerState s = LRScheduler::state_dict();
  s.values["milestones"] = to_doubles(milestones_);
  s.values["gamma"] = gamma_;
  return s;
}

void MultiStepLR::load_state_dict(const SchedulerState& s) {
  LRScheduler::load_state_dict(s);
  if (s.values.count("milestones")) {
    milestones_.clear();
    for (double m : option_tuple(s.values, "milestones", name_)) milestones_.push_back(static_cast<int64_t>(m));
  }
  if (s.values.count("gamma")) gamma_ = option_number(s.values, "gamma", name_);
}

// ---- ExponentialLR ----

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma, int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch, "ExponentialLR"), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> out;
  for (size_t i = 0; i < base_lrs_.size(); ++i) out.push_back(last_epoch_ == 0 ? group_lr(i) : group_lr(i) * gamma_);
  return out;
}

std::optional<std::vector<double>> ExponentialLR::closed_form_lr() const {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(gamma_, static_cast<double>(last_epoch_)));
  return out;
}

SchedulerState ExponentialLR::state_dict() const {
  SchedulerState s = LRScheduler::state_dict();
  s.values["gamma"] = gamma_;
  return s;
}

void ExponentialLR::load_state_dict(const SchedulerState& s) {
  LRScheduler::load_state_dict(s);
  if (s.values.count("gamma")) gamma_ = option_number(s.values, "gamma", name_);
}

// ---- CosineAnnealingLR ----

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min, int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch, "CosineAnnealingLR"), T_max_(T_max), eta_min_(eta_min) {
  LAMINA_CHECK(T_max > 0, ConfigError, "CosineAnnealingLR", "T_max must be positive, got ", T_max);
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> out;
  const double T = static_cast<double>(T_max_), e = static_cast<double>(last_epoch_);
  for (size_t i = 0; i < base_lrs_.size(); ++i) {
    const double lr = group_lr(i), base = base_lrs_[i];
    if (last_epoch_ == 0)
      out.push_back(lr);
    else if (step_count_ == 1 && last_epoch_ > 0)
      out.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(e * kPi / T)) / 2);
    else if (py_mod(last_epoch_ - 1 - T_max_, 2 * T_max_) == 0)
      out.push_back(lr + (base - eta_min_) * (1 - std::cos(kPi / T)) / 2);
    else
      out.push_back((1 + std::cos(kPi * e / T)) / (1 + std::cos(kPi * (e - 1) / T)) * (lr - eta_min_) + eta_min_);
  }
  return out;
}

std::optional<std::vector<double>> CosineAnnealingLR::closed_form_lr() const {
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(eta_min_ + (b - eta_min_) * (1 + std::cos(kPi * static_cast<double>(last_epoch_) /
                                                            static_cast<double>(T_max_))) / 2);
  return out;
}

SchedulerState CosineAnnealingLR::state_dict() const {
  SchedulerState s = LRScheduler::state_dict();
  s.values["T_max"] = T_max_;
  s.values["eta_min"] = eta_min_;
  return s;
}

void CosineAnnealingLR::load_state_dict(const SchedulerState& s) {
  LRScheduler::load_state_dict(s);
  if (s.values.count("T_max")) T_max_ = state_int(s, "T_max", name_);
  if (s.values.count("eta_min")) eta_min_ = option_number(s.values, "eta_min", name_);
}

// ---- LinearLR ----

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters,
                   int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch, "LinearLR"),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  LAMINA_CHECK(start_factor > 0.0 && start_factor <= 1.0, ConfigError, "LinearLR",
               "starting multiplicative factor expected to be greater than 0 and less or equal to 1, got ",
               start_factor);
  LAMINA_CHECK(end_factor >= 0.0 && end_factor <= 1.0, ConfigError, "LinearLR",
               "ending multiplicative factor expected to be between 0 and 1, got ", end_factor);
  LAMINA_CHECK(total_iters > 0, ConfigError, "LinearLR", "total_iters must be positive, got ", total_iters);
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  std::vector<double> out;
  for (size_t i = 0; i < base_lrs_.size(); ++i) {
    const double lr = group_lr(i);
    if (last_epoch_ == 0)
      out.push_back(lr * start_factor_);
    else if (last_epoch_ > total_iters_)
      out.push_back(lr);
    else
      out.push_back(lr * (1.0 + (end_factor_ - start_factor_) /
                                    (static_cast<double>(total_iters_) * start_factor_ +
                                     static_cast<double>(last_epoch_ - 1) * (end_factor_ - start_factor_))));
  }
  return out;
}

std::optional<std::vector<double>> LinearLR::closed_form_lr() const {
  std::vector<double> out;
  const double done = static_cast<double>(std::min(total_iters_, last_epoch_));
  for (double b : base_lrs_)
    out.push_back(b * (start_factor_ + (end_factor_ - start_factor_) * done / static_cast<double>(total_iters_)));
  return out;
}

SchedulerState LinearLR::state_dict() const {
  SchedulerState s = LRScheduler::state_dict();
  s.values["start_factor"] = start_factor_;
  s.values["end_factor"] = end_factor_;
  s.values["total_iters"] = total_iters_;
  return s;
}

void LinearLR::load_state_dict(const SchedulerState& s) {
  LRScheduler::load_state_dict(s);
  if (s.values.count("start_factor")) start_factor_ = option_number(s.values, "start_factor", name_);
  if (s.values.count("end_factor")) end_factor_ = option_number(s.values, "end_factor", name_);
  if (s.values.count("total_iters")) total_iters_ = state_int(s, "total_iters", name_);
}

// ---- OneCycleLR ----

namespace {
std::vector<double> per_group(const std::vector<double>& v, size_t groups, const char* name) {
  if (v.size() == 1) return std::vector<double>(groups, v[0]);
  LAMINA_CHECK(v.size() == groups, ConfigError, "OneCycleLR", "expected ", groups, " values for ", name, ", got ",
               v.size());
  return v;
}

int64_t one_cycle_total(const OneCycleLROptions& o) {
  const char* op = "OneCycleLR";
  if (o.total_steps) {
    LAMINA_CHECK(*o.total_steps > 0, ConfigError, op, "expected positive integer total_steps, but got ", *o.total_steps);
    return *o.total_steps;
  }
  LAMINA_CHECK(o.epochs && o.steps_per_epoch, ConfigError, op,
               "you must define either total_steps OR (epochs AND steps_per_epoch)");
  LAMINA_CHECK(*o.epochs > 0, ConfigError, op, "expected positive integer epochs, but got ", *o.epochs);
  LAMINA_CHECK(*o.steps_per_epoch > 0, ConfigError, op, "expected positive integer steps_per_epoch, but got ",
               *o.steps_per_epoch);
  return *o.epochs * *o.steps_per_epoch;
}
}  // namespace

OneCycleLR::OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& o)
    : LRScheduler(optimizer, o.last_epoch, "OneCycleLR", false),
      total_steps_(one_cycle_total(o)),
      cos_(o.anneal_strategy == "cos"),
      cycle_momentum_(o.cycle_momentum) {
  const char* op = "OneCycleLR";
  const double n = static_cast<double>(total_steps_);
  if (o.three_phase)
    phases_ = {{o.pct_start * n - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {2 * o.pct_start * n - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"},
               {n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"}};
  else
    phases_ = {{o.pct_start * n - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"}};
  LAMINA_CHECK(o.pct_start >= 0.0 && o.pct_start <= 1.0, ConfigError, op,
               "expected float between 0 and 1 pct_start, but got ", o.pct_start);
  LAMINA_CHECK(o.anneal_strategy == "cos" || o.anneal_strategy == "linear", ConfigError, op,
               "anneal_strategy must be one of 'cos' or 'linear', instead got '", o.anneal_strategy, "'");
  auto& groups = optimizer.param_groups();
  LAMINA_CHECK(!o.max_lr.empty(), ConfigError, op, "max_lr is required");
  const std::vector<double> max_lrs = per_group(o.max_lr, groups.size(), "max_lr");
  if (o.last_epoch == -1) {
    for (size_t i = 0; i < groups.size(); ++i) {
      groups[i].options["initial_lr"] = max_lrs[i] / o.div_factor;
      groups[i].options["max_lr"] = max_lrs[i];
      groups[i].options["min_lr"] = max_lrs[i] / o.div_factor / o.final_div_factor;
    }
  }
  if (cycle_momentum_) {
    const Options& d = optimizer.defaults();
    LAMINA_CHECK(d.count("momentum") || d.count("betas"), ConfigError, op,
                 "optimizer must support momentum with `cycle_momentum` option enabled");
    use_beta1_ = d.count("betas") > 0;
    const auto maxm = per_group(o.max_momentum, groups.size(), "max_momentum");
    const auto basem = per_group(o.base_momentum, groups.size(), "base_momentum");
    if (o.last_epoch == -1) {
      for (size_t i = 0; i < groups.size(); ++i) {
        if (use_beta1_) {
          std::vector<double> betas = option_tuple(groups[i].options, "betas", op);
          betas.at(0) = maxm[i];
          groups[i].options["betas"] = betas;
        } else {
          groups[i].options["momentum"] = maxm[i];
        }
        groups[i].options["max_momentum"] = maxm[i];
        groups[i].options["base_momentum"] = basem[i];
      }
    }
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    LAMINA_CHECK(groups[i].options.count("initial_lr"), ConfigError, op, "param 'initial_lr' is not specified in param_groups[",
                 i, "] when resuming an optimizer");
    base_lrs_.push_back(option_number(groups[i].options, "initial_lr", op));
  }
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (cos_) return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1);
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::get_lr() {
  const char* op = "OneCycleLR";
  LAMINA_CHECK(last_epoch_ <= total_steps_, ValueError, op, "tried to step ", last_epoch_ + 1,
               " times. The specified number of total steps is ", total_steps_);
  const double step_num = static_cast<double>(last_epoch_);
  std::vector<double> lrs;
  for (ParamGroup& group : optimizer_->param_groups()) {
    double start_step = 0, lr = 0, momentum = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& ph = phases_[i];
      if (step_num <= ph.end_step || i == phases_.size() - 1) {
        const double pct = (step_num - start_step) / (ph.end_step - start_step);
        lr = anneal(option_number(group.options, ph.start_lr, op), option_number(group.options, ph.end_lr, op), pct);
        if (cycle_momentum_)
          momentum = anneal(option_number(group.options, ph.start_momentum, op),
                            option_number(group.options, ph.end_momentum, op), pct);
        break;
      }
      start_step = ph.end_step;
    }
    lrs.push_back(lr);
    if (cycle_momentum_) {
      if (use_beta1_) {
        std::vector<double> betas = option_tuple(group.options, "betas", op);
        betas.at(0) = momentum;
        group.options["betas"] = betas;
      } else {
        group.options["momentum"] = momentum;
      }
    }
  }
  return lrs;
}

SchedulerState OneCycleLR::state_dict() const {
  SchedulerState s = LRScheduler::state_dict();
  s.values["total_steps"] = total_steps_;
  s.values["anneal_strategy"] = std::string(cos_ ? "cos" : "linear");
  s.values["cycle_momentum"] = cycle_momentum_;
  s.values["use_beta1"] = use_beta1_;
  return s;
}

void OneCycleLR::load_state_dict(const SchedulerState& s) {
  LRScheduler::load_state_dict(s);
  if (s.values.count("total_steps")) total_steps_ = state_int(s, "total_steps", name_);
}

// ---- SequentialLR ----

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones, int64_t last_epoch)
    : LRScheduler(optimizer, last_epoch + 1, "SequentialLR", false),
      schedulers_(std::move(schedulers)),
      milestones_(std::move(milestones)) {
  const char* op = "SequentialLR";
  LAMINA_CHECK(!schedulers_.empty(), ValueError, op, "expects at least one scheduler");
  for (size_t i = 0; i < schedulers_.size(); ++i)
    LAMINA_CHECK(schedulers_[i] && schedulers_[i]->optimizer_ == &optimizer, ValueError, op,
                 "expects all schedulers to belong to the same optimizer, but got scheduler at index ", i,
                 " to be different than the optimizer passed in");
  LAMINA_CHECK(milestones_.size() + 1 == schedulers_.size(), ValueError, op,
               "expects number of schedulers provided to be one more than the number of milestone points, but got "
               "number of schedulers ",
               schedulers_.size(), " and the number of milestones to be equal to ", milestones_.size());
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options["lr"] = option_number(groups[i].options, "initial_lr", op);
  for (auto& s : schedulers_) --s->last_epoch_;
  schedulers_[0]->initial_step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  ++last_epoch_;
  const size_t idx = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  LRScheduler& s = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_)
    s.step_impl(0);
  else
    s.step();
  last_lr_ = s.get_last_lr();
}

SchedulerState SequentialLR::state_dict() const {
  SchedulerState s;
  s.values["last_epoch"] = last_epoch_;
  s.values["_milestones"] = to_doubles(milestones_);
  s.values["_last_lr"] = last_lr_;
  for (const auto& child : schedulers_) s.schedulers.push_back(child->state_dict());
  return s;
}

void SequentialLR::load_state_dict(const SchedulerState& s) {
  if (s.values.count("last_epoch")) last_epoch_ = state_int(s, "last_epoch", name_);
  if (s.values.count("_last_lr")) last_lr_ = option_tuple(s.values, "_last_lr", name_);
  LAMINA_CHECK(s.schedulers.size() == schedulers_.size(), ValueError, name_, "state holds ", s.schedulers.size(),
               " schedulers, this SequentialLR has ", schedulers_.size());
  for (size_t i = 0; i < schedulers_.size(); ++i) schedulers_[i]->load_state_dict(s.schedulers[i]);
}

}  // namespace lamina::optim

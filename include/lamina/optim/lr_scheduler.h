#pragma once
// Learning-rate schedulers with PyTorch 1.13's chainable update rules (and closed forms where
// PyTorch has them), so a lamina run follows the same lr sequence as PyTorch's.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lamina/optim/optimizer.h"

namespace lamina::optim {

/// A scheduler's state dict: PyTorch's attribute names ("last_epoch", "base_lrs", "_last_lr",
/// "_step_count", ...) and, for SequentialLR, the wrapped schedulers' states.
struct SchedulerState {
  /// Attributes by name.
  std::map<std::string, OptionValue> values;
  /// SequentialLR's "_schedulers".
  std::vector<SchedulerState> schedulers;
};

/// Base of the schedulers: sets each group's "lr" at every step().
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one epoch/iteration and writes the new lr into each param group.
  virtual void step();
  /// The lr of each group after the last step.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The index of the last step (-1 before the first).
  int64_t last_epoch() const { return last_epoch_; }
  /// The initial lr of each group.
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The optimizer whose groups this scheduler sets.
  Optimizer& optimizer() const { return *optimizer_; }
  /// The scheduler's state.
  virtual SchedulerState state_dict() const;
  /// Restores a state from state_dict().
  virtual void load_state_dict(const SchedulerState& state);

 protected:
  /// Sets (last_epoch == -1) or requires each group's "initial_lr"; `name` names it in errors.
  LRScheduler(Optimizer& optimizer, int64_t last_epoch, const char* name, bool init_base = true);
  /// The first step, run at the end of each derived constructor.
  void initial_step();
  /// One step; with `epoch`, jumps there through the closed form when there is one.
  void step_impl(std::optional<int64_t> epoch);
  /// The chainable rule: new lrs from the groups' current ones.
  virtual std::vector<double> get_lr() = 0;
  /// The closed form at last_epoch, when the scheduler has one.
  virtual std::optional<std::vector<double>> closed_form_lr() const { return std::nullopt; }
  /// The current lr of group i.
  double group_lr(size_t i) const;

  Optimizer* optimizer_;
  const char* name_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  friend class SequentialLR;
};

/// lr *= gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  /// PyTorch's StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1).
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1, int64_t last_epoch = -1);
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& state) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// lr *= gamma at each milestone (a milestone listed k times multiplies by gamma^k).
class MultiStepLR : public LRScheduler {
 public:
  /// PyTorch's MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1).
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1, int64_t last_epoch = -1);
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& state) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  std::vector<int64_t> milestones_;  // sorted, repeats kept
  double gamma_;
};

/// lr *= gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  /// PyTorch's ExponentialLR(optimizer, gamma, last_epoch=-1).
  ExponentialLR(Optimizer& optimizer, double gamma, int64_t last_epoch = -1);
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& state) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  double gamma_;
};

/// Cosine annealing from the base lr to eta_min over T_max epochs (PyTorch's recursive form).
class CosineAnnealingLR : public LRScheduler {
 public:
  /// PyTorch's CosineAnnealingLR(optimizer, T_max, eta_min=0, last_epoch=-1).
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0, int64_t last_epoch = -1);
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& state) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

/// Linear change of the lr factor from start_factor to end_factor over total_iters (warm-up).
class LinearLR : public LRScheduler {
 public:
  /// PyTorch's LinearLR(optimizer, start_factor=1/3, end_factor=1, total_iters=5, last_epoch=-1).
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0, int64_t total_iters = 5,
           int64_t last_epoch = -1);
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& state) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

/// OneCycleLR options (PyTorch's defaults); give total_steps, or epochs and steps_per_epoch.
struct OneCycleLROptions {
  std::vector<double> max_lr;  // one value for all groups, or one per group
  std::optional<int64_t> total_steps{};
  std::optional<int64_t> epochs{};
  std::optional<int64_t> steps_per_epoch{};
  double pct_start = 0.3;
  std::string anneal_strategy = "cos";
  bool cycle_momentum = true;
  std::vector<double> base_momentum = {0.85};
  std::vector<double> max_momentum = {0.95};
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
  int64_t last_epoch = -1;
};

/// The 1cycle policy: lr up to max_lr then down to min_lr, momentum (or beta1) the other way.
class OneCycleLR : public LRScheduler {
 public:
  /// PyTorch's OneCycleLR(optimizer, max_lr, ...); ConfigError for invalid settings.
  OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& options);
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& state) override;

 protected:
  std::vector<double> get_lr() override;

 private:
  struct Phase {
    double end_step;
    const char* start_lr;
    const char* end_lr;
    const char* start_momentum;
    const char* end_momentum;
  };
  double anneal(double start, double end, double pct) const;
  int64_t total_steps_;
  bool cos_;
  bool cycle_momentum_;
  bool use_beta1_ = false;
  std::vector<Phase> phases_;
};

/// Runs schedulers one after another, switching at each milestone.
class SequentialLR : public LRScheduler {
 public:
  /// PyTorch's SequentialLR(optimizer, schedulers, milestones, last_epoch=-1); ValueError when a
  /// scheduler has another optimizer or len(milestones) != len(schedulers) - 1.
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<int64_t> milestones, int64_t last_epoch = -1);
  void step() override;
  SchedulerState state_dict() const override;
  void load_state_dict(const SchedulerState& state) override;
  /// The wrapped schedulers.
  const std::vector<std::shared_ptr<LRScheduler>>& schedulers() const { return schedulers_; }

 protected:
  std::vector<double> get_lr() override { return last_lr_; }

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

}  // namespace lamina::optim

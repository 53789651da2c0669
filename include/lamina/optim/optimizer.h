#pragma once
// Optimizers with PyTorch 1.13's update rules, parameter groups and state_dict layout. Each
// parameter's update runs as one fused kernel (lamina/kernels/cpu/optim.cpp).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::optim {

/// A hyper-parameter value: a flag, an integer, a real, a tuple of reals (betas) or a string.
using OptionValue = std::variant<bool, int64_t, double, std::vector<double>, std::string>;
/// Hyper-parameters by PyTorch's names ("lr", "momentum", "betas", ...).
using Options = std::map<std::string, OptionValue>;

/// The real value of a numeric option (int or double); ConfigError when absent or not numeric.
double option_number(const Options& options, const std::string& key, const char* owner = "optim");
/// The value of a flag option; ConfigError when absent or not a bool.
bool option_flag(const Options& options, const std::string& key, const char* owner = "optim");
/// The value of a tuple option; ConfigError when absent or not a tuple.
std::vector<double> option_tuple(const Options& options, const std::string& key, const char* owner = "optim");

/// Parameters sharing one set of hyper-parameters.
struct ParamGroup {
  /// The parameters (leaf tensors that require grad).
  std::vector<Tensor> params;
  /// Hyper-parameters; missing keys are filled from the optimizer's defaults when added.
  Options options;
  /// The numeric option `key`.
  double number(const std::string& key) const { return option_number(options, key); }
  /// The flag option `key`.
  bool flag(const std::string& key) const { return option_flag(options, key); }
};

/// State of one parameter ("step", "exp_avg", "momentum_buffer", ...); an undefined tensor is
/// PyTorch's None.
using ParamState = std::map<std::string, Tensor>;

/// One group in a state dict: its hyper-parameters and the indices of its parameters.
struct GroupState {
  /// Hyper-parameters.
  Options options;
  /// Parameter indices, numbered across groups in order (PyTorch's layout).
  std::vector<int64_t> params;
};

/// An optimizer's state dict: per-parameter state by index, and the groups.
struct StateDict {
  /// State of each parameter that has any, keyed by parameter index.
  std::map<int64_t, ParamState> state;
  /// The groups with their hyper-parameters and parameter indices.
  std::vector<GroupState> param_groups;
};

/// Base of all optimizers: parameter groups, per-parameter state, step / zero_grad / state_dict.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// The optimizer's class name ("SGD", "Adam", ...).
  const std::string& name() const { return name_; }
  /// The groups; changing an option (e.g. "lr") takes effect at the next step.
  std::vector<ParamGroup>& param_groups() { return groups_; }
  /// The groups (read-only).
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  /// The defaults new groups take their missing options from.
  const Options& defaults() const { return defaults_; }
  /// Adds a group: missing options come from the defaults; options are validated (ConfigError)
  /// and parameters checked (ValueError: not a leaf requiring grad, or already in a group).
  void add_param_group(const ParamGroup& group);
  /// Updates every parameter that has a gradient, one fused kernel per parameter.
  void step();
  /// Clears the gradients (set_to_none) or zeroes them in place.
  void zero_grad(bool set_to_none = true);
  /// The state (tensors shared with the optimizer, as in PyTorch) and groups.
  StateDict state_dict() const;
  /// Replaces state and hyper-parameters with copies of `sd`'s; ValueError when the groups'
  /// count or sizes differ.
  void load_state_dict(const StateDict& sd);
  /// The state of parameter `p` (created empty when absent).
  ParamState& state(const Tensor& p);
  /// Number of step() calls so far.
  int64_t step_count() const { return step_count_; }

 protected:
  /// `name` names the optimizer in errors; `defaults` fill each group's missing options.
  Optimizer(std::string name, Options defaults);
  /// Adds the constructor's groups (called at the end of each derived constructor).
  void init_groups(std::vector<ParamGroup> groups);
  /// Throws ConfigError naming the optimizer for an invalid option of a group.
  virtual void validate(const Options& options) const = 0;
  /// Called for each parameter of a new group (Adagrad creates its state here).
  virtual void on_add_param(const Tensor&, const Options&) {}
  /// Updates one parameter: `param`, `grad` and the state are contiguous and of one dtype.
  virtual void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) = 0;

 private:
  std::string name_;
  Options defaults_;
  std::vector<ParamGroup> groups_;
  std::unordered_map<const void*, ParamState> state_;
  int64_t step_count_ = 0;
};

/// SGD hyper-parameters (PyTorch's defaults; lr has none and must be given).
struct SGDOptions {
  double lr = -1.0;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool maximize = false;
};

/// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.
class SGD : public Optimizer {
 public:
  /// One group holding `params`.
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  /// Several groups; each group's options override `options`.
  SGD(std::vector<ParamGroup> groups, const SGDOptions& options);

 protected:
  void validate(const Options& options) const override;
  void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

/// Adam / AdamW hyper-parameters (weight_decay defaults to 0 for Adam, 1e-2 for AdamW).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  std::optional<double> weight_decay{};  // unset: 0 for Adam, 1e-2 for AdamW
  bool amsgrad = false;
  bool maximize = false;
};

/// Adam (L2 weight decay added to the gradient).
class Adam : public Optimizer {
 public:
  /// One group holding `params`.
  Adam(std::vector<Tensor> params, const AdamOptions& options = {});
  /// Several groups; each group's options override `options`.
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options = {});

 protected:
  /// For AdamW.
  Adam(const char* name, bool decoupled, std::vector<ParamGroup> groups, const AdamOptions& options);
  void validate(const Options& options) const override;
  void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;

 private:
  bool decoupled_ = false;
};

/// AdamW: Adam with decoupled weight decay (the parameter is scaled by 1 - lr * weight_decay).
class AdamW : public Adam {
 public:
  /// One group holding `params`.
  AdamW(std::vector<Tensor> params, const AdamOptions& options = {});
  /// Several groups; each group's options override `options`.
  AdamW(std::vector<ParamGroup> groups, const AdamOptions& options = {});
};

/// RMSprop hyper-parameters (PyTorch's defaults).
struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
  bool maximize = false;
};

/// RMSprop, optionally centered and with momentum.
class RMSprop : public Optimizer {
 public:
  /// One group holding `params`.
  RMSprop(std::vector<Tensor> params, const RMSpropOptions& options = {});
  /// Several groups; each group's options override `options`.
  RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& options = {});

 protected:
  void validate(const Options& options) const override;
  void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

/// Adagrad hyper-parameters (PyTorch's defaults).
struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
  bool maximize = false;
};

/// Adagrad with learning-rate decay; its state is created when a parameter is added.
class Adagrad : public Optimizer {
 public:
  /// One group holding `params`.
  Adagrad(std::vector<Tensor> params, const AdagradOptions& options = {});
  /// Several groups; each group's options override `options`.
  Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options = {});

 protected:
  void validate(const Options& options) const override;
  void on_add_param(const Tensor& param, const Options& options) override;
  void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

/// Adadelta hyper-parameters (PyTorch's defaults).
struct AdadeltaOptions {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0.0;
  bool maximize = false;
};

/// Adadelta: steps scaled by the running RMS of past updates over that of the gradients.
class Adadelta : public Optimizer {
 public:
  /// One group holding `params`.
  Adadelta(std::vector<Tensor> params, const AdadeltaOptions& options = {});
  /// Several groups; each group's options override `options`.
  Adadelta(std::vector<ParamGroup> groups, const AdadeltaOptions& options = {});

 protected:
  void validate(const Options& options) const override;
  void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace lamina::optim

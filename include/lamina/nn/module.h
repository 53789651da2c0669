#pragma once
// nn::Module: the base of every layer. Holds named parameters, buffers and child modules in
// registration order, and derives from them PyTorch's dotted names, state_dict layout,
// train/eval mode, dtype conversion and a nested repr.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::nn {

/// Ordered (name, tensor) pairs: parameters, buffers, state dicts.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// Keys reported by load_state_dict.
struct LoadResult {
  /// Keys the module has but the state dict lacked.
  std::vector<std::string> missing_keys;
  /// Keys in the state dict that the module does not have.
  std::vector<std::string> unexpected_keys;
};

/// Base class of layers and containers (PyTorch's torch.nn.Module).
class Module {
 public:
  /// `type_name` is the class name shown in repr and errors, e.g. "Linear".
  explicit Module(std::string type_name);
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The computation; the base raises NotImplementedError (containers without forward).
  virtual Tensor forward(const Tensor& input);
  /// Calls forward.
  Tensor operator()(const Tensor& input) { return forward(input); }

  /// The class name, e.g. "Linear".
  const std::string& type_name() const { return type_name_; }
  /// The text inside the parentheses of repr (layer settings); empty by default.
  virtual std::string extra_repr() const { return ""; }
  /// PyTorch-style repr, children indented on their own lines.
  std::string repr() const;

  /// Adds (or replaces) a parameter; an undefined tensor registers an absent one (bias=False).
  /// Sets its requires_grad flag. ValueError on an empty name or one containing '.'.
  void register_parameter(const std::string& name, const Tensor& param, bool requires_grad = true);
  /// Adds (or replaces) a buffer (saved in state_dict unless persistent is false).
  void register_buffer(const std::string& name, const Tensor& buffer, bool persistent = true);
  /// Adds (or replaces) a child module; returns it.
  std::shared_ptr<Module> register_module(const std::string& name, std::shared_ptr<Module> child);
  /// Typed register_module.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    register_module(name, std::static_pointer_cast<Module>(child));
    return child;
  }

  /// This module's own parameter `name` (undefined for an absent one); ValueError if unknown.
  const Tensor& param(const std::string& name) const;
  /// This module's own buffer `name`; ValueError if unknown.
  const Tensor& buffer(const std::string& name) const;
  /// Child `name`; ValueError if unknown.
  std::shared_ptr<Module> child(const std::string& name) const;
  /// True when this module has its own parameter `name` (present or absent).
  bool has_param(const std::string& name) const;

  /// Parameters (defined ones), this module's first, then each child's, without duplicates.
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// Parameters with dotted names ("0.weight", "fc.bias").
  NamedTensors named_parameters(bool recurse = true) const;
  /// Buffers (defined ones).
  std::vector<Tensor> buffers(bool recurse = true) const;
  /// Buffers with dotted names.
  NamedTensors named_buffers(bool recurse = true) const;
  /// Direct children.
  std::vector<std::shared_ptr<Module>> children() const;
  /// Direct children with their names.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// This module and all descendants, depth first (each once).
  std::vector<Module*> modules();
  /// modules() with dotted names ("" for this module).
  std::vector<std::pair<std::string, Module*>> named_modules();

  /// Parameters and persistent buffers by dotted name, in PyTorch's order (detached aliases).
  NamedTensors state_dict() const;
  /// Copies matching entries into the module's tensors. ShapeError naming the key on a shape
  /// mismatch; with strict, ValueError listing missing / unexpected keys.
  LoadResult load_state_dict(const NamedTensors& state, bool strict = true);

  /// Sets training mode on this module and its descendants.
  virtual void train(bool on = true);
  /// train(false).
  void eval() { train(false); }
  /// True in training mode.
  bool is_training() const { return training_; }
  /// Converts floating parameters and buffers (recursively) to `dtype`; parameters stay leaves
  /// requiring grad (new tensors: build optimizers after to()).
  void to(Dtype dtype);
  /// Moves parameters (as new leaves, keeping requires_grad) and buffers to `device`.
  void to(Device device);
  /// Clears (set_to_none) or zeroes the gradients of all parameters.
  void zero_grad(bool set_to_none = true);
  /// Calls fn on every descendant, then on this module (PyTorch's order).
  void apply(const std::function<void(Module&)>& fn);

 protected:
  /// For subclasses whose forward validates input: "[Name] " prefix for messages.
  std::string op_name() const { return type_name_; }

 private:
  struct Slot {
    std::string name;
    Tensor tensor;
    bool persistent = true;
  };
  void collect_named(const std::string& prefix, bool recurse, bool buffers, NamedTensors& out,
                     std::vector<const TensorImpl*>& seen) const;
  void collect_state(const std::string& prefix, NamedTensors& out) const;
  void collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out,
                       std::vector<const Module*>& seen);
  Slot* find_slot(const std::string& key);

  std::string type_name_;
  bool training_ = true;
  std::vector<Slot> params_;
  std::vector<Slot> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

/// A double as Python's repr writes it ("1e-05", "0.5", "1.0"), for extra_repr.
std::string format_float(double v);
/// A bool as Python writes it ("True" / "False").
inline const char* format_bool(bool v) { return v ? "True" : "False"; }

}  // namespace lamina::nn

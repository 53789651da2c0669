#include "lamina/nn/module.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/ops/copy.h"

namespace lamina::nn {

namespace {

void check_name(const std::string& type, const std::string& name) {
  LAMINA_CHECK(!name.empty() && name.find('.') == std::string::npos, ValueError, type,
               "attribute name must be non-empty and contain no '.', got '", name, "'");
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (int64_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string indent(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '\n') out += "  ";
  }
  return out;
}

}  // namespace

std::string format_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, sci.ptr);
  int exp = std::stoi(s.substr(s.find('e') + 1));
  if (exp < -4 || exp >= 16) return s;  // already "1e-05" style, as Python
  auto fix = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  s.assign(buf, fix.ptr);
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

Tensor Module::forward(const Tensor&) {
  LAMINA_THROW(NotImplementedError, type_name_, "Module [", type_name_, "] is missing the required \"forward\" function");
}

std::string Module::repr() const {
  std::string extra = extra_repr();
  if (children_.empty()) return type_name_ + "(" + extra + ")";
  std::string out = type_name_ + "(";
  if (!extra.empty()) out += "\n  " + indent(extra);
  for (const auto& [name, child] : children_)
    out += "\n  (" + name + "): " + (child ? indent(child->repr()) : std::string("None"));
  return out + "\n)";
}

void Module::register_parameter(const std::string& name, const Tensor& param, bool requires_grad) {
  check_name(type_name_, name);
  if (param.defined()) {
    LAMINA_CHECK(is_floating(param.dtype()), DTypeError, type_name_, "parameter '", name,
                 "' must be floating point, got ", dtype_name(param.dtype()));
    if (autograd::requires_grad(param) != requires_grad) autograd::set_requires_grad(param, requires_grad);
    autograd::mark_parameter(param);
  }
  for (auto& s : params_)
    if (s.name == name) {
      s.tensor = param;
      return;
    }
  params_.push_back({name, param, true});
}

void Module::register_buffer(const std::string& name, const Tensor& buffer, bool persistent) {
  check_name(type_name_, name);
  for (auto& s : buffers_)
    if (s.name == name) {
      s.tensor = buffer;
      s.persistent = persistent;
      return;
    }
  buffers_.push_back({name, buffer, persistent});
}

std::shared_ptr<Module> Module::register_module(const std::string& name, std::shared_ptr<Module> child) {
  check_name(type_name_, name);
  for (auto& c : children_)
    if (c.first == name) {
      c.second = child;
      return child;
    }
  children_.emplace_back(name, child);
  return child;
}

bool Module::has_param(const std::string& name) const {
  return std::any_of(params_.begin(), params_.end(), [&](const Slot& s) { return s.name == name; });
}

const Tensor& Module::param(const std::string& name) const {
  for (const auto& s : params_)
    if (s.name == name) return s.tensor;
  LAMINA_THROW(ValueError, type_name_, "has no parameter '", name, "'");
}

const Tensor& Module::buffer(const std::string& name) const {
  for (const auto& s : buffers_)
    if (s.name == name) return s.tensor;
  LAMINA_THROW(ValueError, type_name_, "has no buffer '", name, "'");
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  for (const auto& c : children_)
    if (c.first == name) return c.second;
  LAMINA_THROW(ValueError, type_name_, "has no submodule '", name, "'");
}

void Module::collect_named(const std::string& prefix, bool recurse, bool buffers, NamedTensors& out,
                           std::vector<const TensorImpl*>& seen) const {
  for (const auto& s : buffers ? buffers_ : params_) {
    if (!s.tensor.defined()) continue;
    const TensorImpl* key = s.tensor.impl().get();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;  // shared (tied) weights once
    seen.push_back(key);
    out.emplace_back(prefix + s.name, s.tensor);
  }
  if (!recurse) return;
  for (const auto& [name, child] : children_)
    if (child) child->collect_named(prefix + name + ".", true, buffers, out, seen);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect_named("", recurse, false, out, seen);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect_named("", recurse, true, out, seen);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& c : children_)
    if (c.second) out.push_back(c.second);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& c : children_)
    if (c.second) out.push_back(c);
  return out;
}

void Module::collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out,
                             std::vector<const Module*>& seen) {
  if (std::find(seen.begin(), seen.end(), this) != seen.end()) return;
  seen.push_back(this);
  out.emplace_back(prefix, this);
  for (const auto& [name, child] : children_)
    if (child) child->collect_modules(prefix.empty() ? name : prefix + "." + name, out, seen);
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  std::vector<const Module*> seen;
  collect_modules("", out, seen);
  return out;
}

std::vector<Module*> Module::modules() {
  std::vector<Module*> out;
  for (auto& [n, m] : named_modules()) out.push_back(m);
  return out;
}

void Module::collect_state(const std::string& prefix, NamedTensors& out) const {
  // PyTorch's order: own parameters, own persistent buffers, then each child; duplicates
  // (tied weights) appear under every name, as in PyTorch.
  for (const auto& s : params_)
    if (s.tensor.defined()) out.emplace_back(prefix + s.name, autograd::detach(s.tensor));
  for (const auto& s : buffers_)
    if (s.tensor.defined() && s.persistent) out.emplace_back(prefix + s.name, autograd::detach(s.tensor));
  for (const auto& [name, child] : children_)
    if (child) child->collect_state(prefix + name + ".", out);
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect_state("", out);
  return out;
}

LoadResult Module::load_state_dict(const NamedTensors& state, bool strict) {
  NamedTensors own = state_dict();
  LoadResult result;
  for (const auto& [key, t] : own) {
    auto it = std::find_if(state.begin(), state.end(), [&](const auto& kv) { return kv.first == key; });
    if (it == state.end()) result.missing_keys.push_back(key);
  }
  for (const auto& [key, t] : state) {
    auto it = std::find_if(own.begin(), own.end(), [&](const auto& kv) { return kv.first == key; });
    if (it == own.end()) result.unexpected_keys.push_back(key);
  }
  if (strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty())) {
    std::string msg = "Error(s) in loading state_dict for " + type_name_ + ":";
    auto list = [](const std::vector<std::string>& keys) {
      std::string s;
      for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", \"" : "\"") + keys[i] + "\"";
      return s;
    };
    if (!result.missing_keys.empty()) msg += " Missing key(s) in state_dict: " + list(result.missing_keys) + ".";
    if (!result.unexpected_keys.empty())
      msg += " Unexpected key(s) in state_dict: " + list(result.unexpected_keys) + ".";
    LAMINA_THROW(ValueError, type_name_, msg);
  }
  // Check every shape before copying anything, so a failed load leaves the module unchanged.
  for (const auto& [key, dst] : own) {
    auto it = std::find_if(state.begin(), state.end(), [&](const auto& kv) { return kv.first == key; });
    if (it == state.end()) continue;
    LAMINA_CHECK(it->second.defined(), ValueError, type_name_, "state_dict entry '", key, "' is undefined");
    LAMINA_CHECK(it->second.shape() == dst.shape(), ShapeError, type_name_, "size mismatch for ", key,
                 ": copying a param with shape ", shape_str(it->second.shape()),
                 " from checkpoint, the shape in current model is ", shape_str(dst.shape()));
  }
  autograd::NoGradGuard guard;
  for (const auto& [key, dst] : own) {
    auto it = std::find_if(state.begin(), state.end(), [&](const auto& kv) { return kv.first == key; });
    if (it != state.end()) copy_(dst, it->second);
  }
  return result;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_)
    if (c) c->train(on);
}

void Module::to(Dtype dtype) {
  LAMINA_CHECK(is_floating(dtype), DTypeError, type_name_, "to() only accepts floating point dtypes, got ",
               dtype_name(dtype));
  for (auto& s : params_) {
    if (!s.tensor.defined() || s.tensor.dtype() == dtype) continue;
    Tensor t = autograd::detach(s.tensor).to(dtype);
    autograd::set_requires_grad(t, autograd::requires_grad(s.tensor));
    s.tensor = t;
  }
  for (auto& s : buffers_)
    if (s.tensor.defined() && is_floating(s.tensor.dtype()) && s.tensor.dtype() != dtype) s.tensor = s.tensor.to(dtype);
  for (auto& [n, c] : children_)
    if (c) c->to(dtype);
}

void Module::to(Device device) {
  for (auto& s : params_) {
    if (!s.tensor.defined() || s.tensor.device() == device) continue;
    Tensor t = autograd::detach(s.tensor).to(device);
    autograd::set_requires_grad(t, autograd::requires_grad(s.tensor));
    s.tensor = t;
  }
  for (auto& s : buffers_)
    if (s.tensor.defined() && s.tensor.device() != device) s.tensor = s.tensor.to(device);
  for (auto& [n, c] : children_)
    if (c) c->to(device);
}

void Module::zero_grad(bool set_to_none) {
  for (const Tensor& p : parameters()) {
    Tensor g = autograd::grad(p);
    if (!g.defined()) continue;
    if (set_to_none) {
      autograd::set_grad(p, Tensor());
    } else {
      autograd::NoGradGuard guard;
      zero_(g);
    }
  }
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [n, c] : children_)
    if (c) c->apply(fn);
  fn(*this);
}

}  // namespace lamina::nn

#pragma once
// Containers: Sequential (chained forward), ModuleList and ModuleDict (registration only).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lamina/nn/module.h"

namespace lamina::nn {

/// Children named "0", "1", ...; forward feeds each one's output to the next.
class Sequential : public Module {
 public:
  /// The modules in order.
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules = {});
  /// Appends a module (named by its position).
  void append(std::shared_ptr<Module> module);
  /// Runs the children in order.
  Tensor forward(const Tensor& input) override;
  /// Number of children.
  size_t size() const { return children().size(); }
  /// Child i (negative counts from the end); IndexError when out of range.
  std::shared_ptr<Module> operator[](int64_t i) const;
};

/// Holds submodules in a list (named "0", "1", ...); has no forward.
class ModuleList : public Module {
 public:
  /// The modules in order.
  explicit ModuleList(std::vector<std::shared_ptr<Module>> modules = {});
  /// Appends a module.
  void append(std::shared_ptr<Module> module);
  /// Number of modules.
  size_t size() const { return children().size(); }
  /// Module i (negative counts from the end); IndexError when out of range.
  std::shared_ptr<Module> operator[](int64_t i) const;
};

/// Holds submodules by name, in insertion order; has no forward.
class ModuleDict : public Module {
 public:
  /// The (name, module) pairs in order.
  explicit ModuleDict(std::vector<std::pair<std::string, std::shared_ptr<Module>>> modules = {});
  /// Adds or replaces module `key`.
  void insert(const std::string& key, std::shared_ptr<Module> module);
  /// Module `key`; ValueError when absent.
  std::shared_ptr<Module> operator[](const std::string& key) const { return child(key); }
  /// Number of modules.
  size_t size() const { return children().size(); }
};

}  // namespace lamina::nn

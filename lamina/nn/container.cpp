#include "lamina/nn/container.h"

#include <typeinfo>

#include "lamina/core/error.h"
#include "lamina/nn/activation.h"
#include "lamina/nn/conv.h"
#include "lamina/nn/layers.h"

namespace lamina::nn {

namespace {

std::shared_ptr<Module> at(const Module& m, int64_t i) {
  auto kids = m.children();
  int64_t n = static_cast<int64_t>(kids.size());
  LAMINA_CHECK(i >= -n && i < n, IndexError, m.type_name(), "index ", i, " is out of range for ", n, " modules");
  return kids[i < 0 ? i + n : i];
}

}  // namespace

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) : Module("Sequential") {
  for (auto& m : modules) append(std::move(m));
}

void Sequential::append(std::shared_ptr<Module> module) {
  LAMINA_CHECK(module != nullptr, ValueError, "Sequential", "cannot append a null module");
  register_module(std::to_string(size()), std::move(module));
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  const auto mods = children();
  for (size_t i = 0; i < mods.size(); ++i) {
    // A Conv2d followed by a ReLU runs as one op (the ReLU inside the convolution's primitive
    // on the CPU); only the exact layer types, so a subclass's own forward always runs.
    if (i + 1 < mods.size() && typeid(*mods[i]) == typeid(Conv2d) && typeid(*mods[i + 1]) == typeid(ReLU)) {
      x = static_cast<Conv2d&>(*mods[i]).forward_relu(x);
      ++i;
      continue;
    }
    // A Linear followed by a GELU: the GELU runs on the GEMM's bands (ops::addmm_gelu).
    if (i + 1 < mods.size() && typeid(*mods[i]) == typeid(Linear) && typeid(*mods[i + 1]) == typeid(GELU)) {
      x = static_cast<Linear&>(*mods[i]).forward_gelu(x, static_cast<GELU&>(*mods[i + 1]).approximate);
      ++i;
      continue;
    }
    x = mods[i]->forward(x);
  }
  return x;
}

std::shared_ptr<Module> Sequential::operator[](int64_t i) const { return at(*this, i); }

ModuleList::ModuleList(std::vector<std::shared_ptr<Module>> modules) : Module("ModuleList") {
  for (auto& m : modules) append(std::move(m));
}

void ModuleList::append(std::shared_ptr<Module> module) {
  LAMINA_CHECK(module != nullptr, ValueError, "ModuleList", "cannot append a null module");
  register_module(std::to_string(size()), std::move(module));
}

std::shared_ptr<Module> ModuleList::operator[](int64_t i) const { return at(*this, i); }

ModuleDict::ModuleDict(std::vector<std::pair<std::string, std::shared_ptr<Module>>> modules) : Module("ModuleDict") {
  for (auto& [k, m] : modules) insert(k, std::move(m));
}

void ModuleDict::insert(const std::string& key, std::shared_ptr<Module> module) {
  LAMINA_CHECK(module != nullptr, ValueError, "ModuleDict", "cannot insert a null module");
  register_module(key, std::move(module));
}

}  // namespace lamina::nn

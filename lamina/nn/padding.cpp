#include "lamina/nn/padding.h"

#include "lamina/core/print.h"
#include "lamina/ops/join.h"

namespace lamina::nn {

Pad::Pad(const char* name, int64_t dims, std::vector<int64_t> pads, std::string m, double v)
    : Module(name),
      spatial_dims(dims),
      padding(std::move(pads)),
      mode(std::move(m)),
      value(v),
      show_value(mode == "constant" && std::string(name).rfind("Constant", 0) == 0) {
  LAMINA_CHECK(static_cast<int64_t>(padding.size()) == 2 * spatial_dims, ConfigError, name, "padding needs ",
               2 * spatial_dims, " values, got ", padding.size());
  for (int64_t p : padding) LAMINA_CHECK(p >= 0, ConfigError, name, "padding must be non-negative, got ", p);
  LAMINA_CHECK(mode == "constant" || mode == "reflect" || mode == "replicate", ConfigError, name,
               "mode must be 'constant', 'reflect' or 'replicate', got '", mode, "'");
}

Tensor Pad::forward(const Tensor& x) {
  LAMINA_CHECK(x.defined() && (x.dim() == spatial_dims + 1 || x.dim() == spatial_dims + 2), ShapeError,
               type_name().c_str(), "expected ", spatial_dims + 1, "-D or ", spatial_dims + 2, "-D input, got ",
               describe(x));
  return pad(x, padding, mode, value);
}

std::string Pad::extra_repr() const {
  std::string s = "(";
  for (size_t i = 0; i < padding.size(); ++i) s += (i ? ", " : "") + std::to_string(padding[i]);
  s += ")";
  return show_value ? "padding=" + s + ", value=" + format_float(value) : s;
}

}  // namespace lamina::nn

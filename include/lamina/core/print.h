#pragma once
// Printing options (PyTorch's set_printoptions); Tensor::str and operator<< use them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lamina {

class Tensor;

/// How tensors print.
struct PrintOptions {
  int precision = 4;               // digits after the decimal point
  int64_t threshold = 1000;        // summarize tensors with more elements than this
  int64_t edgeitems = 3;           // items shown at each end of a summarized dim
  int64_t linewidth = 80;          // characters per line
  std::optional<bool> sci_mode = std::nullopt;  // force (true) / forbid (false) scientific notation; default: auto

  /// PyTorch's named profiles: "default", "short" (precision 2, edgeitems 2) or "full"
  /// (never summarize); throws ValueError for any other name.
  static PrintOptions profile(std::string_view name);
};

/// Sets the print options (process-wide); throws ConfigError for negative values or linewidth < 1.
void set_printoptions(const PrintOptions& options);
/// The current print options.
PrintOptions get_printoptions();

/// The repr of `t` with `extra_suffixes` (e.g. "requires_grad=True", "grad_fn=<AddBackward0>")
/// appended after the device/size/dtype suffixes, wrapped onto new lines as PyTorch does.
std::string tensor_repr(const Tensor& t, const std::vector<std::string>& extra_suffixes = {});

}  // namespace lamina

#pragma once
// Printing options (PyTorch's set_printoptions); Tensor::str and operator<< use them.
#include <cstdint>
#include <optional>

namespace lamina {

/// How tensors print.
struct PrintOptions {
  int precision = 4;               // digits after the decimal point
  int64_t threshold = 1000;        // summarize tensors with more elements than this
  int64_t edgeitems = 3;           // items shown at each end of a summarized dim
  int64_t linewidth = 80;          // characters per line
  std::optional<bool> sci_mode;    // force (true) / forbid (false) scientific notation; default: auto
};

/// Sets the print options; throws ConfigError for negative values.
void set_printoptions(const PrintOptions& options);
/// The current print options.
PrintOptions get_printoptions();

}  // namespace lamina

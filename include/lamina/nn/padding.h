#pragma once
// Padding layers (torch.nn.ReflectionPad1d/2d, ReplicationPad1d/2d, ZeroPad1d/2d,
// ConstantPad1d/2d): one module over lamina::pad with a fixed mode and amounts.
#include <string>
#include <vector>

#include "lamina/nn/module.h"

namespace lamina::nn {

/// Pads the last len(padding) / 2 dims: padding is (left, right[, top, bottom]) as in F.pad.
class Pad : public Module {
 public:
  /// mode "constant", "reflect" or "replicate"; `spatial_dims` (1 or 2) fixes the padded dims,
  /// and inputs have spatial_dims + 1 or + 2 dims. ConfigError for negative amounts or a bad mode.
  Pad(const char* name, int64_t spatial_dims, std::vector<int64_t> padding, std::string mode, double value = 0.0);
  /// lamina::pad(x, padding, mode, value); ShapeError for the wrong rank.
  Tensor forward(const Tensor& input) override;
  /// "(1, 1, 2, 2)", or "padding=(1, 1, 2, 2), value=0.5" for ConstantPad.
  std::string extra_repr() const override;
  int64_t spatial_dims;          ///< 1 or 2
  std::vector<int64_t> padding;  ///< per side, last dim first
  std::string mode;              ///< "constant", "reflect" or "replicate"
  double value;                  ///< the constant mode's fill
  bool show_value;               ///< whether the repr names the value (ConstantPad*)
};

}  // namespace lamina::nn

#pragma once
// Fused optimizer updates: one pass per parameter reads the parameter, its gradient and its
// state and writes the parameter and the state. The optimizer (lamina/optim/) validates,
// lays the tensors out and precomputes every scalar in double.
#include <cstdint>

#include "lamina/kernels/loops.h"

namespace lamina::kernels {

/// Scalars and extra state operands of one fused optimizer step.
struct OptimArgs {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  double beta1 = 0, beta2 = 0, eps = 0, alpha = 0;
  double step_size = 0;    // Adam: lr / (1 - beta1^t); Adagrad: lr / (1 + (t - 1) lr_decay)
  double bc2_sqrt = 1;     // Adam: sqrt(1 - beta2^t)
  double param_decay = 1;  // AdamW: 1 - lr * weight_decay, applied to the parameter first
  bool nesterov = false, maximize = false, amsgrad = false, centered = false;
  bool init_buffer = false;  // SGD: the first step copies d_p into the momentum buffer
  /// Operands beyond the StridedLoop's four, laid out like operand 0: an element's address is
  /// extra[k] + (its operand-0 address - base0). Null when unused.
  const char* base0 = nullptr;
  char* extra[2] = {nullptr, nullptr};
};

/// Signature of the fused optimizer kernels ("sgd_step", "adam_step", "rmsprop_step",
/// "adagrad_step"): operand 0 is the parameter (read and written), 1 its gradient, then state.
using OptimKernel = void (*)(const StridedLoop&, const OptimArgs&);

}  // namespace lamina::kernels

#pragma once
// The fused optimizer updates as an op: lamina/optim/ calls this, never a kernel. One pass per
// parameter reads the parameter, its gradient and its state and writes the parameter and the
// state (kernels/optim.h). Internal: not a public header.
#include <initializer_list>

#include "lamina/core/tensor.h"
#include "lamina/kernels/optim.h"

namespace lamina::ops {

/// The fused update kernels.
enum class FusedStep { Sgd, Adam, RmsProp, Adagrad };

/// Scalars (and extra state pointers, filled in here) of one fused update.
using FusedStepArgs = kernels::OptimArgs;

/// Runs one fused update over contiguous operands of one layout: the parameter (read and
/// written), its gradient, then state tensors; `extra0` / `extra1` are more state laid out like
/// the parameter, or null. DTypeError naming `name` when no kernel exists for the dtype.
void fused_step(FusedStep step, const char* name, std::initializer_list<const Tensor*> operands, const Tensor* extra0,
                const Tensor* extra1, FusedStepArgs args);

}  // namespace lamina::ops

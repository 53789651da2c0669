#pragma once
// Kernel launches: the runtime, not the ops, looks a kernel up, makes the operands' device
// current and splits the work over the thread pool. One entry per geometry (the line kernels'
// launch_lines is in loops.h).
#include <initializer_list>

#include "lamina/core/tensor.h"
#include "lamina/kernels/loops.h"
#include "lamina/runtime/dispatch.h"

namespace lamina::runtime {

/// How a kernel's params depend on where a part of the loop starts when the pool splits it.
enum class Split {
  Free,          // elementwise: any part is computed alone
  CounterParam,  // params.i is the counter of element 0 (random draws): each part gets its own
};

/// Runs the elementwise kernel (op, dtype) over operands (output first), already broadcast:
/// one launch on a device's current stream, or on the CPU large loops split along their
/// outermost dim across the thread pool.
void launch_elementwise(OpId op, Dtype kernel_dtype, std::initializer_list<const Tensor*> operands,
                        const kernels::KernelParams& params = {}, Split split = Split::Free);

}  // namespace lamina::runtime

#pragma once
// Kernel launches: the runtime, not the ops, looks a kernel up, makes the operands' device
// current and splits the work over the thread pool. One entry per geometry (the line kernels'
// launch_lines is in loops.h).
#include <initializer_list>

#include "lamina/core/tensor.h"
#include "lamina/kernels/loops.h"
#include "lamina/runtime/device_backend.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/parallel.h"

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

/// Calls run(part, first) for the parts of `loop` a launch on `device` makes: the whole loop once
/// on a device (made current; the GPU does the splitting), or on the CPU parts of the outermost
/// dim across the thread pool when the loop is large; `first` is the part's first element.
template <class Run>
void for_each_part(const kernels::StridedLoop& loop, Device device, Run&& run) {
  if (loop.numel == 0) return;
  if (!device.is_cpu()) {
    DeviceGuard guard(device);
    run(loop, int64_t{0});
    return;
  }
  if (loop.numel < 2 * kParallelGrain || loop.ndim == 0) {
    run(loop, int64_t{0});
    return;
  }
  const int64_t inner = loop.numel / loop.shape[0];
  parallel_for(loop.shape[0], inner,
               [&](int64_t begin, int64_t end) { run(kernels::slice_outer(loop, begin, end), begin * inner); });
}

/// Runs a strided kernel with its own argument struct (the fused optimizer steps) over `loop` on
/// `device`, split as for_each_part does.
template <class Args>
void launch_strided(void (*kernel)(const kernels::StridedLoop&, const Args&), const kernels::StridedLoop& loop,
                    const Args& args, Device device) {
  for_each_part(loop, device, [&](const kernels::StridedLoop& part, int64_t) { kernel(part, args); });
}

}  // namespace lamina::runtime

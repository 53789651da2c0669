#include "lamina/runtime/launch.h"

#include "lamina/runtime/device_backend.h"
#include "lamina/runtime/loops.h"
#include "lamina/runtime/parallel.h"

namespace lamina::runtime {

void launch_elementwise(OpId op, Dtype kernel_dtype, std::initializer_list<const Tensor*> operands,
                        const kernels::KernelParams& params, Split split) {
  const Tensor& out = **operands.begin();
  auto kernel = find_kernel<kernels::ElementwiseKernel>(op, out.device(), kernel_dtype);
  if (out.numel() == 0) return;
  const kernels::StridedLoop loop = make_strided_loop(operands);
  if (!out.device().is_cpu()) {  // one launch on the device's stream; the GPU does the splitting
    DeviceGuard guard(out.device());
    kernel(loop, params);
    return;
  }
  if (loop.numel < 2 * kParallelGrain || loop.ndim == 0) {
    kernel(loop, params);
    return;
  }
  const int64_t inner = loop.numel / loop.shape[0];
  parallel_for(loop.shape[0], inner, [&](int64_t begin, int64_t end) {
    kernels::KernelParams part_params = params;
    if (split == Split::CounterParam) part_params.i += begin * inner;
    kernel(kernels::slice_outer(loop, begin, end), part_params);
  });
}

}  // namespace lamina::runtime

#include "lamina/runtime/launch.h"

#include "lamina/runtime/loops.h"

namespace lamina::runtime {

void launch_elementwise(OpId op, Dtype kernel_dtype, std::initializer_list<const Tensor*> operands,
                        const kernels::KernelParams& params, Split split) {
  const Tensor& out = **operands.begin();
  auto kernel = find_kernel<kernels::ElementwiseKernel>(op, out.device(), kernel_dtype);
  if (out.numel() == 0) return;
  for_each_part(make_strided_loop(operands), out.device(), [&](const kernels::StridedLoop& part, int64_t first) {
    kernels::KernelParams part_params = params;
    if (split == Split::CounterParam) part_params.i += first;
    kernel(part, part_params);
  });
}

}  // namespace lamina::runtime

#include "lamina/ops/fused_step.h"

#include "lamina/core/error.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/launch.h"
#include "lamina/runtime/loops.h"

namespace lamina::ops {

namespace {
runtime::OpId op_of(FusedStep step) {
  constexpr runtime::OpId ids[] = {runtime::op_id(kernels::Op::sgd_step), runtime::op_id(kernels::Op::adam_step),
                                   runtime::op_id(kernels::Op::rmsprop_step),
                                   runtime::op_id(kernels::Op::adagrad_step)};
  return ids[static_cast<int>(step)];
}
}  // namespace

void fused_step(FusedStep step, const char* name, std::initializer_list<const Tensor*> operands, const Tensor* extra0,
                const Tensor* extra1, FusedStepArgs args) {
  const Tensor& param = **operands.begin();
  const runtime::OpId id = op_of(step);
  LAMINA_CHECK(runtime::has_kernel(id, param.device(), param.dtype()), DTypeError, name,
               "no fused kernel for parameters of dtype ", dtype_name(param.dtype()), " on ", param.device().str());
  if (param.numel() == 0) return;
  args.base0 = static_cast<const char*>(param.data_ptr());
  args.extra[0] = extra0 ? static_cast<char*>(extra0->data_ptr()) : nullptr;
  args.extra[1] = extra1 ? static_cast<char*>(extra1->data_ptr()) : nullptr;
  runtime::launch_strided<kernels::OptimKernel>(id, param.dtype(), runtime::make_strided_loop(operands), args,
                                                param.device());
}

}  // namespace lamina::ops

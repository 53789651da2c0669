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
  if (FusedStepBatch* batch = FusedStepBatch::current()) {
    batch->add(step, operands, extra0, extra1, args);
    return;
  }
  args.base0 = static_cast<const char*>(param.data_ptr());
  args.extra[0] = extra0 ? static_cast<char*>(extra0->data_ptr()) : nullptr;
  args.extra[1] = extra1 ? static_cast<char*>(extra1->data_ptr()) : nullptr;
  runtime::launch_strided<kernels::OptimKernel>(id, param.dtype(), runtime::make_strided_loop(operands), args,
                                                param.device());
}

namespace {
thread_local FusedStepBatch* t_batch = nullptr;
}  // namespace

FusedStepBatch::FusedStepBatch() : previous_(t_batch) { t_batch = this; }

FusedStepBatch::~FusedStepBatch() { t_batch = previous_; }

FusedStepBatch* FusedStepBatch::current() { return t_batch; }

void FusedStepBatch::add(FusedStep step, std::initializer_list<const Tensor*> operands, const Tensor* extra0,
                         const Tensor* extra1, const FusedStepArgs& args) {
  Item item{step, {}, static_cast<int>(operands.size()), extra0 ? *extra0 : Tensor(), extra1 ? *extra1 : Tensor(),
            args};
  int k = 0;
  for (const Tensor* t : operands) item.operands[k++] = *t;
  items_.push_back(std::move(item));
}

void FusedStepBatch::run() {
  std::vector<Item> items = std::move(items_);
  items_.clear();
  // One launch per device (a model normally lives on one), the items in queue order.
  std::vector<bool> done(items.size(), false);
  for (size_t first = 0; first < items.size(); ++first) {
    if (done[first]) continue;
    const Device device = items[first].operands[0].device();
    std::vector<runtime::StridedWork<FusedStepArgs>> work;
    for (size_t i = first; i < items.size(); ++i) {
      Item& it = items[i];
      if (done[i] || it.operands[0].device() != device) continue;
      done[i] = true;
      const Tensor* o = it.operands.data();
      kernels::StridedLoop loop = it.count == 2   ? runtime::make_strided_loop({&o[0], &o[1]})
                                  : it.count == 3 ? runtime::make_strided_loop({&o[0], &o[1], &o[2]})
                                                  : runtime::make_strided_loop({&o[0], &o[1], &o[2], &o[3]});
      it.args.base0 = static_cast<const char*>(o[0].data_ptr());
      it.args.extra[0] = it.extra0.defined() ? static_cast<char*>(it.extra0.data_ptr()) : nullptr;
      it.args.extra[1] = it.extra1.defined() ? static_cast<char*>(it.extra1.data_ptr()) : nullptr;
      work.push_back({op_of(it.step), o[0].dtype(), loop, it.args});
    }
    runtime::launch_strided_batch<kernels::OptimKernel>(work, device);
  }
}

}  // namespace lamina::ops

// Three-operand elementwise ops on the GPU: where(cond, a, b) and clamp(x, lo, hi).
#include "lamina/kernels/cuda/elementwise_launch.cuh"
#include "lamina/kernels/cuda/functors.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {

template <class T>
struct WhereKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    launch_elementwise(loop, WhereOp<T>(params), "where");
  }
};

template <class T>
struct ClampKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    launch_elementwise(loop, ClampOp<T>(params), "clamp");
  }
};

}  // namespace

void register_ternary_kernels() {
  register_cuda<WhereKernel, LAMINA_CUDA_ALL_TYPES>(Op::where);
  register_cuda<ClampKernel, LAMINA_CUDA_NUMERIC_TYPES>(Op::clamp);
}

}  // namespace lamina::kernels::cuda

// Strided copy with dtype conversion (contiguous(), to(dtype), assignment) and fill on the GPU.
#include "lamina/kernels/cuda/elementwise_launch.cuh"
#include "lamina/kernels/cuda/functors.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {

// Registered per destination dtype; params.i carries the source dtype (as on the CPU).
template <class To>
struct CopyKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    visit_storage(static_cast<Dtype>(params.i),
                  [&](auto from) { launch_elementwise(loop, ConvertOp<To, decltype(from)>(params), "copy"); });
  }
};

template <class T>
struct FillKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    launch_elementwise(loop, FillOp<T>(params), "fill");
  }
};

}  // namespace

void register_copy_kernels() {
  register_cuda<CopyKernel, LAMINA_CUDA_ALL_TYPES>(Op::copy);
  register_cuda<FillKernel, LAMINA_CUDA_ALL_TYPES>(Op::fill);
}

}  // namespace lamina::kernels::cuda

// Random fills on the device: element k (row-major over the output) is draw(seed, params.i + k),
// the CPU kernels' numbering, so a seed gives the same tensor on either device (random_math.cuh).
#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/cuda/index_loop.cuh"
#include "lamina/kernels/cuda/random_math.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {

namespace rm = random_math;

enum class Draw { Uniform, Normal, Randint };

template <class T, Draw D>
__global__ void fill_kernel(StridedLoop loop, KernelParams params) {
  const uint64_t seed = static_cast<uint64_t>(params.j), first = static_cast<uint64_t>(params.i);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < loop.numel; e += stride) {
    int64_t off[1];
    strided_offsets<1>(loop, e, off);
    T* out = reinterpret_cast<T*>(loop.data[0] + off[0]);
    const uint64_t counter = first + static_cast<uint64_t>(e);
    if constexpr (D == Draw::Uniform)
      *out = rm::uniform_element<T>(seed, counter, params.a, params.b);
    else if constexpr (D == Draw::Normal)
      *out = rm::normal_element<T>(seed, counter, params.a, params.b);
    else
      *out = rm::randint_element<T>(seed, counter, params.lo, params.hi);
  }
}

template <class T, Draw D>
void launch_fill(const StridedLoop& loop, const KernelParams& params, const char* op) {
  if (loop.numel == 0) return;
  fill_kernel<T, D><<<grid_blocks(loop.numel), kBlockThreads, 0, launch_stream()>>>(loop, params);
  lamina::cuda::check_kernel_launch(op);
}

template <class T>
struct UniformKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    launch_fill<T, Draw::Uniform>(loop, params, "uniform");
  }
};
template <class T>
struct NormalKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    launch_fill<T, Draw::Normal>(loop, params, "normal");
  }
};
template <class T>
struct RandintKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    launch_fill<T, Draw::Randint>(loop, params, "randint");
  }
};

}  // namespace

void register_random_kernels() {
  register_cuda<UniformKernel, LAMINA_CUDA_FLOAT_TYPES>(Op::uniform);
  register_cuda<NormalKernel, LAMINA_CUDA_FLOAT_TYPES>(Op::normal);
  register_cuda<RandintKernel, LAMINA_CUDA_INT_TYPES, LAMINA_CUDA_FLOAT_TYPES>(Op::randint);
}

}  // namespace lamina::kernels::cuda

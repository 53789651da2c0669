// Fused optimizer steps on the device: one thread per parameter element reads the parameter,
// its gradient and its state once and writes them back, with the per-element update of
// optim_math.cuh (the CPU kernels' formulas, bit for bit).
#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/cuda/index_loop.cuh"
#include "lamina/kernels/cuda/optim_math.cuh"
#include "lamina/kernels/cuda/register.h"
#include "lamina/kernels/optim.h"

namespace lamina::kernels::cuda {
namespace {

using kernels::OptimArgs;
namespace om = optim_math;

enum class Family { Sgd, Adam, Rmsprop, Adagrad };

// Operands 2 and 3 are state (null when the loop has fewer operands); extras share operand 0's
// layout, so their element sits at the same distance from their base as the parameter's.
template <class T, Family F>
__global__ void step_kernel(StridedLoop loop, om::Consts<compute_t<T>> k, const char* base0, char* extra0,
                            char* extra1) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < loop.numel; e += stride) {
    int64_t off[4];
    strided_offsets<4>(loop, e, off);
    char* p0 = loop.data[0] + off[0];
    T* p = reinterpret_cast<T*>(p0);
    const T* g = reinterpret_cast<const T*>(loop.data[1] + off[1]);
    T* s2 = loop.num_operands > 2 ? reinterpret_cast<T*>(loop.data[2] + off[2]) : nullptr;
    T* s3 = loop.num_operands > 3 ? reinterpret_cast<T*>(loop.data[3] + off[3]) : nullptr;
    const int64_t rel = p0 - base0;
    T* x0 = extra0 ? reinterpret_cast<T*>(extra0 + rel) : nullptr;
    T* x1 = extra1 ? reinterpret_cast<T*>(extra1 + rel) : nullptr;
    if constexpr (F == Family::Sgd)
      om::sgd_update<T>(k, p, g, s2);
    else if constexpr (F == Family::Adam)
      om::adam_update<T>(k, p, g, s2, s3, x0);
    else if constexpr (F == Family::Rmsprop)
      om::rmsprop_update<T>(k, p, g, s2, x0, x1);
    else
      om::adagrad_update<T>(k, p, g, s2);
  }
}

template <class T, Family F>
void launch_step(const StridedLoop& loop, const OptimArgs& a, const char* op) {
  if (loop.numel == 0) return;
  // Unused operand slots copy operand 0 so the offset walk reads defined strides.
  StridedLoop l = loop;
  for (int k = l.num_operands; k < kernels::kMaxOperands; ++k) {
    l.data[k] = l.data[0];
    for (int d = 0; d < l.ndim; ++d) l.strides[k][d] = l.strides[0][d];
  }
  step_kernel<T, F><<<grid_blocks(l.numel), kBlockThreads, 0, launch_stream()>>>(l, om::make_consts<compute_t<T>>(a),
                                                                                 a.base0, a.extra[0], a.extra[1]);
  lamina::cuda::check_kernel_launch(op);
}

template <class T>
struct SgdStep {
  static void run(const StridedLoop& loop, const OptimArgs& a) { launch_step<T, Family::Sgd>(loop, a, "sgd_step"); }
};
template <class T>
struct AdamStep {
  static void run(const StridedLoop& loop, const OptimArgs& a) { launch_step<T, Family::Adam>(loop, a, "adam_step"); }
};
template <class T>
struct RmspropStep {
  static void run(const StridedLoop& loop, const OptimArgs& a) {
    launch_step<T, Family::Rmsprop>(loop, a, "rmsprop_step");
  }
};
template <class T>
struct AdagradStep {
  static void run(const StridedLoop& loop, const OptimArgs& a) {
    launch_step<T, Family::Adagrad>(loop, a, "adagrad_step");
  }
};

}  // namespace

void register_optim_kernels() {
  register_cuda<SgdStep, LAMINA_CUDA_FLOAT_TYPES>(Op::sgd_step);
  register_cuda<AdamStep, LAMINA_CUDA_FLOAT_TYPES>(Op::adam_step);
  register_cuda<RmspropStep, LAMINA_CUDA_FLOAT_TYPES>(Op::rmsprop_step);
  register_cuda<AdagradStep, LAMINA_CUDA_FLOAT_TYPES>(Op::adagrad_step);
}

}  // namespace lamina::kernels::cuda

#pragma once
// Registration of table-driven elementwise ops (functors.cuh tables) on the CUDA backend.
#include "lamina/kernels/cuda/elementwise_launch.cuh"
#include "lamina/kernels/cuda/functors.cuh"

namespace lamina::kernels::cuda {

/// The registrable kernel of Wrapper<T, Fn>; Label::value names the op in launch errors.
template <template <class, class> class Wrapper, class Fn, class Label>
struct TableKernel {
  template <class T>
  struct K {
    static void run(const StridedLoop& loop, const KernelParams& params) {
      launch_elementwise(loop, Wrapper<T, Fn>(params), Label::value);
    }
  };
};

}  // namespace lamina::kernels::cuda

/// Declares the label type of one table entry (at namespace scope).
#define LAMINA_CUDA_TABLE_LABEL(name, Wrapper, Fn, types) \
  struct Label_##name##_##Fn {                            \
    static constexpr const char* value = #name;           \
  };
/// Registers one table entry for every type of its list.
#define LAMINA_CUDA_TABLE_REGISTER(name, Wrapper, Fn, types) \
  register_cuda<TableKernel<Wrapper, Fn, Label_##name##_##Fn>::template K, LAMINA_CUDA_TYPES_##types>(#name);

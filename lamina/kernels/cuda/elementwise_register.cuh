#pragma once
// Registration of the rows of kernels/elementwise_table.h on the CUDA backend.
#include "lamina/kernels/cuda/elementwise_launch.cuh"
#include "lamina/kernels/cuda/functors.cuh"
#include "lamina/kernels/elementwise_table.h"

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

/// Registers a row's bool functor, when it has one.
template <template <class, class> class Wrapper, class BoolFn, class Label>
void register_bool_variant(Op op) {
  if constexpr (!std::is_same_v<BoolFn, NoFn>) register_cuda<TableKernel<Wrapper, BoolFn, Label>::template K, bool>(op);
}

}  // namespace lamina::kernels::cuda

/// Declares the label type of one table row (at namespace scope).
#define LAMINA_CUDA_TABLE_LABEL(name, ...)      \
  struct Label_##name {                         \
    static constexpr const char* value = #name; \
  };
/// Registers one unary row for every type of its list (and its bool variant).
#define LAMINA_CUDA_REGISTER_UNARY(name, kind, types, Fn, BoolFn, ...)                                          \
  register_cuda<TableKernel<LAMINA_IF_BOOL_RESULT(kind, UnaryToBoolOp, UnaryOp), Fn, Label_##name>::template K, \
                LAMINA_CUDA_TYPES_##types>(Op::name);                                                           \
  register_bool_variant<UnaryOp, BoolFn, Label_##name>(Op::name);
/// Registers one binary row for every type of its list (and its bool variant).
#define LAMINA_CUDA_REGISTER_BINARY(name, kind, types, Fn, BoolFn, ...)                                           \
  register_cuda<TableKernel<LAMINA_IF_BOOL_RESULT(kind, BinaryToBoolOp, BinaryOp), Fn, Label_##name>::template K, \
                LAMINA_CUDA_TYPES_##types>(Op::name);                                                             \
  register_bool_variant<BinaryOp, BoolFn, Label_##name>(Op::name);

#pragma once
// Typed op ids known at compile time: the elementwise ops of kernels/elementwise_table.h in table
// order, then the kernels of the other families (LAMINA_KERNEL_TABLE). The dispatch table reserves
// these ids first, so `op_id(Op::add)` is a constant and names are only for messages; backends
// register under an Op, never a string. (runtime::op_id(string) interns a name at run time, for
// kernels a plugin adds.)
#include <cstdint>
#include <string_view>

#include "lamina/kernels/elementwise_table.h"

// The kernels outside the elementwise table, by family: X(name).
// clang-format off
#define LAMINA_KERNEL_TABLE(X)                                                                         \
  /* elementwise, own drivers */ X(where) X(clamp) X(copy) X(fill)                                      \
  /* random */ X(uniform) X(normal) X(randint)                                                         \
  /* reductions (kernels/reduce_table.h) */ X(sum) X(extreme) X(var) X(logsumexp) X(norm) X(all_any)  \
  X(cumulative)                                                                                        \
  /* lines */ X(softmax) X(softmax_backward) X(sort) X(topk)                                           \
  /* indexing */ X(index_range) X(index_offsets) X(mask_count) X(mask_offsets) X(gather) X(scatter)   \
  X(nonzero)                                                                                           \
  /* products and windows */ X(matmul) X(im2col) X(col2im) X(max_pool2d) X(max_pool2d_backward)       \
  X(cudnn_conv2d) X(cudnn_conv2d_backward_input) X(cudnn_conv2d_backward_weight)                       \
  /* fused */ X(layer_norm) X(layer_norm_backward) X(rms_norm) X(rms_norm_backward) X(cross_entropy)  \
  X(cross_entropy_backward) X(scaled_dot_product_attention) X(scaled_dot_product_attention_backward)   \
  X(batch_norm) X(batch_norm_backward)                                                                 \
  /* optimizer steps */ X(sgd_step) X(adam_step) X(rmsprop_step) X(adagrad_step)
// clang-format on

namespace lamina::kernels {

#define LAMINA_OP_ENUM_ENTRY(name, ...) name,
/// Every op with a compile-time id.
enum class Op : int32_t {
  LAMINA_UNARY_TABLE(LAMINA_OP_ENUM_ENTRY) LAMINA_BINARY_TABLE(LAMINA_OP_ENUM_ENTRY)
      LAMINA_KERNEL_TABLE(LAMINA_OP_ENUM_ENTRY)
};
#undef LAMINA_OP_ENUM_ENTRY

#define LAMINA_OP_NAME_ENTRY(name, ...) #name,
/// Names of the ops of `Op`, in its order.
inline constexpr std::string_view kOpNames[] = {LAMINA_UNARY_TABLE(LAMINA_OP_NAME_ENTRY) LAMINA_BINARY_TABLE(
    LAMINA_OP_NAME_ENTRY) LAMINA_KERNEL_TABLE(LAMINA_OP_NAME_ENTRY)};
#undef LAMINA_OP_NAME_ENTRY

#define LAMINA_OP_COUNT_ENTRY(name, ...) +1
/// How many ops have a compile-time id.
inline constexpr int32_t kNumTypedOps = 0 LAMINA_UNARY_TABLE(LAMINA_OP_COUNT_ENTRY)
    LAMINA_BINARY_TABLE(LAMINA_OP_COUNT_ENTRY) LAMINA_KERNEL_TABLE(LAMINA_OP_COUNT_ENTRY);
#undef LAMINA_OP_COUNT_ENTRY
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == kNumTypedOps, "kOpNames must list every Op");

/// The name of `op` ("add").
constexpr std::string_view op_name(Op op) { return kOpNames[static_cast<int32_t>(op)]; }

}  // namespace lamina::kernels

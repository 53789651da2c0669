#pragma once
// Typed op ids known at compile time. The elementwise ops come from kernels/elementwise_table.h,
// in table order, then the other table-free kernels that share their drivers; the dispatch table
// reserves these ids first, so `op_id(Op::add)` is a constant and names are only for messages.
// (Ops of the other families still intern a name at first use: runtime::op_id(string).)
#include <cstdint>
#include <string_view>

#include "lamina/kernels/elementwise_table.h"

namespace lamina::kernels {

#define LAMINA_OP_ENUM_ENTRY(name, ...) name,
/// Every op with a compile-time id.
enum class Op : int32_t {
  LAMINA_UNARY_TABLE(LAMINA_OP_ENUM_ENTRY) LAMINA_BINARY_TABLE(LAMINA_OP_ENUM_ENTRY) where,
  clamp,
};
#undef LAMINA_OP_ENUM_ENTRY

#define LAMINA_OP_NAME_ENTRY(name, ...) #name,
/// Names of the ops of `Op`, in its order.
inline constexpr std::string_view kOpNames[] = {
    LAMINA_UNARY_TABLE(LAMINA_OP_NAME_ENTRY) LAMINA_BINARY_TABLE(LAMINA_OP_NAME_ENTRY) "where", "clamp",
};
#undef LAMINA_OP_NAME_ENTRY

/// How many ops have a compile-time id.
inline constexpr int32_t kNumTypedOps = static_cast<int32_t>(sizeof(kOpNames) / sizeof(kOpNames[0]));
static_assert(kNumTypedOps == static_cast<int32_t>(Op::clamp) + 1, "kOpNames must list every Op");

/// The name of `op` ("add").
constexpr std::string_view op_name(Op op) { return kOpNames[static_cast<int32_t>(op)]; }

}  // namespace lamina::kernels

#pragma once
// The kernel table: kernels are found by (op, backend, dtype); the backend follows the device
// and, on CPU, the selected ISA path (cpu_simd falls back to cpu_scalar where it has no kernel).
#include <cstdint>
#include <string>
#include <string_view>

#include "lamina/core/device.h"
#include "lamina/core/dtype.h"
#include "lamina/runtime/config.h"
#include "lamina/kernels/op.h"

namespace lamina::runtime {

/// The kernel collections a kernel can be registered under.
enum class Backend : uint8_t { CpuScalar, CpuSimd, Cuda };
/// Number of backends (for tables indexed by backend).
inline constexpr int kNumBackends = 3;

/// A registered op name's index in the table.
using OpId = int32_t;

/// The id of a typed op: a constant (the table reserves ids 0..kNumTypedOps-1 for them).
constexpr OpId op_id(kernels::Op op) { return static_cast<OpId>(op); }
/// Interns `name` (idempotent; a typed op's name gives its typed id); ops of the families without
/// typed ids keep the result in a function-local static.
OpId op_id(std::string_view name);
/// The name an id was interned under.
const std::string& op_name(OpId op);
/// How many op names are interned (ids are 0..op_count()-1), counting every registered kernel's op.
OpId op_count();

/// Stores `fn` as the kernel for (op, backend, dtype). Called from kernel registration functions.
void register_kernel(OpId op, Backend backend, Dtype dtype, void* fn);

/// The raw kernel for (op, device, dtype); throws NotImplementedError when none exists.
void* find_kernel_raw(OpId op, Device device, Dtype dtype);

/// The kernel for (op, device, dtype), cast to its family's function type.
template <class Fn>
Fn find_kernel(OpId op, Device device, Dtype dtype) {
  return reinterpret_cast<Fn>(find_kernel_raw(op, device, dtype));
}

/// True when a kernel exists for (op, device, dtype).
bool has_kernel(OpId op, Device device, Dtype dtype);

/// Throws find_kernel's NotImplementedError when no kernel exists for (op, device, dtype): ops
/// validate before they allocate; runtime/launch.h looks the kernel up when it runs it.
inline void require_kernel(OpId op, Device device, Dtype dtype) { (void)find_kernel_raw(op, device, dtype); }

}  // namespace lamina::runtime

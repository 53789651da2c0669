#pragma once
// Helpers shared by op implementations: operand checks, type promotion, and the hand-off
// to the runtime (kernel lookup + loop construction). Not part of the public API.
#include <initializer_list>

#include "lamina/core/error.h"
#include "lamina/core/tensor.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/loops.h"

namespace lamina::ops {

/// Throws ValueError unless `t` is defined.
void check_defined(const Tensor& t, const char* op, const char* name = "input");
/// Throws DeviceMismatchError unless all tensors share one device.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);
/// Throws DTypeError unless `t` has a floating dtype.
void check_floating(const Tensor& t, const char* op);
/// Throws ValueError when `out` has several elements sharing one address (an expanded view).
void check_writable(const Tensor& out, const char* op);

/// PyTorch's result_type: dims>0 tensors outrank 0-d tensors, which outrank wrapped scalars,
/// within each category (bool < integer < floating).
Dtype result_type(std::initializer_list<const Tensor*> tensors);
/// A 0-d tensor holding `s`, flagged as a wrapped number (weak in promotion).
Tensor wrapped_scalar(const Scalar& s, Device device = kCPU);
/// A 0-d tensor holding `s` with dtype `dtype`.
Tensor scalar_tensor(const Scalar& s, Dtype dtype, Device device = kCPU);

/// How a kernel's params depend on where a part of the loop starts when the pool splits it.
enum class Split {
  Free,          // elementwise: any part is computed alone
  CounterParam,  // params.i is the counter of element 0 (random draws): each part gets its own
};

/// Runs the elementwise kernel (op, dtype) over operands (output first), already broadcast;
/// large loops are split along their outermost dim across the runtime's thread pool.
void run_elementwise(runtime::OpId op, Dtype kernel_dtype, std::initializer_list<const Tensor*> operands,
                     const kernels::KernelParams& params = {}, Split split = Split::Free);

/// `input` unless it overlaps `out` without being the same view: then a private copy, so an
/// in-place op never reads elements it has already written.
Tensor unaliased_input(const Tensor& input, const Tensor& out);

}  // namespace lamina::ops

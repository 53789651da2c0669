#pragma once
// Helpers shared by op implementations: operand checks, type promotion, and the hand-off
// to the runtime (runtime/launch.h launches the kernels). Not part of the public API.
#include <initializer_list>
#include <string>

#include "lamina/core/error.h"
#include "lamina/core/tensor.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/launch.h"

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

/// Where a kernel reports a bad input (kernels::KernelParams::status) for a launch on `device`:
/// a host word on the CPU, one int32 on the device elsewhere (reading it back synchronizes).
class StatusWord {
 public:
  explicit StatusWord(Device device);
  StatusWord(const StatusWord&) = delete;  // the kernel holds slot(): the word must not move
  StatusWord& operator=(const StatusWord&) = delete;
  /// The pointer to hand the kernel.
  int32_t* slot();
  /// What the kernel reported (kernels::kStatusOk when nothing).
  int32_t read() const;

 private:
  int32_t host_word_ = 0;
  Tensor device_word_;
};

/// g where x > 0, else 0 (ReLU's gradient; x may be the ReLU's input or output): one fused
/// pass, or differentiable ops while the backward itself records (create_graph).
Tensor relu_grad(const Tensor& g, const Tensor& x);
/// g times gelu'(x) (approximate "none" or "tanh"): one fused pass, or differentiable ops while
/// the backward itself records (create_graph).
Tensor gelu_grad(const Tensor& g, const Tensor& x, const std::string& approximate);
/// `input` unless it overlaps `out` without being the same view: then a private copy, so an
/// in-place op never reads elements it has already written.
Tensor unaliased_input(const Tensor& input, const Tensor& out);

}  // namespace lamina::ops

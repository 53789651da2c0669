#include "lamina/ops/copy.h"

#include <algorithm>
#include <cstring>

#include "lamina/autograd/autograd.h"
#include "lamina/ops/common.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/device_backend.h"
#include "lamina/runtime/profiler.h"

namespace lamina {

const Tensor& copy_(const Tensor& dst, const Tensor& src) {
  LAMINA_PROFILE_OP("copy_", dst, src);
  ops::check_defined(dst, "copy_", "destination");
  ops::check_defined(src, "copy_", "source");
  ops::check_same_device("copy_", {&dst, &src});
  Shape shape = broadcast_shapes(dst.shape(), src.shape(), "copy_");
  LAMINA_CHECK(shape == dst.shape(), ShapeError, "copy_", "source of shape ", src.shape(),
               " cannot be broadcast to destination shape ", dst.shape());
  ops::check_writable(dst, "copy_");
  const bool record = is_floating(dst.dtype()) && autograd::needs_grad({&dst, &src});
  if (record) autograd::check_inplace(dst, "copy_");
  constexpr runtime::OpId op = runtime::op_id(kernels::Op::copy);
  {
    autograd::NoGradGuard no_grad;
    Tensor s = ops::unaliased_input(src, dst).expand(dst.shape());
    kernels::KernelParams params;
    params.i = static_cast<int64_t>(src.dtype());
    runtime::launch_elementwise(op, dst.dtype(), {&dst, &s}, params);
  }
  dst.bump_version();
  if (record) {
    // dst's old values are gone (no gradient); src's gradient is the incoming one, summed over
    // the dims copy_ broadcast.
    autograd::record("CopyBackwards", dst, {&dst, &src},
                     [src_shape = src.shape(), src_dtype = src.dtype()](const Tensor& g) {
                       Tensor gs = sum_to(g, src_shape);
                       return std::vector<Tensor>{Tensor(), is_floating(src_dtype) ? gs.to(src_dtype) : Tensor()};
                     });
  }
  return dst;
}

const Tensor& fill_(const Tensor& t, const Scalar& value) {
  LAMINA_PROFILE_OP("fill_", t);
  ops::check_defined(t, "fill_");
  constexpr runtime::OpId op = runtime::op_id(kernels::Op::fill);
  kernels::KernelParams params;
  if (is_floating(t.dtype()))
    params.a = value.to_double();
  else if (t.dtype() == Dtype::Bool)
    params.i = value.to<bool>();
  else if (value.is_floating()) {
    // Through the same saturating conversion as casts, so NaN/inf never hit UB.
    Tensor tmp = ops::scalar_tensor(value, Dtype::Float64).to(t.dtype());
    params.i = tmp.item().to_int();
  } else
    params.i = value.to_int();
  ops::check_writable(t, "fill_");
  const bool record = autograd::check_inplace(t, "fill_");
  runtime::launch_elementwise(op, t.dtype(), {&t}, params);
  t.bump_version();
  if (record) autograd::record("FillBackward0", t, {&t}, [](const Tensor&) { return std::vector<Tensor>{Tensor()}; });
  return t;
}

const Tensor& zero_(const Tensor& t) { return fill_(t, Scalar(0)); }

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  LAMINA_PROFILE_OP("clone", *this);
  Tensor out = Tensor::empty(shape(), dtype(), device());
  {
    autograd::NoGradGuard no_grad;
    copy_(out, *this);
  }
  if (autograd::needs_grad({this}))
    autograd::record("CloneBackward0", out, {this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::to(Dtype dt) const {
  if (dt == dtype()) return *this;
  LAMINA_PROFILE_OP("to", *this);
  Tensor out = Tensor::empty(shape(), dt, device());
  {
    autograd::NoGradGuard no_grad;
    copy_(out, *this);
  }
  if (is_floating(dt) && autograd::needs_grad({this})) {
    autograd::record("ToCopyBackward0", out, {this},
                     [from = dtype()](const Tensor& g) { return std::vector<Tensor>{g.to(from)}; });
  }
  return out;
}

Tensor Tensor::to(Device dev, bool non_blocking) const {
  check_device_available(dev, "to");
  if (dev == device()) return *this;
  const Tensor src = contiguous();
  // As in PyTorch, only pinned host memory copies asynchronously, and a non-blocking copy to the
  // host lands in pinned memory; a copy from pageable memory is synchronous whatever was asked.
  const bool to_host = dev.is_cpu();
  const bool async = non_blocking && (to_host || src.is_pinned());
  const int64_t nbytes = numel() * itemsize(dtype());
  const runtime::DeviceBackend& backend = runtime::require_device_backend(to_host ? device() : dev, "to");
  Tensor out;
  if (async && to_host) {
    void* p = backend.pinned_allocate(static_cast<size_t>(nbytes));
    auto storage = std::make_shared<Storage>(p, nbytes, kCPU, [p, &backend] { backend.pinned_free(p); });
    out = Tensor::make_view(std::move(storage), shape(), contiguous_strides(shape()), 0, dtype());
  } else {
    out = Tensor::empty(shape(), dtype(), dev);
  }
  backend.copy_bytes(out.data_ptr(), dev, src.data_ptr(), device(), static_cast<size_t>(nbytes), async);
  if (async && nbytes > 0) {
    // The queued copy still reads the source and writes the destination: both storages stay
    // alive (and a pinned block out of reuse) until it completes, whatever the caller drops.
    backend.hold_until_copied(src.storage(), dev, device());
    backend.hold_until_copied(out.storage(), dev, device());
  }
  if (autograd::needs_grad({this})) {
    autograd::record("ToCopyBackward0", out, {this},
                     [from = device()](const Tensor& g) { return std::vector<Tensor>{g.to(from)}; });
  }
  return out;
}

Tensor Tensor::pin_memory() const {
  LAMINA_CHECK(device().is_cpu(), DeviceMismatchError, "pin_memory", "cannot pin ", describe(*this),
               ": only CPU tensors can be pinned");
  if (is_pinned()) return *this;
  const runtime::DeviceBackend& backend = runtime::require_device_backend(Device{DeviceType::CUDA, 0}, "pin_memory");
  const Tensor src = contiguous();
  const int64_t nbytes = numel() * element_size();
  void* p = backend.pinned_allocate(static_cast<size_t>(std::max<int64_t>(nbytes, 1)));
  auto storage = std::make_shared<Storage>(p, nbytes, kCPU, [p, &backend] { backend.pinned_free(p); });
  if (nbytes > 0) std::memcpy(p, src.data_ptr(), static_cast<size_t>(nbytes));
  return make_view(std::move(storage), shape(), contiguous_strides(shape()), 0, dtype());
}

bool Tensor::is_pinned() const {
  const runtime::DeviceBackend* backend = runtime::device_backend(DeviceType::CUDA);
  return device().is_cpu() && backend != nullptr && backend->is_pinned(storage()->data());
}

void Tensor::record_stream(void* stream, int stream_device) const {
  LAMINA_CHECK(!device().is_cpu(), DeviceMismatchError, "record_stream", "record_stream needs a CUDA tensor, got ",
               describe(*this));
  LAMINA_CHECK(stream_device == device().index, DeviceMismatchError, "record_stream",
               "the stream is on cuda:", stream_device, " but the tensor is ", describe(*this));
  runtime::require_device_backend(device(), "record_stream").record_stream(storage()->data(), device().index, stream);
}

}  // namespace lamina

#pragma once
// Tensor: a strided view of a Storage, with dtype, device and a version counter.
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "lamina/core/device.h"
#include "lamina/core/dtype.h"
#include "lamina/core/scalar.h"
#include "lamina/core/shape.h"
#include "lamina/core/storage.h"

namespace lamina {

namespace autograd {
struct AutogradMeta;  // gradient bookkeeping, attached when a tensor takes part in autograd
}

/// The shared state behind Tensor handles; views have their own impl but share storage.
struct TensorImpl {
  // User-provided (not `= default`): std::allocate_shared value-initializes, which for an
  // implicit constructor zero-fills the whole object (both 136-byte DimVectors) first.
  TensorImpl() noexcept {}
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Strides strides;  // in elements
  Dtype dtype = Dtype::Float32;
  bool is_wrapped_number = false;  // a Python/C++ scalar turned into a 0-d tensor (weak in promotion)
  std::shared_ptr<autograd::AutogradMeta> autograd;
};

/// A handle to a TensorImpl; copying a Tensor shares it (like PyTorch's Tensor).
class Tensor {
 public:
  /// An undefined tensor (holds nothing).
  Tensor() = default;
  /// Wraps an existing impl.
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  /// A new uninitialized contiguous tensor.
  static Tensor empty(const Shape& shape, Dtype dtype = kDefaultFloat, Device device = kCPU);
  /// A view of `storage` with the given geometry.
  static Tensor make_view(std::shared_ptr<Storage> storage, const Shape& shape, const Strides& strides, int64_t offset,
                          Dtype dtype);

  /// False for a default-constructed tensor.
  bool defined() const { return impl_ != nullptr; }
  /// Sizes of each dimension.
  const Shape& shape() const { return impl_->shape; }
  /// Alias of shape(), PyTorch-style.
  const Shape& sizes() const { return impl_->shape; }
  /// Size of dimension `dim` (negative counts from the end).
  int64_t size(int64_t dim) const;
  /// Strides in elements.
  const Strides& strides() const { return impl_->strides; }
  /// Stride of dimension `dim`.
  int64_t stride(int64_t dim) const;
  /// Number of dimensions.
  int64_t dim() const { return impl_->shape.size(); }
  /// Number of elements.
  int64_t numel() const { return shape_numel(impl_->shape); }
  /// Element type.
  Dtype dtype() const { return impl_->dtype; }
  /// Where the data lives.
  Device device() const { return impl_->storage->device(); }
  /// Offset of element 0 into the storage, in elements.
  int64_t storage_offset() const { return impl_->offset; }
  /// Bytes per element.
  int64_t element_size() const { return itemsize(impl_->dtype); }
  /// Address of element 0.
  void* data_ptr() const { return static_cast<char*>(impl_->storage->data()) + impl_->offset * itemsize(impl_->dtype); }
  /// Typed address of element 0 (no dtype check; the caller knows the dtype).
  template <class T>
  T* data() const {
    if (!impl_->storage->device().is_cpu()) host_access_error();
    return static_cast<T*>(data_ptr());
  }
  /// The shared storage.
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
  /// The impl (for the runtime and bindings).
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  /// True when elements are laid out row-major without gaps.
  bool is_contiguous() const {
    if (impl_->shape.size() == 1) return impl_->shape[0] <= 1 || impl_->strides[0] == 1;  // inline: the common case
    return is_contiguous_nd();
  }
  /// Version counter of the storage (bumped by in-place ops).
  uint64_t version() const { return impl_->storage->version(); }
  /// Records an in-place modification.
  void bump_version() const { impl_->storage->bump_version(); }
  /// True when both handles refer to the same impl.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // Views: they share storage and keep it alive.
  /// Same data, new shape (must be stride-compatible); one dim may be -1.
  Tensor view(const Shape& shape) const;
  /// Like view, copying only when the strides do not allow a view.
  Tensor reshape(const Shape& shape) const;
  /// Swaps two dimensions.
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  /// Reorders dimensions.
  Tensor permute(const std::vector<int64_t>& dims) const;
  /// Transpose of a matrix (<= 2-d).
  Tensor t() const;
  /// Elements start:stop:step along `dim` (Python slice semantics, negative step allowed).
  Tensor slice(int64_t dim, int64_t start, int64_t stop, int64_t step = 1) const;
  /// Picks index `index` along `dim`, removing the dim.
  Tensor select(int64_t dim, int64_t index) const;
  /// `length` elements from `start` along `dim`.
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  /// Broadcasts size-1 dims to `shape` (-1 keeps a size) with stride 0.
  Tensor expand(const Shape& shape) const;
  /// Removes all size-1 dims.
  Tensor squeeze() const;
  /// Removes `dim` if it has size 1.
  Tensor squeeze(int64_t dim) const;
  /// Inserts a size-1 dim at `dim`.
  Tensor unsqueeze(int64_t dim) const;
  /// Flattens dims start..end into one.
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  /// The diagonal of dims (dim1, dim2) shifted by `offset`, as the last dim.
  Tensor diagonal(int64_t offset = 0, int64_t dim1 = 0, int64_t dim2 = 1) const;
  /// This tensor if contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// A contiguous copy with its own storage.
  Tensor clone() const;
  /// Converted to `dtype` (this tensor itself when already of that dtype).
  Tensor to(Dtype dtype) const;
  /// Moved to `device` (this tensor itself when already there); with `non_blocking`, a copy from
  /// pinned host memory or from a CUDA device to the host is queued on the current stream
  /// without waiting (the CPU result is then pinned; synchronize before reading it), any other
  /// copy is synchronous.
  Tensor to(Device device, bool non_blocking = false) const;
  /// A copy in pinned (page-locked) host memory, or this tensor when already pinned;
  /// DeviceNotAvailableError without a CUDA device, DeviceMismatchError for a device tensor.
  Tensor pin_memory() const;
  /// True when this is a CPU tensor in pinned host memory.
  bool is_pinned() const;
  /// Marks this device tensor's memory as used by work queued on `stream` (the backend's handle,
  /// e.g. cuda::Stream::handle()) of device `stream_device`, so the caching allocator does not
  /// reuse it before that work completes.
  void record_stream(void* stream, int stream_device) const;
  /// The single element as a Scalar; throws ShapeError unless numel() == 1.
  Scalar item() const;
  /// The single element as T.
  template <class T>
  T item() const {
    return item().to<T>();
  }
  /// PyTorch-style text, truncated for large tensors.
  std::string str() const;

 private:
  /// is_contiguous for any rank.
  bool is_contiguous_nd() const;
  /// Throws DeviceMismatchError: host code asked for a device tensor's memory.
  [[noreturn]] void host_access_error() const;

  std::shared_ptr<TensorImpl> impl_;
};

/// Prints like PyTorch: tensor([...]).
std::ostream& operator<<(std::ostream& os, const Tensor& t);

/// "(2, 3) float32 on cpu": how errors describe an operand.
std::string describe(const Tensor& t);

}  // namespace lamina

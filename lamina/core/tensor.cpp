#include "lamina/core/tensor.h"

#include <cstring>
#include <sstream>

#include "lamina/core/object_pool.h"

namespace lamina {

Tensor Tensor::empty(const Shape& shape, Dtype dtype, Device device) {
  for (int64_t s : shape) LAMINA_CHECK(s >= 0, ValueError, "empty", "negative dimension ", s, " in shape ", shape);
  int64_t nbytes = itemsize(dtype);
  for (int64_t s : shape) {
    LAMINA_CHECK(!__builtin_mul_overflow(nbytes, s, &nbytes), OutOfMemoryError, "empty", "a tensor of shape ", shape,
                 " and dtype ", dtype_name(dtype), " needs more than 2^63 bytes");
  }
  auto impl = std::allocate_shared<TensorImpl>(PoolAllocator<TensorImpl>());
  impl->storage = std::allocate_shared<Storage>(PoolAllocator<Storage>(), nbytes, device);
  impl->shape = shape;
  // Row-major strides written in place (contiguous_strides returns a 136-byte DimVector by value).
  const int64_t nd = shape.size();
  impl->strides.resize(nd);
  int64_t acc = 1;
  for (int64_t i = nd - 1; i >= 0; --i) {
    impl->strides[i] = acc;
    acc *= shape[i] > 1 ? shape[i] : 1;
  }
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::make_view(std::shared_ptr<Storage> storage, const Shape& shape, const Strides& strides, int64_t offset,
                         Dtype dtype) {
  auto impl = std::allocate_shared<TensorImpl>(PoolAllocator<TensorImpl>());
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t dim) const { return impl_->shape[wrap_dim(dim, this->dim(), "size")]; }

void Tensor::host_access_error() const {
  LAMINA_THROW(DeviceMismatchError, "data", "host code cannot read ", describe(*this),
               " (its memory is on the device); copy it with .cpu() first");
}

int64_t Tensor::stride(int64_t dim) const { return impl_->strides[wrap_dim(dim, this->dim(), "stride")]; }

bool Tensor::is_contiguous_nd() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    int64_t s = impl_->shape[i];
    if (s == 0) return true;
    if (s != 1 && impl_->strides[i] != expected) return false;
    expected *= s;
  }
  return true;
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined tensor";
  std::ostringstream os;
  os << t.shape() << " " << dtype_name(t.dtype()) << " on " << t.device().str();
  return os.str();
}

}  // namespace lamina

#include "lamina/ops/common.h"

#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"

namespace lamina::ops {

void check_defined(const Tensor& t, const char* op, const char* name) {
  LAMINA_CHECK(t.defined(), ValueError, op, name, " is an undefined tensor");
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = *tensors.begin();
  for (const Tensor* t : tensors) {
    LAMINA_CHECK(t->device() == first->device(), DeviceMismatchError, op,
                 "expected all tensors on the same device, got ", describe(*first), " and ", describe(*t),
                 "; move them with .to(device)");
  }
}

void check_floating(const Tensor& t, const char* op) {
  LAMINA_CHECK(is_floating(t.dtype()), DTypeError, op, "expected a floating-point tensor, got ", describe(t));
}

void check_writable(const Tensor& out, const char* op) {
  for (int64_t d = 0; d < out.dim(); ++d) {
    LAMINA_CHECK(!(out.strides()[d] == 0 && out.shape()[d] > 1), ValueError, op, "cannot write in place to ",
                 describe(out), ": several elements share one memory location (an expanded view); call .clone() first");
  }
}

namespace {
int category(Dtype dt) { return dt == Dtype::Bool ? 0 : is_floating(dt) ? 2 : 1; }

}  // namespace

Dtype result_type(std::initializer_list<const Tensor*> tensors) {
  Dtype dims{}, zero{}, wrapped{};
  bool has_dims = false, has_zero = false, has_wrapped = false;
  auto acc = [](Dtype& into, bool& present, Dtype dt) {
    into = present ? promote_types(into, dt) : dt;
    present = true;
  };
  for (const Tensor* t : tensors) {
    if (t->impl()->is_wrapped_number) {
      Dtype dt = t->dtype();
      if (is_floating(dt)) dt = kDefaultFloat;  // a Python float is float32 by default
      acc(wrapped, has_wrapped, dt);
    } else if (t->dim() == 0) {
      acc(zero, has_zero, t->dtype());
    } else {
      acc(dims, has_dims, t->dtype());
    }
  }
  auto combine = [](Dtype higher, bool has_higher, Dtype lower, bool has_lower) {
    if (!has_higher) return lower;
    if (!has_lower) return higher;
    if (category(lower) > category(higher)) return promote_types(higher, lower);
    return higher;
  };
  bool has_low = has_zero || has_wrapped;
  Dtype low = combine(zero, has_zero, wrapped, has_wrapped);
  return combine(dims, has_dims, low, has_low);
}

Tensor scalar_tensor(const Scalar& s, Dtype dtype, Device device) {
  Tensor t = Tensor::empty({}, dtype, device);
  fill_(t, s);
  return t;
}

Tensor wrapped_scalar(const Scalar& s, Device device) {
  Tensor t = scalar_tensor(s, s.natural_dtype(), device);
  t.impl()->is_wrapped_number = true;
  return t;
}

Tensor unaliased_input(const Tensor& input, const Tensor& out) {
  if (input.storage() != out.storage()) return input;
  if (input.storage_offset() == out.storage_offset() && input.strides() == out.strides() &&
      input.shape() == out.shape())
    return input;
  return input.clone();
}

StatusWord::StatusWord(Device device) {
  if (!device.is_cpu()) device_word_ = zeros({1}, {Dtype::Int32, device});
}

int32_t* StatusWord::slot() {
  // The device word's pointer is a device address: data_ptr, not the host-checked data<T>().
  return device_word_.defined() ? static_cast<int32_t*>(device_word_.data_ptr()) : &host_word_;
}

int32_t StatusWord::read() const {
  if (!device_word_.defined()) return __atomic_load_n(&host_word_, __ATOMIC_RELAXED);
  return device_word_.item<int32_t>();
}

}  // namespace lamina::ops

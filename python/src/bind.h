#pragma once
// Shared helpers for the nanobind front end: Python <-> lamina conversions. Thin by design:
// no math here, only argument conversion and calls into the C++ API.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <vector>

#include "lamina/lamina.h"

namespace nb = nanobind;

namespace lamina::python {

/// The Python class binding lamina::Tensor; init_* functions add methods to it.
using TensorClass = nb::class_<Tensor>;

/// The Python-visible dtype object (lamina.float32 etc.); one singleton per dtype.
struct DtypeObject {
  Dtype value;
};

/// The lamina.float32 ... singleton for `dt`.
nb::object dtype_object(Dtype dt);
/// Records the module-owned singleton for `dt` (called once at import).
void register_dtype_object(Dtype dt, nb::handle obj);
/// Accepts a lamina dtype object or a dtype name string; throws DTypeError otherwise.
Dtype to_dtype(nb::handle h);
/// Converts an optional Python dtype argument (None -> nullopt).
std::optional<Dtype> to_optional_dtype(const nb::object& h);
/// A layer constructor's dtype argument: None is the default floating dtype.
inline Dtype dtype_or_default(const nb::object& h) {
  std::optional<Dtype> d = to_optional_dtype(h);
  return d ? *d : kDefaultFloat;
}
/// An optional tensor argument as the C++ API takes it: None is an undefined tensor.
inline Tensor tensor_or_undefined(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }
/// Accepts a lamina.device, a string like "cpu" / "cuda:0", or None (-> default device).
Device to_device(const nb::object& h);
/// True when `h` is a Python bool, int or float (or a NumPy scalar of those kinds).
bool is_number(nb::handle h);
/// Converts a Python number to a Scalar (bool, int or float); throws DTypeError otherwise.
Scalar to_scalar(nb::handle h);
/// Converts a Scalar back to a Python bool/int/float.
nb::object from_scalar(const Scalar& s);
/// A Tensor from a Tensor, a Python number (a weak "wrapped" 0-d tensor), a nested
/// sequence, or an object with __dlpack__ / the buffer protocol.
Tensor to_tensor_operand(nb::handle h);

/// The Python type of Tensor (set once by init_tensor_class).
extern PyTypeObject* g_tensor_type;

/// The Tensor inside `h` when h is exactly a lamina Tensor, else nullptr: one pointer compare,
/// the operator fast path.
inline const Tensor* exact_tensor(nb::handle h) {
  return Py_TYPE(h.ptr()) == g_tensor_type && nb::inst_ready(h) ? nb::inst_ptr<Tensor>(h) : nullptr;
}

/// A new Python Tensor owning `t` (what nb::cast does, without looking the type up).
inline nb::object wrap_tensor(Tensor&& t) {
  nb::object o = nb::inst_alloc(nb::handle(reinterpret_cast<PyObject*>(g_tensor_type)));
  new (nb::inst_ptr<Tensor>(o)) Tensor(std::move(t));
  nb::inst_mark_ready(o);
  return o;
}
/// lamina.tensor(data): nested lists / numbers / arrays -> a new tensor (copied).
Tensor tensor_from_data(nb::handle data, std::optional<Dtype> dtype, Device device);
/// A shape from an int, a sequence of ints, or varargs packed into a tuple.
Shape to_shape(nb::handle h);
/// A list of ints from an int or a sequence (dims arguments).
std::vector<int64_t> to_int_list(nb::handle h);
/// Zero-copy view of a NumPy array / DLPack / buffer object as a Tensor.
Tensor from_array_object(nb::handle obj);

void init_errors(nb::module_& m);
void init_runtime(nb::module_& m);
/// Creates the Tensor class (with its buffer-protocol slots).
TensorClass init_tensor_class(nb::module_& m);
void init_tensor(nb::module_& m, TensorClass& cls);
void init_creation(nb::module_& m, TensorClass& cls);
void init_elementwise(nb::module_& m, TensorClass& cls);
void init_interop(nb::module_& m, TensorClass& cls);
void init_reduce(nb::module_& m, TensorClass& cls);
void init_index(nb::module_& m, TensorClass& cls);
void init_join(nb::module_& m, TensorClass& cls);
void init_linalg(nb::module_& m, TensorClass& cls);
void init_autograd(nb::module_& m, TensorClass& cls);
void init_conv(nb::module_& m);
void init_data(nb::module_& m);
void init_readers(nb::module_& m);
void init_train(nb::module_& m);
/// safetensors files and checkpoints (lamina.save_file / load_file, lamina._lamina._io).
void init_io(nb::module_& m);
/// TensorBoard event files, CSV logs and log levels (lamina._lamina._log).
void init_log(nb::module_& m);
/// Training checkpoints (lamina._lamina._checkpoint).
void init_checkpoint(nb::module_& m);
void init_distributed(nb::module_& m);
/// CUDA devices (lamina._lamina._cuda).
void init_cuda(nb::module_& m);
/// The op profiler (lamina._lamina._profiler).
void init_profiler(nb::module_& m);
/// lamina._lamina._amp: autocast state (init_amp.cpp).
void init_amp(nb::module_& m);
/// lamina._lamina._backends: backend flags such as TF32 matmul (init_backends.cpp).
void init_backends(nb::module_& m);
/// PyTorch's tensor repr, with requires_grad=True or grad_fn=<...> when in the graph.
std::string tensor_repr_with_grad(const Tensor& t);
void init_optim(nb::module_& m);
void init_nn(nb::module_& m);
/// The recurrent layers and cells into lamina._lamina._nn (init_rnn.cpp).
void bind_rnn(nb::module_& sub);
/// Activations with settings, instance norm, channel dropout, padding layers and their
/// functional forms into lamina._lamina._nn and its functional (init_activation.cpp).
void bind_activations(nb::module_& sub, nb::module_& fsub);

}  // namespace lamina::python

// Convenience for the init_* files: `using lamina::python::TensorClass;` etc.
using lamina::python::TensorClass;

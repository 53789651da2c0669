// Zero-copy interop: NumPy (from_numpy, .numpy(), __array__) and DLPack (__dlpack__,
// __dlpack_device__, from_dlpack), on the CPU and on CUDA devices. Memory is shared; the producer
// is kept alive by the consumer. On a GPU the exchange follows the array API's stream protocol:
// the consumer names its stream and the producer makes that stream wait for its pending work.
#include <dlpack.h>
#include <nanobind/ndarray.h>

#include "bind.h"
#include "lamina/cuda/event.h"
#include "lamina/cuda/stream.h"

namespace lamina::python {
namespace {

constexpr uint8_t kDLBoolCode = 6;  // kDLBool in DLPack >= 0.8 (the installed header is 0.6)

Dtype from_dl_dtype(uint8_t code, uint8_t bits, uint16_t lanes, const char* op) {
  LAMINA_CHECK(lanes == 1, DTypeError, op, "vector dtypes (lanes=", lanes, ") are not supported");
  if (code == kDLBoolCode && bits == 8) return Dtype::Bool;
  if (code == kDLInt && bits == 8) return Dtype::Int8;
  if (code == kDLInt && bits == 32) return Dtype::Int32;
  if (code == kDLInt && bits == 64) return Dtype::Int64;
  if (code == kDLUInt && bits == 8) return Dtype::UInt8;
  if (code == kDLFloat && bits == 16) return Dtype::Float16;
  if (code == kDLFloat && bits == 32) return Dtype::Float32;
  if (code == kDLFloat && bits == 64) return Dtype::Float64;
  if (code == kDLBfloat && bits == 16) return Dtype::BFloat16;
  LAMINA_THROW(DTypeError, op, "unsupported array dtype (DLPack code ", int(code), ", ", int(bits),
               " bits); lamina supports bool, uint8, int8, int32, int64, float16, bfloat16, float32, float64");
}

DLDataType to_dl_dtype(Dtype dt) {
  DLDataType d;
  d.lanes = 1;
  d.bits = static_cast<uint8_t>(itemsize(dt) * 8);
  switch (dt) {
    case Dtype::Bool: d.code = kDLBoolCode; break;
    case Dtype::UInt8: d.code = kDLUInt; break;
    case Dtype::Int8:
    case Dtype::Int32:
    case Dtype::Int64: d.code = kDLInt; break;
    case Dtype::BFloat16: d.code = kDLBfloat; break;
    default: d.code = kDLFloat; break;
  }
  return d;
}

// Builds a tensor over external memory given element strides (possibly negative).
Tensor wrap_external(char* data, Dtype dt, const Shape& shape, const Strides& strides, std::function<void()> release,
                     Device device = kCPU) {
  int64_t lo = 0, hi = 0;
  bool empty = shape_numel(shape) == 0;
  for (int64_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) continue;
    int64_t span = (shape[d] - 1) * strides[d];
    (span < 0 ? lo : hi) += span;
  }
  const int64_t isz = itemsize(dt);
  char* base = data + lo * isz;
  int64_t nbytes = empty ? 0 : (hi - lo + 1) * isz;
  auto storage = std::make_shared<Storage>(base, nbytes, device, std::move(release));
  return Tensor::make_view(storage, shape, strides, -lo, dt);
}

struct DLHolder {
  Tensor tensor;
  std::vector<int64_t> shape, strides;
  DLManagedTensor managed;
};

void dl_deleter(DLManagedTensor* m) { delete static_cast<DLHolder*>(m->manager_ctx); }

void capsule_destructor(PyObject* cap) {
  // Only an unconsumed capsule still owns the tensor; a consumer renames it "used_dltensor".
  if (PyCapsule_IsValid(cap, "dltensor")) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
    if (m && m->deleter) m->deleter(m);
  }
}

nb::object to_dlpack_capsule(const Tensor& t) {
  auto* h = new DLHolder{t, t.shape().vec(), t.strides().vec(), {}};
  DLTensor& dl = h->managed.dl_tensor;
  dl.data = t.data_ptr();
  dl.device = DLDevice{t.device().is_cpu() ? kDLCPU : kDLCUDA, t.device().index};
  dl.ndim = static_cast<int32_t>(t.dim());
  dl.dtype = to_dl_dtype(t.dtype());
  dl.shape = h->shape.data();
  dl.strides = h->strides.data();
  dl.byte_offset = 0;
  h->managed.manager_ctx = h;
  h->managed.deleter = dl_deleter;
  PyObject* cap = PyCapsule_New(&h->managed, "dltensor", capsule_destructor);
  if (!cap) {
    delete h;
    throw nb::python_error();
  }
  return nb::steal(cap);
}

Tensor from_dlpack_capsule(nb::handle cap) {
  LAMINA_CHECK(PyCapsule_IsValid(cap.ptr(), "dltensor"), ValueError, "from_dlpack",
               "expected an unconsumed 'dltensor' capsule (a DLPack capsule can be consumed once)");
  auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap.ptr(), "dltensor"));
  const DLTensor& dl = m->dl_tensor;
  Device device = kCPU;
  if (dl.device.device_type == kDLCUDA) {
    device = Device{DeviceType::CUDA, static_cast<int>(dl.device.device_id)};
    check_device_available(device, "from_dlpack");
  } else {
    // Pinned host memory (kDLCUDAHost) is host memory: a CPU tensor.
    LAMINA_CHECK(dl.device.device_type == kDLCPU || dl.device.device_type == kDLCUDAHost, DeviceNotAvailableError,
                 "from_dlpack", "DLPack device type ", int(dl.device.device_type),
                 " is not supported (lamina takes CPU, CUDA and CUDA host memory)");
  }
  Dtype dt = from_dl_dtype(dl.dtype.code, dl.dtype.bits, dl.dtype.lanes, "from_dlpack");
  Shape shape(dl.shape, dl.shape + dl.ndim);
  Strides strides = dl.strides ? Strides(dl.strides, dl.strides + dl.ndim) : contiguous_strides(shape);
  PyCapsule_SetName(cap.ptr(), "used_dltensor");
  char* data = static_cast<char*>(dl.data) + dl.byte_offset;
  return wrap_external(
      data, dt, shape, strides,
      [m] {
        if (m->deleter) m->deleter(m);
      },
      device);
}

// The stream argument a consumer passes to __dlpack__ for its current stream on `index`:
// the cudaStream_t, or 1 (the legacy default stream) for the default stream, as the array API
// reserves 0.
uintptr_t consumer_stream(int index) {
  const auto s = reinterpret_cast<uintptr_t>(cuda::current_stream(index));
  return s == 0 ? 1 : s;
}

// Makes the consumer's stream (the array API's __dlpack__ stream argument) wait for the work
// queued so far on this thread's current stream of `index`, where the tensor was produced.
void sync_for_consumer(int index, const nb::object& stream) {
  uintptr_t consumer = 1;  // None: the consumer uses the legacy default stream
  if (!stream.is_none()) {
    const int64_t s = nb::cast<int64_t>(stream);
    if (s == -1) return;  // the consumer synchronizes itself
    LAMINA_CHECK(s != 0, ValueError, "__dlpack__",
                 "stream=0 is ambiguous for CUDA; pass 1 (legacy default stream), 2 (per-thread default stream), "
                 "a cudaStream_t, -1 (no synchronization) or None");
    consumer = static_cast<uintptr_t>(s);
  }
  const cuda::Stream producer = cuda::Stream::current(index);
  const auto p = reinterpret_cast<uintptr_t>(producer.handle());
  if (p == consumer || (p == 0 && consumer == 1)) return;  // the same stream: already ordered
  cuda::Event event;
  event.record(producer);
  cuda::Stream::external(index, reinterpret_cast<void*>(consumer)).wait_event(event);
}

// from_dlpack on an object: asks __dlpack__ for a capsule that is safe to use on this thread's
// current stream of the producer's device.
Tensor from_dlpack_object(nb::handle obj) {
  if (nb::hasattr(obj, "__dlpack_device__")) {
    nb::tuple dev = nb::cast<nb::tuple>(obj.attr("__dlpack_device__")());
    if (nb::cast<int>(dev[0]) == kDLCUDA) {
      const int index = nb::cast<int>(dev[1]);
      check_device_available(Device{DeviceType::CUDA, index}, "from_dlpack");
      return from_dlpack_capsule(obj.attr("__dlpack__")(nb::arg("stream") = consumer_stream(index)));
    }
  }
  nb::object cap = obj.attr("__dlpack__")();
  return from_dlpack_capsule(cap);
}

nb::object to_numpy(const Tensor& t) {
  LAMINA_CHECK(t.device().is_cpu(), DeviceMismatchError, "numpy", "can't convert ", describe(t),
               " to NumPy; copy it to the CPU first with .cpu()");
  LAMINA_CHECK(t.dtype() != Dtype::BFloat16, DTypeError, "numpy",
               "NumPy has no bfloat16; convert first, e.g. t.float().numpy()");
  std::vector<size_t> shape(t.shape().begin(), t.shape().end());
  std::vector<int64_t> strides(t.strides().begin(), t.strides().end());
  nb::capsule owner(new Tensor(t), [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  DLDataType d = to_dl_dtype(t.dtype());
  nb::dlpack::dtype ndt{d.code, d.bits, d.lanes};
  nb::ndarray<nb::numpy> arr(t.data_ptr(), shape.size(), shape.data(), owner, strides.data(), ndt);
  return arr.cast();
}

}  // namespace

Tensor from_array_object(nb::handle obj) {
  auto arr = nb::cast<nb::ndarray<nb::ro>>(obj);
  LAMINA_CHECK(arr.device_type() == nb::device::cpu::value, DeviceNotAvailableError, "from_numpy",
               "only CPU arrays can be shared in this build");
  auto dt = arr.dtype();
  Dtype dtype = from_dl_dtype(dt.code, dt.bits, dt.lanes, "from_numpy");
  Shape shape;
  Strides strides;
  for (size_t d = 0; d < arr.ndim(); ++d) {
    shape.push_back(static_cast<int64_t>(arr.shape(d)));
    strides.push_back(arr.stride(d));
  }
  auto* keep = new nb::ndarray<nb::ro>(arr);
  char* data = static_cast<char*>(const_cast<void*>(arr.data()));
  return wrap_external(data, dtype, shape, strides, [keep] {
    if (!Py_IsInitialized()) return;  // interpreter gone: nothing left to release
    nb::gil_scoped_acquire gil;
    delete keep;
  });
}

void init_interop(nb::module_& m, TensorClass& cls) {
  m.def("from_numpy", [](nb::handle a) {
    LAMINA_CHECK(nb::hasattr(a, "__array_interface__"), DTypeError, "from_numpy", "expected a numpy.ndarray, got ",
                 nb::cast<std::string>(nb::type_name(a.type())));
    return from_array_object(a);
  }, nb::arg("ndarray"), "A tensor sharing memory with a NumPy array (zero-copy).");
  m.def("from_dlpack", [](nb::handle obj) {
    if (PyCapsule_CheckExact(obj.ptr())) return from_dlpack_capsule(obj);
    LAMINA_CHECK(nb::hasattr(obj, "__dlpack__"), DTypeError, "from_dlpack",
                 "expected an object with __dlpack__ or a DLPack capsule, got ",
                 nb::cast<std::string>(nb::type_name(obj.type())));
    return from_dlpack_object(obj);
  }, nb::arg("ext_tensor"), "A tensor sharing memory with any DLPack producer (NumPy, PyTorch, JAX, CuPy).");
  m.def("asarray", [](nb::handle obj, nb::object dtype) {
    Tensor t = nb::isinstance<Tensor>(obj) ? nb::cast<Tensor>(obj)
               : (nb::hasattr(obj, "__dlpack__") || nb::hasattr(obj, "__array_interface__"))
                   ? from_array_object(obj)
                   : tensor_from_data(obj, std::nullopt, kCPU);
    auto dt = to_optional_dtype(dtype);
    return dt ? t.to(*dt) : t;
  }, nb::arg("obj"), nb::kw_only(), nb::arg("dtype") = nb::none(), "A tensor sharing memory when possible.");

  cls.def("numpy", [](const Tensor& t, bool force) { return to_numpy(force ? t.clone() : t); },
          nb::kw_only(), nb::arg("force") = false, "A NumPy array sharing this tensor's memory.")
      .def("__array__", [](const Tensor& t, nb::object dtype, nb::object copy) {
        nb::object arr = to_numpy(!copy.is_none() && nb::cast<bool>(copy) ? t.clone() : t);
        return dtype.is_none() ? arr : arr.attr("astype")(dtype);
      }, nb::arg("dtype") = nb::none(), nb::arg("copy") = nb::none())
      .def("__dlpack__", [](const Tensor& t, nb::object stream, nb::object max_version, nb::object dl_device,
                            nb::object copy) {
        (void)max_version;
        const bool force_copy = !copy.is_none() && nb::cast<bool>(copy);
        if (!dl_device.is_none()) {
          nb::tuple want = nb::cast<nb::tuple>(dl_device);
          const bool want_cpu = nb::cast<int>(want[0]) == kDLCPU;
          const Device target = want_cpu ? kCPU : Device{DeviceType::CUDA, nb::cast<int>(want[1])};
          if (target != t.device()) {
            if (!copy.is_none() && !force_copy) {
              PyErr_SetString(PyExc_BufferError, "__dlpack__: exporting to another device needs a copy (copy=False)");
              throw nb::python_error();
            }
            return to_dlpack_capsule(t.to(target));  // a synchronous copy: nothing left to order
          }
        }
        const Tensor out = force_copy ? t.clone() : t;
        if (out.device().is_cuda()) sync_for_consumer(out.device().index, stream);
        return to_dlpack_capsule(out);
      }, nb::kw_only(), nb::arg("stream") = nb::none(), nb::arg("max_version") = nb::none(),
         nb::arg("dl_device") = nb::none(), nb::arg("copy") = nb::none(),
         "Exports a DLPack capsule (zero-copy); on a GPU, `stream` (the consumer's) is made to wait for the "
         "work queued on the current stream.")
      .def("__dlpack_device__", [](const Tensor& t) {
        return nb::make_tuple(t.device().is_cpu() ? int(kDLCPU) : int(kDLCUDA), t.device().index);
      });
}

}  // namespace lamina::python

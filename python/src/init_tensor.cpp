// The Tensor class: geometry properties, views, conversions, repr, dtype objects.
#include "bind.h"
#include "lamina/cuda/stream.h"

namespace lamina::python {
namespace {

// Buffer protocol (PEP 3118): zero-copy export of CPU tensors to memoryview / NumPy.
struct BufferInfo {
  Tensor tensor;
  std::vector<Py_ssize_t> shape, strides;
};

const char* buffer_format(Dtype dt) {
  switch (dt) {
    case Dtype::Bool:
      return "?";
    case Dtype::UInt8:
      return "B";
    case Dtype::Int8:
      return "b";
    case Dtype::Int32:
      return "i";
    case Dtype::Int64:
      return "q";
    case Dtype::Float16:
      return "e";
    case Dtype::Float32:
      return "f";
    case Dtype::Float64:
      return "d";
    case Dtype::BFloat16:
      return nullptr;
  }
  return nullptr;
}

int tensor_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  Tensor* t = nb::inst_ptr<Tensor>(self);
  const char* fmt = buffer_format(t->dtype());
  if (fmt == nullptr || !t->device().is_cpu()) {
    PyErr_SetString(PyExc_BufferError, "[buffer] bfloat16 and non-CPU tensors do not support the buffer protocol");
    return -1;
  }
  auto* info = new BufferInfo{*t, {}, {}};
  for (int64_t d = 0; d < t->dim(); ++d) {
    info->shape.push_back(static_cast<Py_ssize_t>(t->shape()[d]));
    info->strides.push_back(static_cast<Py_ssize_t>(t->strides()[d] * t->element_size()));
  }
  view->buf = t->data_ptr();
  view->obj = self;
  Py_INCREF(self);
  view->len = static_cast<Py_ssize_t>(t->numel() * t->element_size());
  view->readonly = 0;
  view->itemsize = static_cast<Py_ssize_t>(t->element_size());
  view->format = (flags & PyBUF_FORMAT) ? const_cast<char*>(fmt) : nullptr;
  view->ndim = static_cast<int>(t->dim());
  view->shape = info->shape.data();
  view->strides = info->strides.data();
  view->suboffsets = nullptr;
  view->internal = info;
  return 0;
}

void tensor_releasebuffer(PyObject*, Py_buffer* view) { delete static_cast<BufferInfo*>(view->internal); }

PyType_Slot tensor_slots[] = {{Py_bf_getbuffer, reinterpret_cast<void*>(tensor_getbuffer)},
                              {Py_bf_releasebuffer, reinterpret_cast<void*>(tensor_releasebuffer)},
                              {0, nullptr}};

std::string dtype_repr(Dtype dt) { return "lamina." + std::string(dtype_name(dt)); }

// Accepts view(2, 3), view((2, 3)) and view([2, 3]).
Shape shape_from_args(const nb::args& args) {
  if (args.size() == 1 && !PyLong_Check(args[0].ptr())) return to_shape(args[0]);
  return to_shape(args);
}

}  // namespace

PyTypeObject* g_tensor_type = nullptr;

TensorClass init_tensor_class(nb::module_& m) {
  nb::class_<DtypeObject>(m, "dtype", "An element type: lamina.float32, lamina.int64, ...")
      .def_prop_ro("is_floating_point", [](const DtypeObject& d) { return is_floating(d.value); })
      .def_prop_ro("itemsize", [](const DtypeObject& d) { return itemsize(d.value); })
      .def("__repr__", [](const DtypeObject& d) { return dtype_repr(d.value); })
      .def("__str__", [](const DtypeObject& d) { return dtype_repr(d.value); })
      .def("__eq__",
           [](const DtypeObject& a, nb::handle b) {
             return nb::isinstance<DtypeObject>(b) && nb::cast<DtypeObject>(b).value == a.value;
           })
      .def("__hash__", [](const DtypeObject& d) { return static_cast<int>(d.value); });
  for (int i = 0; i < kNumDtypes; ++i) {
    Dtype dt = static_cast<Dtype>(i);
    nb::object obj = nb::cast(DtypeObject{dt});
    m.attr(std::string(dtype_name(dt)).c_str()) = obj;
    register_dtype_object(dt, obj);
  }
  m.attr("float") = dtype_object(Dtype::Float32);
  m.attr("double") = dtype_object(Dtype::Float64);
  m.attr("half") = dtype_object(Dtype::Float16);
  m.attr("long") = dtype_object(Dtype::Int64);
  m.attr("int") = dtype_object(Dtype::Int32);
  TensorClass cls(m, "Tensor", nb::type_slots(tensor_slots), "A strided n-dimensional array on a device.");
  g_tensor_type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  return cls;
}

void init_tensor(nb::module_& m, TensorClass& cls) {
  // torch.Tensor(...)'s legacy constructor: Tensor(2, 3) is an uninitialized float32 tensor of
  // that shape, Tensor([[1, 2]]) float32 values, Tensor() an empty one.
  cls.def(
      "__init__",
      [](Tensor* self, const nb::args& args, const nb::object& device) {
        const Device dev = to_device(device);
        if (args.size() == 1 && !PyLong_Check(args[0].ptr())) {
          new (self) Tensor(tensor_from_data(args[0], Dtype::Float32, dev));
          return;
        }
        new (self) Tensor(Tensor::empty(args.size() == 0 ? Shape{0} : to_shape(args), Dtype::Float32, dev));
      },
      nb::arg("args"), nb::kw_only(), nb::arg("device") = nb::none(),
      "Tensor(*sizes) (uninitialized) or Tensor(data): float32, as torch.Tensor's legacy constructor.");
  m.def("_set_printoptions",
        [](std::optional<int> precision, std::optional<int64_t> threshold, std::optional<int64_t> edgeitems,
           std::optional<int64_t> linewidth, std::optional<bool> sci_mode) {
          PrintOptions o = get_printoptions();
          if (precision) o.precision = *precision;
          if (threshold) o.threshold = *threshold;
          if (edgeitems) o.edgeitems = *edgeitems;
          if (linewidth) o.linewidth = *linewidth;
          o.sci_mode = sci_mode;
          set_printoptions(o);
        });
  m.def(
      "get_printoptions",
      [] {
        PrintOptions o = get_printoptions();
        nb::dict d;
        d["precision"] = o.precision;
        d["threshold"] = o.threshold;
        d["edgeitems"] = o.edgeitems;
        d["linewidth"] = o.linewidth;
        d["sci_mode"] = o.sci_mode ? nb::cast(*o.sci_mode) : nb::none();
        return d;
      },
      "The current print options.");
  cls.def_prop_ro(
         "shape", [](const Tensor& t) { return nb::tuple(nb::cast(t.shape().vec())); },
         "Sizes of each dimension, as a tuple.")
      .def(
          "size",
          [](const Tensor& t, nb::object dim) -> nb::object {
            if (dim.is_none()) return nb::tuple(nb::cast(t.shape().vec()));
            return nb::cast(t.size(nb::cast<int64_t>(dim)));
          },
          nb::arg("dim") = nb::none(), "Sizes (tuple), or the size of one dimension.")
      .def(
          "stride",
          [](const Tensor& t, nb::object dim) -> nb::object {
            if (dim.is_none()) return nb::tuple(nb::cast(t.strides().vec()));
            return nb::cast(t.stride(nb::cast<int64_t>(dim)));
          },
          nb::arg("dim") = nb::none(), "Strides in elements (tuple), or one dimension's stride.")
      .def_prop_ro("ndim", &Tensor::dim, "Number of dimensions.")
      .def("dim", &Tensor::dim, "Number of dimensions.")
      .def("numel", &Tensor::numel, "Number of elements.")
      .def("element_size", &Tensor::element_size, "Bytes per element.")
      .def_prop_ro(
          "dtype", [](const Tensor& t) { return dtype_object(t.dtype()); }, "Element type.")
      .def_prop_ro("device", &Tensor::device, "Where the data lives.")
      .def_prop_ro("is_cuda", [](const Tensor& t) { return t.device().is_cuda(); })
      .def_prop_ro("_version", &Tensor::version, "Version counter (bumped by in-place ops).")
      .def("storage_offset", &Tensor::storage_offset, "Offset of element 0 into the storage, in elements.")
      .def(
          "data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()); },
          "Address of element 0.")
      .def("is_contiguous", &Tensor::is_contiguous, "True when laid out row-major without gaps.")
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t.dtype()); })
      .def("contiguous", &Tensor::contiguous, "This tensor if contiguous, else a contiguous copy.")
      .def("clone", &Tensor::clone, "A contiguous copy with its own storage.")
      .def(
          "view", [](const Tensor& t, nb::args args) { return t.view(shape_from_args(args)); },
          "Same data seen with a new shape (strides must allow it); one dim may be -1.")
      .def(
          "reshape", [](const Tensor& t, nb::args args) { return t.reshape(shape_from_args(args)); },
          "Like view, copying only when needed.")
      .def("view_as", [](const Tensor& t, const Tensor& o) { return t.view(o.shape()); })
      .def("reshape_as", [](const Tensor& t, const Tensor& o) { return t.reshape(o.shape()); })
      .def(
          "expand", [](const Tensor& t, nb::args args) { return t.expand(shape_from_args(args)); },
          "Broadcasts size-1 dims (stride 0, no copy); -1 keeps a size.")
      .def("expand_as", [](const Tensor& t, const Tensor& o) { return t.expand(o.shape()); })
      .def("broadcast_to", [](const Tensor& t, nb::handle shape) { return t.expand(to_shape(shape)); })
      .def("transpose", &Tensor::transpose, nb::arg("dim0"), nb::arg("dim1"), "Swaps two dimensions (a view).")
      .def("swapaxes", &Tensor::transpose, nb::arg("axis0"), nb::arg("axis1"))
      .def(
          "permute", [](const Tensor& t, nb::args args) { return t.permute(shape_from_args(args).vec()); },
          "Reorders dimensions (a view).")
      .def("t", &Tensor::t, "Transpose of a <= 2-d tensor.")
      .def_prop_ro(
          "T",
          [](const Tensor& t) {
            std::vector<int64_t> dims;
            for (int64_t d = t.dim() - 1; d >= 0; --d) dims.push_back(d);
            return t.permute(dims);
          },
          "All dimensions reversed.")
      .def_prop_ro(
          "mT", [](const Tensor& t) { return t.transpose(-2, -1); }, "Last two dims swapped.")
      .def("narrow", &Tensor::narrow, nb::arg("dim"), nb::arg("start"), nb::arg("length"),
           "length elements from start along dim (a view).")
      .def("select", &Tensor::select, nb::arg("dim"), nb::arg("index"), "Picks one index along dim (a view).")
      .def(
          "squeeze",
          [](const Tensor& t, nb::object dim) {
            if (dim.is_none()) return t.squeeze();
            if (PyLong_Check(dim.ptr())) return t.squeeze(nb::cast<int64_t>(dim));
            std::vector<int64_t> dims = to_int_list(dim);
            for (auto& d : dims) d = wrap_dim(d, t.dim(), "squeeze");
            std::sort(dims.rbegin(), dims.rend());
            Tensor r = t;
            for (int64_t d : dims) r = r.squeeze(d);
            return r;
          },
          nb::arg("dim") = nb::none(), "Removes size-1 dims (all, or the given ones).")
      .def("unsqueeze", &Tensor::unsqueeze, nb::arg("dim"), "Inserts a size-1 dim.")
      .def("flatten", &Tensor::flatten, nb::arg("start_dim") = 0, nb::arg("end_dim") = -1,
           "Merges dims start_dim..end_dim.")
      .def("diagonal", &Tensor::diagonal, nb::arg("offset") = 0, nb::arg("dim1") = 0, nb::arg("dim2") = 1,
           "The diagonal as a view.")
      .def(
          "item", [](const Tensor& t) { return from_scalar(t.item()); }, "The single element as a Python number.")
      .def(
          "tolist",
          [](const Tensor& t) -> nb::object {
            std::function<nb::object(const Tensor&)> rec = [&](const Tensor& x) -> nb::object {
              if (x.dim() == 0) return from_scalar(x.item());
              nb::list l;
              for (int64_t i = 0; i < x.shape()[0]; ++i) l.append(rec(x.select(0, i)));
              return l;
            };
            return rec(t);
          },
          "Nested Python lists.")
      .def(
          "to",
          [](const Tensor& t, nb::object a, nb::object b, nb::object dtype, nb::object device, bool non_blocking,
             bool copy) {
            // torch's forms: to(dtype, non_blocking), to(device, dtype, non_blocking), to(tensor, non_blocking).
            std::optional<Dtype> dt;
            std::optional<Device> dev;
            for (nb::handle h : {a, b, dtype, device}) {
              if (!h.is_valid() || h.is_none()) continue;
              if (PyBool_Check(h.ptr()))
                non_blocking = nb::cast<bool>(h);
              else if (nb::isinstance<DtypeObject>(h))
                dt = to_dtype(h);
              else if (nb::isinstance<Device>(h) || nb::isinstance<nb::str>(h))
                dev = to_device(nb::borrow(h));
              else if (nb::isinstance<Tensor>(h)) {
                dt = nb::cast<Tensor>(h).dtype();
                dev = nb::cast<Tensor>(h).device();
              } else
                LAMINA_THROW(ValueError, "to", "expected a dtype, a device or a tensor, got ",
                             nb::cast<std::string>(nb::repr(h)));
            }
            Tensor r = t;
            if (dt) r = r.to(*dt);
            if (dev) r = r.to(*dev, non_blocking);
            return copy && r.is_same(t) ? t.clone() : r;
          },
          nb::arg("a") = nb::none(), nb::arg("b") = nb::none(), nb::arg("dtype") = nb::none(),
          nb::arg("device") = nb::none(), nb::arg("non_blocking") = false, nb::arg("copy") = false,
          "Converted to a dtype and/or moved to a device; non_blocking copies from pinned memory (or "
          "from a GPU into pinned memory) without waiting.")
      .def(
          "type",
          [](const Tensor& t, nb::object dtype) -> nb::object {
            if (dtype.is_none()) return nb::str(("lamina." + std::string(dtype_name(t.dtype())) + " tensor").c_str());
            return nb::cast(t.to(to_dtype(dtype)));
          },
          nb::arg("dtype") = nb::none())
      .def("float", [](const Tensor& t) { return t.to(Dtype::Float32); })
      .def("double", [](const Tensor& t) { return t.to(Dtype::Float64); })
      .def("half", [](const Tensor& t) { return t.to(Dtype::Float16); })
      .def("bfloat16", [](const Tensor& t) { return t.to(Dtype::BFloat16); })
      .def("int", [](const Tensor& t) { return t.to(Dtype::Int32); })
      .def("long", [](const Tensor& t) { return t.to(Dtype::Int64); })
      .def("bool", [](const Tensor& t) { return t.to(Dtype::Bool); })
      .def("byte", [](const Tensor& t) { return t.to(Dtype::UInt8); })
      .def("char", [](const Tensor& t) { return t.to(Dtype::Int8); })
      .def("cpu", [](const Tensor& t) { return t.to(kCPU); })
      .def(
          "cuda",
          [](const Tensor& t, nb::object device, bool non_blocking) {
            Device d{DeviceType::CUDA, cuda::current_device()};
            if (nb::isinstance<nb::int_>(device))
              d.index = nb::cast<int>(device);
            else if (!device.is_none())
              d = to_device(device);
            LAMINA_CHECK(d.is_cuda(), ValueError, "cuda", "expected a CUDA device, got ", d.str());
            return t.to(d, non_blocking);
          },
          nb::arg("device") = nb::none(), nb::arg("non_blocking") = false,
          "A copy on a CUDA device (default: the current one); this tensor when already there.")
      .def("pin_memory", &Tensor::pin_memory, "A copy in pinned host memory (this tensor when already pinned).")
      .def("is_pinned", &Tensor::is_pinned, "True for a CPU tensor in pinned host memory.")
      .def(
          "record_stream",
          [](const Tensor& t, nb::handle stream) {
            // lamina.cuda.Stream wraps the binding's stream object in `_s`.
            nb::handle s = nb::isinstance<cuda::Stream>(stream) ? stream : nb::handle(stream.attr("_s"));
            const auto& cs = nb::cast<const cuda::Stream&>(s);
            t.record_stream(cs.handle(), cs.device());
          },
          nb::arg("stream"), "Marks the memory as used by work on `stream`, so it is not reused before that work ends.")
      .def(
          "copy_", [](const Tensor& t, nb::handle src) { return copy_(t, to_tensor_operand(src)); }, nb::arg("src"),
          "Copies src into this tensor (broadcast, converted); returns self.")
      .def(
          "fill_", [](const Tensor& t, nb::handle v) { return fill_(t, to_scalar(v)); }, nb::arg("value"))
      .def("zero_", [](const Tensor& t) { return zero_(t); })
      .def("__len__",
           [](const Tensor& t) {
             LAMINA_CHECK(t.dim() > 0, DTypeError, "len", "len() of a 0-d tensor");
             return t.shape()[0];
           })
      .def("__bool__",
           [](const Tensor& t) {
             LAMINA_CHECK(t.numel() == 1, ValueError, "bool", "the truth value of a tensor with ", t.numel(),
                          " elements is ambiguous; use .any() or .all()");
             return t.item().to<bool>();
           })
      .def("__float__", [](const Tensor& t) { return t.item().to_double(); })
      .def("__int__", [](const Tensor& t) { return t.item().to_int(); })
      .def("__index__",
           [](const Tensor& t) {
             LAMINA_CHECK(t.numel() == 1 && is_integral(t.dtype()), DTypeError, "index",
                          "only integer tensors of a single element can be converted to an index, got ", describe(t));
             return t.item().to_int();
           })
      .def("__repr__", &tensor_repr_with_grad)
      .def("__str__", &tensor_repr_with_grad)
      .def("__hash__", [](const Tensor& t) { return reinterpret_cast<intptr_t>(t.impl().get()); })
      .def("is_set_to", [](const Tensor& a, const Tensor& b) {
        return a.storage() == b.storage() && a.storage_offset() == b.storage_offset() && a.shape() == b.shape() &&
               a.strides() == b.strides();
      });
}

}  // namespace lamina::python

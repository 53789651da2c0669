// Python <-> lamina conversions shared by the bindings (declared in bind.h).
#include <cmath>
#include <cstring>

#include "bind.h"
#include "lamina/autograd/autograd.h"
#include "lamina/ops/common.h"

namespace lamina::python {

// Borrowed pointers: the module owns the singletons (as lamina.float32 etc.), so nothing
// outlives the interpreter.
static PyObject* g_dtype_objects[kNumDtypes];

void register_dtype_object(Dtype dt, nb::handle obj) { g_dtype_objects[static_cast<int>(dt)] = obj.ptr(); }

nb::object dtype_object(Dtype dt) { return nb::borrow(g_dtype_objects[static_cast<int>(dt)]); }

Dtype to_dtype(nb::handle h) {
  if (nb::isinstance<DtypeObject>(h)) return nb::cast<DtypeObject>(h).value;
  if (nb::isinstance<nb::str>(h)) {
    std::string s = nb::cast<std::string>(h);
    for (int i = 0; i < kNumDtypes; ++i)
      if (dtype_name(static_cast<Dtype>(i)) == s) return static_cast<Dtype>(i);
    if (s == "float" ) return Dtype::Float32;
    if (s == "double") return Dtype::Float64;
    if (s == "half") return Dtype::Float16;
    if (s == "long") return Dtype::Int64;
    if (s == "int") return Dtype::Int32;
    LAMINA_THROW(DTypeError, "dtype", "unknown dtype name '", s, "'");
  }
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) return Dtype::Float32;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) return Dtype::Int64;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) return Dtype::Bool;
  LAMINA_THROW(DTypeError, "dtype", "expected a lamina dtype such as lamina.float32, got ",
               nb::cast<std::string>(nb::repr(h)));
}

std::optional<Dtype> to_optional_dtype(const nb::object& h) {
  if (!h.is_valid() || h.is_none()) return std::nullopt;
  return to_dtype(h);
}

Device to_device(const nb::object& h) {
  if (!h.is_valid() || h.is_none()) return default_device();
  if (nb::isinstance<Device>(h)) {
    Device d = nb::cast<Device>(h);
    check_device_available(d, "device");
    return d;
  }
  if (nb::isinstance<nb::str>(h)) return parse_device(nb::cast<std::string>(h));
  LAMINA_THROW(ValueError, "device", "expected a device or a string like 'cpu', got ",
               nb::cast<std::string>(nb::repr(h)));
}

bool is_number(nb::handle h) {
  if (PyBool_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr())) return true;
  // NumPy scalars: integers implement __index__, floats __float__ (and are not tensors/arrays).
  if (nb::isinstance<Tensor>(h) || nb::hasattr(h, "__len__") || nb::hasattr(h, "shape") == false) {
    return false;
  }
  nb::object shape = h.attr("shape");
  return nb::isinstance<nb::tuple>(shape) && nb::len(shape) == 0 &&
         (nb::hasattr(h, "__index__") || nb::hasattr(h, "__float__"));
}

Scalar to_scalar(nb::handle h) {
  PyObject* o = h.ptr();
  if (PyBool_Check(o)) return Scalar(o == Py_True);
  if (PyLong_Check(o)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    LAMINA_CHECK(overflow == 0, ValueError, "scalar", "Python int ", nb::cast<std::string>(nb::str(h)),
                 " does not fit in int64");
    return Scalar(static_cast<int64_t>(v));
  }
  if (PyFloat_Check(o)) return Scalar(PyFloat_AS_DOUBLE(o));
  if (is_number(h)) {
    std::string kind = nb::cast<std::string>(nb::str(h.attr("dtype").attr("kind")));
    if (kind == "b") return Scalar(nb::cast<bool>(nb::bool_(h)));
    if (kind == "i" || kind == "u") return Scalar(static_cast<int64_t>(nb::cast<long long>(nb::int_(h))));
    return Scalar(nb::cast<double>(nb::float_(h)));
  }
  if (nb::isinstance<Tensor>(h)) {  // a 0-d tensor stands for its value, as in x.fill_(t[i])
    const Tensor& t = nb::cast<const Tensor&>(h);
    LAMINA_CHECK(t.dim() == 0, DTypeError, "scalar", "expected a Python number or a 0-d tensor, got ", describe(t));
    LAMINA_CHECK(!autograd::requires_grad(t), DTypeError, "scalar",
                 "a 0-d tensor that requires grad cannot stand for a number (its gradient would be lost); pass "
                 "t.detach() or t.item()");
    return t.item();
  }
  LAMINA_THROW(DTypeError, "scalar", "expected a Python number, got ", nb::cast<std::string>(nb::repr(nb::type_name(h.type()))));
}

nb::object from_scalar(const Scalar& s) {
  if (s.is_bool()) return nb::bool_(s.to<bool>());
  if (s.is_floating()) return nb::float_(s.to_double());
  return nb::int_(s.to_int());
}

namespace {

// Walks nested sequences: records the shape, the widest kind seen, and flat values.
struct Nested {
  Shape shape;
  bool shape_known = false;
  int kind = 0;  // 0 bool, 1 int, 2 float
  std::vector<double> floats;
  std::vector<int64_t> ints;
};

void walk(nb::handle h, int64_t depth, Nested& n, Shape& cur) {
  if (nb::isinstance<Tensor>(h)) {
    Tensor t = nb::cast<Tensor>(h).contiguous().to(Dtype::Float64);
    LAMINA_CHECK(t.dim() == 0, ValueError, "tensor", "only 0-d tensors can be nested inside a list");
    n.floats.push_back(t.item().to_double());
    n.ints.push_back(static_cast<int64_t>(t.item().to_double()));
    n.kind = 2;
  } else if (is_number(h)) {
    Scalar s = to_scalar(h);
    int k = s.is_bool() ? 0 : s.is_floating() ? 2 : 1;
    n.kind = std::max(n.kind, k);
    n.floats.push_back(s.to_double());
    n.ints.push_back(s.is_floating() ? 0 : s.to_int());
  } else if (nb::isinstance<nb::sequence>(h) && !nb::isinstance<nb::str>(h)) {
    nb::sequence seq = nb::borrow<nb::sequence>(h);
    int64_t len = static_cast<int64_t>(nb::len(seq));
    if (depth >= cur.size()) cur.push_back(len);
    cur[depth] = len;
    if (!n.shape_known && len == 0) {
      n.shape = cur;
      n.shape.resize(depth + 1);
      n.shape_known = true;
    }
    for (nb::handle item : seq) walk(item, depth + 1, n, cur);
    return;
  } else {
    LAMINA_THROW(DTypeError, "tensor", "could not convert an element of type ",
                 nb::cast<std::string>(nb::type_name(h.type())), " to a number");
  }
  // A leaf: the path so far is the full shape; all leaves must agree.
  Shape here = cur;
  here.resize(depth);
  if (!n.shape_known) {
    n.shape = here;
    n.shape_known = true;
  } else {
    LAMINA_CHECK(here == n.shape, ShapeError, "tensor", "expected a sequence of shape ", n.shape,
                 " but found a ragged element at depth ", depth);
  }
}

}  // namespace

Tensor tensor_from_data(nb::handle data, std::optional<Dtype> dtype, Device device) {
  if (nb::isinstance<Tensor>(data)) {
    Tensor t = nb::cast<Tensor>(data).clone();
    return dtype ? t.to(*dtype) : t;
  }
  // NumPy arrays and NumPy scalars keep their own dtype (torch.tensor(np.float64(x)) is float64);
  // Python numbers and nested lists take the default dtypes below.
  const bool python_number =
      PyBool_Check(data.ptr()) || PyLong_CheckExact(data.ptr()) || PyFloat_CheckExact(data.ptr());
  if (!python_number && (nb::hasattr(data, "__dlpack__") || nb::hasattr(data, "__array_interface__"))) {
    Tensor t = from_array_object(data).clone();
    return dtype ? t.to(*dtype) : t;
  }
  Nested n;
  Shape cur;
  walk(data, 0, n, cur);
  const int64_t numel = shape_numel(n.shape);
  LAMINA_CHECK(numel == static_cast<int64_t>(n.floats.size()), ShapeError, "tensor",
               "ragged nested sequence: expected shape ", n.shape);
  Dtype natural = n.kind == 0 ? Dtype::Bool : n.kind == 1 ? Dtype::Int64 : kDefaultFloat;
  if (numel == 0) natural = kDefaultFloat;
  check_device_available(device, "tensor");
  // One conversion from the exact values (double or int64) to the target dtype, so
  // tensor([1e8 + 1], dtype=float64) does not pass through float32.
  const Dtype target = dtype.value_or(natural);
  if (n.kind == 2 || numel == 0) return tensor<double>(n.floats, n.shape).to(target);
  return tensor<int64_t>(n.ints, n.shape).to(target);
}

Tensor to_tensor_operand(nb::handle h) {
  if (nb::isinstance<Tensor>(h)) return nb::cast<Tensor>(h);
  if (is_number(h)) return ops::wrapped_scalar(to_scalar(h));
  return tensor_from_data(h, std::nullopt, kCPU);
}

Shape to_shape(nb::handle h) {
  if (PyLong_Check(h.ptr())) return Shape{nb::cast<int64_t>(h)};
  if (nb::isinstance<nb::sequence>(h)) {
    Shape s;
    for (nb::handle item : nb::borrow<nb::sequence>(h)) {
      LAMINA_CHECK(PyLong_Check(item.ptr()) || nb::hasattr(item, "__index__"), DTypeError, "shape",
                   "sizes must be integers, got ", nb::cast<std::string>(nb::repr(item)));
      s.push_back(nb::cast<int64_t>(nb::int_(item)));
    }
    return s;
  }
  LAMINA_THROW(DTypeError, "shape", "expected an int or a sequence of ints, got ",
               nb::cast<std::string>(nb::repr(h)));
}

std::vector<int64_t> to_int_list(nb::handle h) { return to_shape(h).vec(); }

}  // namespace lamina::python

// Indexing from Python: __getitem__ / __setitem__ (ints, slices, None, ..., bools, masks,
// index arrays, tuples of these) and the index ops.
#include "bind.h"
#include "lamina/ops/common.h"

namespace lamina::python {
namespace {

TensorIndex parse_one(nb::handle h) {
  PyObject* o = h.ptr();
  if (o == Py_None) return NewAxis{};
  if (o == Py_Ellipsis) return Ellipsis{};
  if (PyBool_Check(o)) return o == Py_True;
  if (PySlice_Check(o)) {
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(o, &start, &stop, &step) < 0) throw nb::python_error();
    // PySlice_Unpack turns omitted bounds into +/-PY_SSIZE_T_MAX, which Tensor::slice clamps.
    return Slice{start, stop, step};
  }
  if (nb::isinstance<Tensor>(h)) return nb::cast<Tensor>(h);
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    LAMINA_CHECK(overflow == 0, IndexError, "index", "index ", nb::cast<std::string>(nb::str(h)), " is out of range");
    return static_cast<int64_t>(v);
  }
  if (is_number(h)) {
    Scalar s = to_scalar(h);
    LAMINA_CHECK(!s.is_floating(), IndexError, "index", "only integers, slices, None, ..., bools and integer or bool "
                 "tensors are valid indices, got a float");
    if (s.is_bool()) return s.to<bool>();
    return s.to_int();
  }
  if (nb::isinstance<nb::list>(h) || nb::hasattr(h, "__array_interface__") || nb::hasattr(h, "__dlpack__"))
    return tensor_from_data(h, std::nullopt, kCPU);
  LAMINA_THROW(IndexError, "index", "only integers, slices, None, ..., bools and integer or bool tensors are valid "
               "indices, got ", nb::cast<std::string>(nb::type_name(h.type())));
}

std::vector<TensorIndex> parse_key(nb::handle key) {
  std::vector<TensorIndex> out;
  if (nb::isinstance<nb::tuple>(key)) {
    for (nb::handle h : nb::borrow<nb::tuple>(key)) out.push_back(parse_one(h));
  } else {
    out.push_back(parse_one(key));
  }
  return out;
}

Tensor value_tensor(nb::handle v, const Tensor& like) {
  if (is_number(v)) return ops::scalar_tensor(to_scalar(v), like.dtype(), like.device());
  return to_tensor_operand(v);
}

}  // namespace

void init_index(nb::module_& m, TensorClass& cls) {
  cls.def("__getitem__", [](const Tensor& t, nb::handle key) { return index(t, parse_key(key)); },
          "NumPy/PyTorch indexing: basic indices give views, masks and index arrays give copies.");
  cls.def("__setitem__", [](const Tensor& t, nb::handle key, nb::handle value) {
    index_put_(t, parse_key(key), value_tensor(value, t));
  }, "Assignment through an index; values broadcast and convert to the tensor's dtype.");
  cls.def("index_put_", [](nb::pointer_and_handle<Tensor> self, nb::handle indices, nb::handle values, bool accumulate) {
    std::vector<TensorIndex> idx;
    for (nb::handle h : nb::borrow<nb::sequence>(indices)) idx.push_back(parse_one(h));
    index_put_(*self.p, idx, value_tensor(values, *self.p), accumulate);
    return nb::borrow(self.h);
  }, nb::arg("indices"), nb::arg("values"), nb::arg("accumulate") = false);

  auto sel = [](const Tensor& x, int64_t dim, const Tensor& i) { return index_select(x, dim, i); };
  m.def("index_select", sel, nb::arg("input"), nb::arg("dim"), nb::arg("index"), "Entries of input along dim at index.");
  cls.def("index_select", sel, nb::arg("dim"), nb::arg("index"));
  auto gat = [](const Tensor& x, int64_t dim, const Tensor& i) { return gather(x, dim, i); };
  m.def("gather", gat, nb::arg("input"), nb::arg("dim"), nb::arg("index"), "out[i][j] = input[index[i][j]][j] (dim 0).");
  cls.def("gather", gat, nb::arg("dim"), nb::arg("index"));
  auto take = [](const Tensor& x, const Tensor& i, std::optional<int64_t> dim) {
    if (!dim) return gather(x.reshape({-1}), 0, i.reshape({-1}));
    return gather(x, *dim, i);
  };
  m.def("take_along_dim", take, nb::arg("input"), nb::arg("indices"), nb::arg("dim") = nb::none());
  cls.def("take_along_dim", take, nb::arg("indices"), nb::arg("dim") = nb::none());

  auto scat = [](const Tensor& x, int64_t dim, const Tensor& i, nb::handle src, std::optional<std::string> reduce) {
    LAMINA_CHECK(!reduce || *reduce == "add", ValueError, "scatter", "reduce must be None or 'add', got '",
                 reduce.value_or(""), "'");
    if (reduce) return scatter_add(x, dim, i, to_tensor_operand(src).to(x.dtype()));
    if (is_number(src)) return scatter(x, dim, i, to_scalar(src));
    return scatter(x, dim, i, to_tensor_operand(src));
  };
  m.def("scatter", scat, nb::arg("input"), nb::arg("dim"), nb::arg("index"), nb::arg("src"), nb::kw_only(),
        nb::arg("reduce") = nb::none(), "Copy of input with src written at index along dim.");
  cls.def("scatter", scat, nb::arg("dim"), nb::arg("index"), nb::arg("src"), nb::kw_only(), nb::arg("reduce") = nb::none());
  cls.def("scatter_", [](nb::pointer_and_handle<Tensor> self, int64_t dim, const Tensor& i, nb::handle src) {
    if (is_number(src)) scatter_(*self.p, dim, i, to_scalar(src));
    else scatter_(*self.p, dim, i, to_tensor_operand(src));
    return nb::borrow(self.h);
  }, nb::arg("dim"), nb::arg("index"), nb::arg("src"));
  auto sadd = [](const Tensor& x, int64_t dim, const Tensor& i, const Tensor& src) { return scatter_add(x, dim, i, src); };
  m.def("scatter_add", sadd, nb::arg("input"), nb::arg("dim"), nb::arg("index"), nb::arg("src"),
        "Copy of input with src added at index along dim.");
  cls.def("scatter_add", sadd, nb::arg("dim"), nb::arg("index"), nb::arg("src"));
  cls.def("scatter_add_", [](nb::pointer_and_handle<Tensor> self, int64_t dim, const Tensor& i, const Tensor& src) {
    scatter_add_(*self.p, dim, i, src);
    return nb::borrow(self.h);
  }, nb::arg("dim"), nb::arg("index"), nb::arg("src"));

  auto mfill = [](const Tensor& x, const Tensor& mask, nb::handle v) {
    return masked_fill(x, mask, nb::isinstance<Tensor>(v) ? nb::cast<Tensor>(v).item() : to_scalar(v));
  };
  m.def("masked_fill", mfill, nb::arg("input"), nb::arg("mask"), nb::arg("value"), "input with value where mask.");
  cls.def("masked_fill", mfill, nb::arg("mask"), nb::arg("value"));
  cls.def("masked_fill_", [](nb::pointer_and_handle<Tensor> self, const Tensor& mask, nb::handle v) {
    masked_fill_(*self.p, mask, nb::isinstance<Tensor>(v) ? nb::cast<Tensor>(v).item() : to_scalar(v));
    return nb::borrow(self.h);
  }, nb::arg("mask"), nb::arg("value"));
  auto msel = [](const Tensor& x, const Tensor& mask) { return masked_select(x, mask); };
  m.def("masked_select", msel, nb::arg("input"), nb::arg("mask"), "1-d tensor of input's elements where mask.");
  cls.def("masked_select", msel, nb::arg("mask"));
  auto nz = [](const Tensor& x, bool as_tuple) -> nb::object {
    Tensor coords = nonzero(x);
    if (!as_tuple) return nb::cast(coords);
    nb::list parts;
    for (int64_t d = 0; d < std::max<int64_t>(x.dim(), 1); ++d)
      parts.append(x.dim() == 0 ? nb::cast(zeros({coords.shape()[0]}, {Dtype::Int64, kCPU})) : nb::cast(coords.select(1, d).contiguous()));
    return nb::tuple(parts);
  };
  m.def("nonzero", nz, nb::arg("input"), nb::kw_only(), nb::arg("as_tuple") = false,
        "Coordinates of nonzero elements (count, ndim), or one tensor per dim.");
  cls.def("nonzero", nz, nb::kw_only(), nb::arg("as_tuple") = false);
}

}  // namespace lamina::python

// Indexing from Python: __getitem__ / __setitem__ (ints, slices, None, ..., bools, masks,
// index arrays, lists, tuples of these) and the index ops (index_select, gather, scatter, ...).
#include <string>

#include "bind.h"
#include "lamina/ops/common.h"

namespace lamina::python {
namespace {

std::string py_type_name(nb::handle h) { return nb::cast<std::string>(nb::type_name(h.type())); }

bool is_array_like(nb::handle h) {
  return nb::hasattr(h, "__array_interface__") || nb::hasattr(h, "__dlpack__");
}

// NumPy integer arrays of a width lamina lacks (int16, uint32, ...) index as int64.
nb::handle widen_numpy_indices(nb::handle h, nb::object& keep) {
  if (!nb::hasattr(h, "dtype") || !nb::hasattr(h, "astype")) return h;
  nb::object dt = h.attr("dtype");
  const std::string kind = nb::cast<std::string>(nb::str(dt.attr("kind")));
  const std::string name = nb::cast<std::string>(nb::str(dt));
  if ((kind == "i" || kind == "u") && name != "int8" && name != "uint8" && name != "int32" && name != "int64") {
    keep = h.attr("astype")("int64");
    return keep;
  }
  return h;
}

// A sequence or array used as an index: an integer index array or a bool mask.
Tensor index_tensor(nb::handle h) {
  nb::object keep;
  if (is_array_like(h)) return tensor_from_data(widen_numpy_indices(h, keep), std::nullopt, kCPU);
  Tensor t = tensor_from_data(h, std::nullopt, kCPU);
  // An empty list has no element type; as an index it is an empty integer array.
  if (t.numel() == 0 && is_floating(t.dtype())) return t.to(Dtype::Int64);
  return t;
}

[[noreturn]] void bad_index(nb::handle h) {
  LAMINA_THROW(IndexError, "index", "only integers, slices (`:`), ellipsis (`...`), None and long, int, byte or bool "
               "tensors (or lists / arrays of them) are valid indices, got ", py_type_name(h));
}

TensorIndex parse_one(nb::handle h) {
  PyObject* o = h.ptr();
  if (o == Py_None) return NewAxis{};
  if (o == Py_Ellipsis) return Ellipsis{};
  if (PyBool_Check(o)) return o == Py_True;
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    LAMINA_CHECK(overflow == 0, IndexError, "index", "index ", nb::cast<std::string>(nb::str(h)), " is out of range");
    return static_cast<int64_t>(v);
  }
  if (PySlice_Check(o)) {
    // Omitted bounds come back as +/-PY_SSIZE_T_MAX, which Tensor::slice clamps like None.
    Py_ssize_t start = 0, stop = 0, step = 0;
    if (PySlice_Unpack(o, &start, &stop, &step) < 0) throw nb::python_error();
    return Slice{start, stop, step};
  }
  if (nb::isinstance<Tensor>(h)) return nb::cast<Tensor>(h);
  if (is_number(h)) {
    Scalar s = to_scalar(h);
    if (s.is_floating()) bad_index(h);
    if (s.is_bool()) return s.to<bool>();
    return s.to_int();
  }
  if (is_array_like(h) || (nb::isinstance<nb::sequence>(h) && !nb::isinstance<nb::str>(h) &&
                           !nb::isinstance<nb::bytes>(h)))
    return index_tensor(h);
  bad_index(h);
}

// PyTorch reads a short list holding slices, None, ..., tensors or sequences as a tuple of
// indices (x[[0, [1, 2]]] == x[0, [1, 2]]); any other list is one index array.
bool list_is_tuple(nb::handle key) {
  if (!PyList_Check(key.ptr()) || PyList_GET_SIZE(key.ptr()) >= 32) return false;
  for (nb::handle item : nb::borrow<nb::list>(key)) {
    PyObject* o = item.ptr();
    if (o == Py_None || o == Py_Ellipsis || PySlice_Check(o) || PyList_Check(o) || PyTuple_Check(o) ||
        nb::isinstance<Tensor>(item) || is_array_like(item))
      return true;
  }
  return false;
}

std::vector<TensorIndex> parse_key(nb::handle key) {
  std::vector<TensorIndex> out;
  if (PyTuple_Check(key.ptr()) || list_is_tuple(key)) {
    for (nb::handle h : nb::borrow<nb::sequence>(key)) out.push_back(parse_one(h));
  } else {
    out.push_back(parse_one(key));
  }
  return out;
}

// The index tuple of index_put_: tensors, with None meaning a full slice (PyTorch).
std::vector<TensorIndex> parse_put_indices(nb::handle indices) {
  std::vector<TensorIndex> out;
  if (!nb::isinstance<nb::sequence>(indices) || nb::isinstance<Tensor>(indices)) {
    LAMINA_THROW(DTypeError, "index_put_", "indices must be a tuple of tensors, got ", py_type_name(indices));
  }
  for (nb::handle h : nb::borrow<nb::sequence>(indices)) {
    if (h.is_none()) out.emplace_back(Slice{});
    else out.push_back(parse_one(h));
  }
  return out;
}

void put(const Tensor& t, const std::vector<TensorIndex>& idx, nb::handle value, bool accumulate) {
  if (is_number(value)) index_put_(t, idx, to_scalar(value), accumulate);
  else index_put_(t, idx, to_tensor_operand(value), accumulate);
}

nb::object fill_scalar_or_tensor(nb::handle v, const auto& with_scalar, const auto& with_tensor) {
  if (nb::isinstance<Tensor>(v)) return nb::cast(with_tensor(nb::cast<Tensor>(v)));
  return nb::cast(with_scalar(to_scalar(v)));
}

std::string reduce_arg(const std::optional<std::string>& reduce) { return reduce.value_or(""); }

}  // namespace

void init_index(nb::module_& m, TensorClass& cls) {
  cls.def("__getitem__", [](const Tensor& t, nb::handle key) { return index(t, parse_key(key)); },
          nb::arg("key").none(),
          "self[key]: ints, slices (negative steps allowed), None, ..., bools, masks and index arrays, as in "
          "PyTorch. Basic indices give views; masks and index arrays give copies.");
  cls.def("__setitem__", [](const Tensor& t, nb::handle key, nb::handle value) { put(t, parse_key(key), value, false); },
          nb::arg("key").none(), nb::arg("value"),
          "self[key] = value: value (number, tensor, list or array) broadcasts to the indexed shape and converts "
          "to self's dtype; on error self is left unchanged.");
  cls.def("index_put_", [](nb::pointer_and_handle<Tensor> self, nb::handle indices, nb::handle values, bool accumulate) {
    put(*self.p, parse_put_indices(indices), values, accumulate);
    return nb::borrow(self.h);
  }, nb::arg("indices"), nb::arg("values"), nb::arg("accumulate") = false,
     "self[indices] = values in place (indices: a tuple of tensors, None for a full dim); accumulate adds.");
  auto iput = [](const Tensor& t, nb::handle indices, nb::handle values, bool accumulate) {
    Tensor out = t.clone();
    put(out, parse_put_indices(indices), values, accumulate);
    return out;
  };
  m.def("index_put", iput, nb::arg("input"), nb::arg("indices"), nb::arg("values"), nb::arg("accumulate") = false,
        "A copy of input with input[indices] = values (accumulate adds).");
  cls.def("index_put", iput, nb::arg("indices"), nb::arg("values"), nb::arg("accumulate") = false,
          "A copy of self with self[indices] = values (accumulate adds).");

  auto sel = [](const Tensor& x, int64_t dim, const Tensor& i) { return index_select(x, dim, i); };
  m.def("index_select", sel, nb::arg("input"), nb::arg("dim"), nb::arg("index"),
        "Entries of input along dim at the positions in the 1-d int64/int32 tensor index.");
  cls.def("index_select", sel, nb::arg("dim"), nb::arg("index"), "Entries along dim at index.");
  auto tk = [](const Tensor& x, const Tensor& i) { return take(x, i); };
  m.def("take", tk, nb::arg("input"), nb::arg("index"), "input flattened, taken at index (shaped like index).");
  cls.def("take", tk, nb::arg("index"), "self flattened, taken at index (shaped like index).");
  auto gat = [](const Tensor& x, int64_t dim, const Tensor& i, bool) { return gather(x, dim, i); };
  m.def("gather", gat, nb::arg("input"), nb::arg("dim"), nb::arg("index"), nb::kw_only(),
        nb::arg("sparse_grad") = false, "out[i][j] = input[index[i][j]][j] for dim 0 (index: int64, input's rank).");
  cls.def("gather", gat, nb::arg("dim"), nb::arg("index"), nb::kw_only(), nb::arg("sparse_grad") = false,
          "out[i][j] = self[index[i][j]][j] for dim 0.");
  auto tad = [](const Tensor& x, const Tensor& i, std::optional<int64_t> dim) { return take_along_dim(x, i, dim); };
  m.def("take_along_dim", tad, nb::arg("input"), nb::arg("indices"), nb::arg("dim") = nb::none(),
        "gather along dim after broadcasting input and indices; with dim=None both are flattened.");
  cls.def("take_along_dim", tad, nb::arg("indices"), nb::arg("dim") = nb::none(),
          "gather along dim after broadcasting self and indices.");

  // scatter: a tensor src or a scalar value; reduce "add" / "multiply".
  auto scat_t = [](const Tensor& x, int64_t dim, const Tensor& i, const Tensor& src, std::optional<std::string> r) {
    return scatter(x, dim, i, src, reduce_arg(r));
  };
  auto scat_v = [](const Tensor& x, int64_t dim, const Tensor& i, nb::handle value, std::optional<std::string> r) {
    return scatter(x, dim, i, to_scalar(value), reduce_arg(r));
  };
  const char* scat_doc = "Copy of input with src (or value) written at index along dim; reduce='add'/'multiply'.";
  m.def("scatter", scat_t, nb::arg("input"), nb::arg("dim"), nb::arg("index"), nb::arg("src"), nb::kw_only(),
        nb::arg("reduce") = nb::none(), scat_doc);
  m.def("scatter", scat_v, nb::arg("input"), nb::arg("dim"), nb::arg("index"), nb::arg("value"), nb::kw_only(),
        nb::arg("reduce") = nb::none(), scat_doc);
  cls.def("scatter", scat_t, nb::arg("dim"), nb::arg("index"), nb::arg("src"), nb::kw_only(),
          nb::arg("reduce") = nb::none(), scat_doc);
  cls.def("scatter", scat_v, nb::arg("dim"), nb::arg("index"), nb::arg("value"), nb::kw_only(),
          nb::arg("reduce") = nb::none(), scat_doc);
  cls.def("scatter_", [](nb::pointer_and_handle<Tensor> self, int64_t dim, const Tensor& i, const Tensor& src,
                         std::optional<std::string> r) {
    scatter_(*self.p, dim, i, src, reduce_arg(r));
    return nb::borrow(self.h);
  }, nb::arg("dim"), nb::arg("index"), nb::arg("src"), nb::kw_only(), nb::arg("reduce") = nb::none(),
     "In-place scatter of src at index along dim; returns self.");
  cls.def("scatter_", [](nb::pointer_and_handle<Tensor> self, int64_t dim, const Tensor& i, nb::handle value,
                         std::optional<std::string> r) {
    scatter_(*self.p, dim, i, to_scalar(value), reduce_arg(r));
    return nb::borrow(self.h);
  }, nb::arg("dim"), nb::arg("index"), nb::arg("value"), nb::kw_only(), nb::arg("reduce") = nb::none(),
     "In-place scatter of a scalar value at index along dim; returns self.");
  auto sadd = [](const Tensor& x, int64_t dim, const Tensor& i, const Tensor& src) { return scatter_add(x, dim, i, src); };
  m.def("scatter_add", sadd, nb::arg("input"), nb::arg("dim"), nb::arg("index"), nb::arg("src"),
        "Copy of input with src added at index along dim (repeated indices add up).");
  cls.def("scatter_add", sadd, nb::arg("dim"), nb::arg("index"), nb::arg("src"),
          "Copy of self with src added at index along dim.");
  cls.def("scatter_add_", [](nb::pointer_and_handle<Tensor> self, int64_t dim, const Tensor& i, const Tensor& src) {
    scatter_add_(*self.p, dim, i, src);
    return nb::borrow(self.h);
  }, nb::arg("dim"), nb::arg("index"), nb::arg("src"), "In-place scatter_add; returns self.");

  auto mfill = [](const Tensor& x, const Tensor& mask, nb::handle v) {
    return fill_scalar_or_tensor(v, [&](const Scalar& s) { return masked_fill(x, mask, s); },
                                 [&](const Tensor& t) { return masked_fill(x, mask, t); });
  };
  m.def("masked_fill", mfill, nb::arg("input"), nb::arg("mask"), nb::arg("value"),
        "input with value (a number or 0-d tensor) where the bool mask (broadcast to input) is True.");
  cls.def("masked_fill", mfill, nb::arg("mask"), nb::arg("value"), "self with value where mask is True.");
  cls.def("masked_fill_", [](nb::pointer_and_handle<Tensor> self, const Tensor& mask, nb::handle v) {
    if (nb::isinstance<Tensor>(v)) masked_fill_(*self.p, mask, nb::cast<Tensor>(v));
    else masked_fill_(*self.p, mask, to_scalar(v));
    return nb::borrow(self.h);
  }, nb::arg("mask"), nb::arg("value"), "In-place masked_fill; returns self.");
  auto msel = [](const Tensor& x, const Tensor& mask) { return masked_select(x, mask); };
  m.def("masked_select", msel, nb::arg("input"), nb::arg("mask"),
        "1-d tensor of input's elements where the bool mask is True (the two broadcast together).");
  cls.def("masked_select", msel, nb::arg("mask"), "1-d tensor of self's elements where mask is True.");
  auto nz = [](const Tensor& x, bool as_tuple) -> nb::object {
    if (!as_tuple) return nb::cast(nonzero(x));
    nb::list parts;
    for (const Tensor& t : nonzero_as_tuple(x)) parts.append(nb::cast(t));
    return nb::tuple(parts);
  };
  m.def("nonzero", nz, nb::arg("input"), nb::kw_only(), nb::arg("as_tuple") = false,
        "Coordinates of the nonzero elements as an int64 (count, ndim) tensor, or with as_tuple=True one 1-d "
        "tensor per dim.");
  cls.def("nonzero", nz, nb::kw_only(), nb::arg("as_tuple") = false, "Coordinates of the nonzero elements.");
  m.def("argwhere", [](const Tensor& x) { return nonzero(x); }, nb::arg("input"),
        "Coordinates of the nonzero elements, int64 (count, ndim).");
  cls.def("argwhere", [](const Tensor& x) { return nonzero(x); }, "Coordinates of the nonzero elements.");
}

}  // namespace lamina::python

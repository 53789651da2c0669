// Reductions, scans, softmax and sorting: module functions (lamina.sum(x, ...)) and the same
// names as Tensor methods (x.sum(...)), with PyTorch's signatures.
#include <string>

#include "bind.h"

namespace lamina::python {
namespace {

// An int or an integer-like object (NumPy integer), but not a bool.
bool is_int_like(nb::handle h) {
  return !PyBool_Check(h.ptr()) && (PyLong_Check(h.ptr()) || (PyIndex_Check(h.ptr()) && !PySequence_Check(h.ptr())));
}

int64_t to_int(nb::handle h) { return nb::cast<int64_t>(nb::int_(h)); }

// dim=None -> all dims; an int or a sequence of ints otherwise.
DimList to_dims(const nb::object& dim, const char* op) {
  if (!dim.is_valid() || dim.is_none()) return std::nullopt;
  if (is_int_like(dim)) return std::vector<int64_t>{to_int(dim)};
  if (nb::isinstance<nb::sequence>(dim) && !nb::isinstance<nb::str>(dim)) {
    std::vector<int64_t> dims;
    for (nb::handle item : nb::borrow<nb::sequence>(dim)) {
      LAMINA_CHECK(is_int_like(item), DTypeError, op, "dims must be ints, got ", nb::cast<std::string>(nb::repr(item)));
      dims.push_back(to_int(item));
    }
    return dims;
  }
  LAMINA_THROW(DTypeError, op, "dim must be None, an int or a sequence of ints, got ",
               nb::cast<std::string>(nb::repr(dim)));
}

// The (values, indices) named tuple type, owned by the module (borrowed here).
PyObject* g_values_indices = nullptr;

nb::object values_indices(const ValuesIndices& r) {
  return nb::handle(g_values_indices)(nb::cast(r.values), nb::cast(r.indices));
}

// Binds `f` both as lamina.<name>(input, ...) and as Tensor.<name>(...).
template <class F, class... Args>
void def_both(nb::module_& m, TensorClass& cls, const char* name, F f, const char* doc, const Args&... args) {
  m.def(name, f, nb::arg("input"), args..., doc);
  cls.def(name, f, args..., doc);
}

// PyTorch's var/std argument forms: (dim, unbiased, keepdim), (unbiased) alone as the first
// positional, or correction= (keyword).
Tensor var_std(bool take_sqrt, const Tensor& x, nb::object dim, nb::object unbiased, bool keepdim,
               nb::object correction) {
  const char* op = take_sqrt ? "std" : "var";
  if (PyBool_Check(dim.ptr())) {  // x.var(False): the first positional is `unbiased`
    LAMINA_CHECK(unbiased.is_none(), DTypeError, op, "dim must be None, an int or a sequence of ints, got a bool");
    unbiased = dim;
    dim = nb::none();
  }
  LAMINA_CHECK(unbiased.is_none() || correction.is_none(), ValueError, op,
               "pass either unbiased or correction, not both");
  double c = 1.0;
  if (!correction.is_none())
    c = nb::cast<double>(correction);
  else if (!unbiased.is_none())
    c = nb::cast<bool>(unbiased) ? 1.0 : 0.0;
  return take_sqrt ? lamina::std(x, to_dims(dim, op), c, keepdim) : lamina::var(x, to_dims(dim, op), c, keepdim);
}

nb::object max_min(bool is_max, const Tensor& x, const nb::object& dim, bool keepdim) {
  if (dim.is_none()) return nb::cast(is_max ? lamina::max(x) : lamina::min(x));
  if (nb::isinstance<Tensor>(dim)) {  // lamina.max(a, b): the elementwise form
    const Tensor& other = nb::cast<const Tensor&>(dim);
    return nb::cast(is_max ? maximum(x, other) : minimum(x, other));
  }
  const char* op = is_max ? "max" : "min";
  LAMINA_CHECK(is_int_like(dim), DTypeError, op, "dim must be None, an int or a Tensor, got ",
               nb::cast<std::string>(nb::repr(dim)));
  const int64_t d = to_int(dim);
  return values_indices(is_max ? lamina::max(x, d, keepdim) : lamina::min(x, d, keepdim));
}

double norm_order(const nb::object& p) {
  if (p.is_none()) return 2.0;
  if (nb::isinstance<nb::str>(p)) {
    const std::string s = nb::cast<std::string>(p);
    LAMINA_CHECK(s == "fro", ValueError, "norm", "unsupported norm type '", s, "': use a number or 'fro'");
    return 2.0;
  }
  LAMINA_CHECK(!PyBool_Check(p.ptr()) && (PyLong_Check(p.ptr()) || PyFloat_Check(p.ptr())), DTypeError, "norm",
               "p must be a number or 'fro', got ", nb::cast<std::string>(nb::repr(p)));
  return nb::cast<double>(p);
}

}  // namespace

void init_reduce(nb::module_& m, TensorClass& cls) {
  m.attr("_values_indices") =
      nb::module_::import_("collections").attr("namedtuple")("values_indices", "values indices");
  g_values_indices = m.attr("_values_indices").ptr();

  const auto dim_none = nb::arg("dim") = nb::none();
  const auto keepdim = nb::arg("keepdim") = false;
  const auto dtype_none = nb::arg("dtype") = nb::none();

  def_both(
      m, cls, "sum",
      [](const Tensor& x, nb::object dim, bool keepdim, nb::object dtype) {
        return lamina::sum(x, to_dims(dim, "sum"), keepdim, to_optional_dtype(dtype));
      },
      "Sum over dim (an int or a tuple; all dims when None). Bool and integer inputs give int64 unless dtype= "
      "is given.",
      dim_none, keepdim, nb::kw_only(), dtype_none);
  def_both(
      m, cls, "mean",
      [](const Tensor& x, nb::object dim, bool keepdim, nb::object dtype) {
        return lamina::mean(x, to_dims(dim, "mean"), keepdim, to_optional_dtype(dtype));
      },
      "Mean over dim (all dims when None). Needs a floating input or a floating dtype=.", dim_none, keepdim,
      nb::kw_only(), dtype_none);
  def_both(
      m, cls, "prod",
      [](const Tensor& x, nb::object dim, bool keepdim, nb::object dtype) {
        return lamina::prod(x, to_dims(dim, "prod"), keepdim, to_optional_dtype(dtype));
      },
      "Product over dim (all dims when None). Bool and integer inputs give int64 unless dtype= is given.", dim_none,
      keepdim, nb::kw_only(), dtype_none);
  def_both(
      m, cls, "amax",
      [](const Tensor& x, nb::object dim, bool keepdim) { return lamina::amax(x, to_dims(dim, "amax"), keepdim); },
      "Maximum over dim (all dims when None or ()); NaN propagates.", nb::arg("dim").none() = nb::tuple(), keepdim);
  def_both(
      m, cls, "amin",
      [](const Tensor& x, nb::object dim, bool keepdim) { return lamina::amin(x, to_dims(dim, "amin"), keepdim); },
      "Minimum over dim (all dims when None or ()); NaN propagates.", nb::arg("dim").none() = nb::tuple(), keepdim);
  def_both(
      m, cls, "max", [](const Tensor& x, nb::object dim, bool keepdim) { return max_min(true, x, dim, keepdim); },
      "max(input): the largest element (0-d); max(input, dim, keepdim=False): (values, indices) along dim; "
      "max(input, other): the elementwise maximum. NaN propagates.",
      dim_none, keepdim);
  def_both(
      m, cls, "min", [](const Tensor& x, nb::object dim, bool keepdim) { return max_min(false, x, dim, keepdim); },
      "min(input): the smallest element (0-d); min(input, dim, keepdim=False): (values, indices) along dim; "
      "min(input, other): the elementwise minimum. NaN propagates.",
      dim_none, keepdim);
  def_both(
      m, cls, "argmax",
      [](const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return lamina::argmax(x, dim, keepdim); },
      "Index (int64) of the first maximum along dim, or in the flattened input when dim is None.", dim_none, keepdim);
  def_both(
      m, cls, "argmin",
      [](const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return lamina::argmin(x, dim, keepdim); },
      "Index (int64) of the first minimum along dim, or in the flattened input when dim is None.", dim_none, keepdim);
  def_both(
      m, cls, "var",
      [](const Tensor& x, nb::object dim, nb::object unbiased, bool keepdim, nb::object correction) {
        return var_std(false, x, dim, unbiased, keepdim, correction);
      },
      "Variance over dim of a floating input, dividing by max(n - correction, 0); correction defaults to 1 "
      "(unbiased=False means 0).",
      dim_none, nb::arg("unbiased") = nb::none(), keepdim, nb::kw_only(), nb::arg("correction") = nb::none());
  def_both(
      m, cls, "std",
      [](const Tensor& x, nb::object dim, nb::object unbiased, bool keepdim, nb::object correction) {
        return var_std(true, x, dim, unbiased, keepdim, correction);
      },
      "Standard deviation over dim of a floating input, dividing by max(n - correction, 0); correction defaults "
      "to 1 (unbiased=False means 0).",
      dim_none, nb::arg("unbiased") = nb::none(), keepdim, nb::kw_only(), nb::arg("correction") = nb::none());
  def_both(
      m, cls, "logsumexp",
      [](const Tensor& x, nb::object dim, bool keepdim) {
        return lamina::logsumexp(x, to_dims(dim, "logsumexp"), keepdim);
      },
      "log(sum(exp(input))) over dim, computed stably; integer inputs give float32.", nb::arg("dim"), keepdim);
  def_both(
      m, cls, "norm",
      [](const Tensor& x, nb::object p, nb::object dim, bool keepdim, nb::object dtype) {
        const double order = norm_order(p);
        const auto dt = to_optional_dtype(dtype);
        return lamina::norm(dt ? x.to(*dt) : x, order, to_dims(dim, "norm"), keepdim);
      },
      "Vector p-norm over dim (all dims when None): p = 'fro' or 2 (default), 1, inf, -inf, 0 or any number. "
      "Needs a floating input or dtype=.",
      nb::arg("p") = "fro", dim_none, keepdim, dtype_none);
  def_both(
      m, cls, "all",
      [](const Tensor& x, nb::object dim, bool keepdim) { return lamina::all(x, to_dims(dim, "all"), keepdim); },
      "True (bool) where every element over dim is nonzero (all dims when None).", dim_none, keepdim);
  def_both(
      m, cls, "any",
      [](const Tensor& x, nb::object dim, bool keepdim) { return lamina::any(x, to_dims(dim, "any"), keepdim); },
      "True (bool) where some element over dim is nonzero (all dims when None).", dim_none, keepdim);
  def_both(
      m, cls, "cumsum",
      [](const Tensor& x, int64_t dim, nb::object dtype) { return lamina::cumsum(x, dim, to_optional_dtype(dtype)); },
      "Cumulative sum along dim. Bool and integer inputs give int64 unless dtype= is given.", nb::arg("dim"),
      nb::kw_only(), dtype_none);
  def_both(
      m, cls, "cumprod",
      [](const Tensor& x, int64_t dim, nb::object dtype) { return lamina::cumprod(x, dim, to_optional_dtype(dtype)); },
      "Cumulative product along dim. Bool and integer inputs give int64 unless dtype= is given.", nb::arg("dim"),
      nb::kw_only(), dtype_none);
  def_both(
      m, cls, "softmax",
      [](const Tensor& x, int64_t dim, nb::object dtype) { return lamina::softmax(x, dim, to_optional_dtype(dtype)); },
      "softmax along dim, computed stably (input converted to dtype first when given; it must be floating).",
      nb::arg("dim"), dtype_none);
  def_both(
      m, cls, "log_softmax",
      [](const Tensor& x, int64_t dim, nb::object dtype) {
        return lamina::log_softmax(x, dim, to_optional_dtype(dtype));
      },
      "log_softmax along dim, computed stably (input converted to dtype first when given; it must be floating).",
      nb::arg("dim"), dtype_none);
  def_both(
      m, cls, "sort",
      [](const Tensor& x, int64_t dim, bool descending, bool stable) {
        (void)stable;  // lamina's sort is always stable
        return values_indices(lamina::sort(x, dim, descending));
      },
      "Sort along dim: (values, indices). Always stable; NaN sorts as the largest value.", nb::arg("dim") = -1,
      nb::arg("descending") = false, nb::kw_only(), nb::arg("stable") = false);
  def_both(
      m, cls, "argsort",
      [](const Tensor& x, int64_t dim, bool descending, bool stable) {
        (void)stable;
        return lamina::argsort(x, dim, descending);
      },
      "Indices (int64) that sort the input along dim (stably; NaN is the largest value).", nb::arg("dim") = -1,
      nb::arg("descending") = false, nb::kw_only(), nb::arg("stable") = false);
  def_both(
      m, cls, "topk",
      [](const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
        return values_indices(lamina::topk(x, k, dim, largest, sorted));
      },
      "The k largest (or smallest) elements along dim: (values, indices), in sorted order; NaN is the largest "
      "value.",
      nb::arg("k"), nb::arg("dim") = -1, nb::arg("largest") = true, nb::arg("sorted") = true);
}

}  // namespace lamina::python

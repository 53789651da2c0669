// Reductions, scans, softmax and sorting: module functions and Tensor methods.
#include "bind.h"

namespace lamina::python {
namespace {

DimList to_dims(const nb::object& dim) {
  if (!dim.is_valid() || dim.is_none()) return std::nullopt;
  return to_int_list(dim);
}

// collections.namedtuple("values_indices", ...), owned by the module (borrowed here).
PyObject* g_values_indices = nullptr;

nb::object pair(const ValuesIndices& r) {
  return nb::handle(g_values_indices)(nb::cast(r.values), nb::cast(r.indices));
}

}  // namespace

void init_reduce(nb::module_& m, TensorClass& cls) {
  m.attr("_values_indices") = nb::module_::import_("collections").attr("namedtuple")("values_indices", "values indices");
  g_values_indices = m.attr("_values_indices").ptr();

#define LAMINA_BIND_DTYPED(name, doc)                                                                  \
  {                                                                                                    \
    auto f = [](const Tensor& x, nb::object dim, bool keepdim, nb::object dtype) {                    \
      return lamina::name(x, to_dims(dim), keepdim, to_optional_dtype(dtype));                        \
    };                                                                                                 \
    m.def(#name, f, nb::arg("input"), nb::arg("dim") = nb::none(), nb::arg("keepdim") = false, nb::kw_only(), \
          nb::arg("dtype") = nb::none(), doc);                                                         \
    cls.def(#name, f, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false, nb::kw_only(),         \
            nb::arg("dtype") = nb::none(), doc);                                                       \
  }
  LAMINA_BIND_DTYPED(sum, "Sum over dims (all when dim is None).")
  LAMINA_BIND_DTYPED(mean, "Mean over dims.")
#undef LAMINA_BIND_DTYPED
  {
    auto f = [](const Tensor& x, nb::object dim, bool keepdim, nb::object dtype) {
      if (dim.is_none()) return lamina::prod(x, std::nullopt, keepdim, to_optional_dtype(dtype));
      return lamina::prod(x, std::vector<int64_t>{nb::cast<int64_t>(dim)}, keepdim, to_optional_dtype(dtype));
    };
    m.def("prod", f, nb::arg("input"), nb::arg("dim") = nb::none(), nb::arg("keepdim") = false, nb::kw_only(),
          nb::arg("dtype") = nb::none(), "Product over one dim (all when dim is None).");
    cls.def("prod", f, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false, nb::kw_only(),
            nb::arg("dtype") = nb::none());
  }
#define LAMINA_BIND_DIMS(name, doc)                                                                       \
  {                                                                                                       \
    auto f = [](const Tensor& x, nb::object dim, bool keepdim) { return lamina::name(x, to_dims(dim), keepdim); }; \
    m.def(#name, f, nb::arg("input"), nb::arg("dim") = nb::none(), nb::arg("keepdim") = false, doc);     \
    cls.def(#name, f, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false, doc);                     \
  }
  LAMINA_BIND_DIMS(amax, "Maximum over dims (NaN propagates).")
  LAMINA_BIND_DIMS(amin, "Minimum over dims (NaN propagates).")
  LAMINA_BIND_DIMS(all, "True where all elements are nonzero.")
  LAMINA_BIND_DIMS(any, "True where any element is nonzero.")
#undef LAMINA_BIND_DIMS
  {
    auto f = [](const Tensor& x, nb::object dim, bool keepdim) { return lamina::logsumexp(x, to_dims(dim), keepdim); };
    m.def("logsumexp", f, nb::arg("input"), nb::arg("dim"), nb::arg("keepdim") = false, "log(sum(exp(x))), stably.");
    cls.def("logsumexp", f, nb::arg("dim"), nb::arg("keepdim") = false);
  }
#define LAMINA_BIND_EXTREME(name, elementwise)                                                                \
  {                                                                                                           \
    auto f = [](const Tensor& x, nb::object dim, bool keepdim) -> nb::object {                                \
      if (dim.is_none()) return nb::cast(lamina::name(x));                                                    \
      if (nb::isinstance<Tensor>(dim)) return nb::cast(lamina::elementwise(x, nb::cast<Tensor>(dim)));        \
      return pair(lamina::name(x, nb::cast<int64_t>(dim), keepdim));                                          \
    };                                                                                                        \
    m.def(#name, f, nb::arg("input"), nb::arg("dim") = nb::none(), nb::arg("keepdim") = false,               \
          "Overall " #name " (0-d), or (values, indices) along dim, or elementwise with a tensor.");          \
    cls.def(#name, f, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false);                               \
  }
  LAMINA_BIND_EXTREME(max, maximum)
  LAMINA_BIND_EXTREME(min, minimum)
#undef LAMINA_BIND_EXTREME
#define LAMINA_BIND_ARG(name)                                                                              \
  {                                                                                                        \
    auto f = [](const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return lamina::name(x, dim, keepdim); }; \
    m.def(#name, f, nb::arg("input"), nb::arg("dim") = nb::none(), nb::arg("keepdim") = false,            \
          "Index of the " #name " (over the flattened tensor when dim is None).");                          \
    cls.def(#name, f, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false);                            \
  }
  LAMINA_BIND_ARG(argmax)
  LAMINA_BIND_ARG(argmin)
#undef LAMINA_BIND_ARG
#define LAMINA_BIND_VAR(name)                                                                                  \
  {                                                                                                            \
    auto f = [](const Tensor& x, nb::object dim, nb::object unbiased, bool keepdim, nb::object correction) {   \
      double c = 1.0;                                                                                          \
      if (!correction.is_none()) c = nb::cast<double>(correction);                                             \
      else if (!unbiased.is_none()) c = nb::cast<bool>(unbiased) ? 1.0 : 0.0;                                  \
      return lamina::name(x, to_dims(dim), c, keepdim);                                                        \
    };                                                                                                         \
    m.def(#name, f, nb::arg("input"), nb::arg("dim") = nb::none(), nb::arg("unbiased") = nb::none(),          \
          nb::arg("keepdim") = false, nb::kw_only(), nb::arg("correction") = nb::none(), #name " over dims."); \
    cls.def(#name, f, nb::arg("dim") = nb::none(), nb::arg("unbiased") = nb::none(), nb::arg("keepdim") = false, \
            nb::kw_only(), nb::arg("correction") = nb::none());                                                \
  }
  LAMINA_BIND_VAR(var)
  LAMINA_BIND_VAR(std)
#undef LAMINA_BIND_VAR
  {
    auto f = [](const Tensor& x, nb::object p, nb::object dim, bool keepdim, nb::object dtype) {
      double order = 2.0;
      if (nb::isinstance<nb::str>(p)) {
        std::string s = nb::cast<std::string>(p);
        LAMINA_CHECK(s == "fro", ValueError, "norm", "unsupported norm type '", s, "'; use a number or 'fro'");
      } else if (!p.is_none()) {
        order = nb::cast<double>(p);
      }
      auto dt = to_optional_dtype(dtype);
      return lamina::norm(dt ? x.to(*dt) : x, order, to_dims(dim), keepdim);
    };
    m.def("norm", f, nb::arg("input"), nb::arg("p") = "fro", nb::arg("dim") = nb::none(), nb::arg("keepdim") = false,
          nb::arg("dtype") = nb::none(), "Vector p-norm over dims (all by default).");
    cls.def("norm", f, nb::arg("p") = "fro", nb::arg("dim") = nb::none(), nb::arg("keepdim") = false,
            nb::arg("dtype") = nb::none());
  }
#define LAMINA_BIND_SCAN(name)                                                                          \
  {                                                                                                     \
    auto f = [](const Tensor& x, int64_t dim, nb::object dtype) { return lamina::name(x, dim, to_optional_dtype(dtype)); }; \
    m.def(#name, f, nb::arg("input"), nb::arg("dim"), nb::kw_only(), nb::arg("dtype") = nb::none(), #name " along dim."); \
    cls.def(#name, f, nb::arg("dim"), nb::kw_only(), nb::arg("dtype") = nb::none());                   \
  }
  LAMINA_BIND_SCAN(cumsum)
  LAMINA_BIND_SCAN(cumprod)
  LAMINA_BIND_SCAN(softmax)
  LAMINA_BIND_SCAN(log_softmax)
#undef LAMINA_BIND_SCAN
  {
    auto f = [](const Tensor& x, int64_t dim, bool descending, bool stable) {
      (void)stable;  // lamina's sort is always stable
      return pair(lamina::sort(x, dim, descending));
    };
    m.def("sort", f, nb::arg("input"), nb::arg("dim") = -1, nb::arg("descending") = false, nb::kw_only(),
          nb::arg("stable") = false, "Stable sort along dim: (values, indices).");
    cls.def("sort", f, nb::arg("dim") = -1, nb::arg("descending") = false, nb::kw_only(), nb::arg("stable") = false);
    auto g = [](const Tensor& x, int64_t dim, bool descending) { return lamina::argsort(x, dim, descending); };
    m.def("argsort", g, nb::arg("input"), nb::arg("dim") = -1, nb::arg("descending") = false);
    cls.def("argsort", g, nb::arg("dim") = -1, nb::arg("descending") = false);
    auto t = [](const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
      return pair(lamina::topk(x, k, dim, largest, sorted));
    };
    m.def("topk", t, nb::arg("input"), nb::arg("k"), nb::arg("dim") = -1, nb::arg("largest") = true,
          nb::arg("sorted") = true, "The k largest (or smallest) elements along dim: (values, indices).");
    cls.def("topk", t, nb::arg("k"), nb::arg("dim") = -1, nb::arg("largest") = true, nb::arg("sorted") = true);
  }
}

}  // namespace lamina::python

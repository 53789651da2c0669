// Elementwise ops as module functions, Tensor methods, in-place methods and operators.
#include "bind.h"
#include "lamina/ops/common.h"

namespace lamina::python {
namespace {

using Self = nb::pointer_and_handle<Tensor>;

// A Python operand that is not a tensor or number makes an operator return NotImplemented.
bool operand_ok(nb::handle h) {
  return nb::isinstance<Tensor>(h) || is_number(h) || nb::hasattr(h, "__dlpack__") ||
         nb::isinstance<nb::list>(h) || nb::isinstance<nb::tuple>(h);
}

// Operators: a Tensor operand is used in place (no conversion, no handle copy); anything else
// goes through to_tensor_operand.
template <class F>
nb::object forward(F f, const Tensor& a, nb::handle b) {
  if (const Tensor* t = exact_tensor(b)) return wrap_tensor(f(a, *t));
  if (!operand_ok(b)) return nb::borrow(Py_NotImplemented);
  return wrap_tensor(f(a, to_tensor_operand(b)));
}

template <class F>
nb::object reflected(F f, const Tensor& a, nb::handle b) {
  if (const Tensor* t = exact_tensor(b)) return wrap_tensor(f(*t, a));
  if (!operand_ok(b)) return nb::borrow(Py_NotImplemented);
  return wrap_tensor(f(to_tensor_operand(b), a));
}

template <class F>
nb::object inplace(F f, Self self, nb::handle b) {
  if (const Tensor* t = exact_tensor(b)) {
    f(*self.p, *t);
  } else {
    if (!operand_ok(b)) return nb::borrow(Py_NotImplemented);
    f(*self.p, to_tensor_operand(b));
  }
  return nb::borrow(self.h);
}

}  // namespace

void init_elementwise(nb::module_& m, TensorClass& cls) {
#define LAMINA_BIND_UNARY(name, kind_, types_, fn_, bool_fn_, grad_, autocast_, api_, ...) LAMINA_IF_PUBLIC(api_, \
  m.def(#name, [](const Tensor& x) { return lamina::name(x); }, nb::arg("input"), "Elementwise " #name "."); \
  cls.def(#name, [](const Tensor& x) { return lamina::name(x); }, "Elementwise " #name ".");        \
  cls.def(#name "_", [](Self self) {                                                                 \
    lamina::name##_(*self.p);                                                                        \
    return nb::borrow(self.h);                                                                       \
  }, "In-place " #name "; returns self.");)
  LAMINA_UNARY_TABLE(LAMINA_BIND_UNARY)
#undef LAMINA_BIND_UNARY
  m.def("negative", [](const Tensor& x) { return neg(x); }, nb::arg("input"));
  m.def("absolute", [](const Tensor& x) { return abs(x); }, nb::arg("input"));
  m.def("gelu", [](const Tensor& x, const std::string& a) { return gelu(x, a); }, nb::arg("input"),
        nb::arg("approximate") = "none", "GELU (erf form, or tanh approximation).");
  m.def("logical_not", &logical_not, nb::arg("input"), "Elementwise not (bool result).");
  cls.def("logical_not", &logical_not);
  for (auto [name, fn] : {std::pair{"isnan", &isnan}, std::pair{"isinf", &isinf}, std::pair{"isfinite", &isfinite}}) {
    m.def(name, fn, nb::arg("input"));
    cls.def(name, fn);
  }

#define LAMINA_BIND_BINARY(name, kind_, types_, fn_, bool_fn_, grad_, autocast_, api_, ...) LAMINA_IF_PLAIN(api_, \
  m.def(#name, [](nb::handle a, nb::handle b) { return lamina::name(to_tensor_operand(a), to_tensor_operand(b)); }, \
        nb::arg("input"), nb::arg("other"), "Elementwise " #name " with broadcasting and type promotion.");  \
  cls.def(#name, [](const Tensor& a, nb::handle b) { return lamina::name(a, to_tensor_operand(b)); },       \
          nb::arg("other"), "Elementwise " #name ".");                                                       \
  cls.def(#name "_", [](Self self, nb::handle b) {                                                           \
    lamina::name##_(*self.p, to_tensor_operand(b));                                                          \
    return nb::borrow(self.h);                                                                               \
  }, nb::arg("other"), "In-place " #name "; returns self.");)
  LAMINA_BINARY_TABLE(LAMINA_BIND_BINARY)
#undef LAMINA_BIND_BINARY
  // The table itself, for the test sweep (every row must have a test) and for tools.
  m.def("_elementwise_table", [] {
    nb::list rows;
#define LAMINA_TABLE_ROW(arity)                                                                   \
  [&rows](const char* name, const char* kind, const char* types, const char* grad, const char* api, \
          const char* bool_fn, const char* simd) {                                                  \
    rows.append(nb::make_tuple(name, arity, kind, types, grad, api, bool_fn, simd));                \
  }
    auto unary_row = LAMINA_TABLE_ROW(1);
    auto binary_row = LAMINA_TABLE_ROW(2);
#undef LAMINA_TABLE_ROW
#define LAMINA_UNARY_ROW(name, kind, types, fn, bool_fn, grad, autocast, api, simd) \
  unary_row(#name, #kind, #types, #grad, #api, #bool_fn, #simd);
#define LAMINA_BINARY_ROW(name, kind, types, fn, bool_fn, grad, autocast, api, simd) \
  binary_row(#name, #kind, #types, #grad, #api, #bool_fn, #simd);
    LAMINA_UNARY_TABLE(LAMINA_UNARY_ROW)
    LAMINA_BINARY_TABLE(LAMINA_BINARY_ROW)
#undef LAMINA_UNARY_ROW
#undef LAMINA_BINARY_ROW
    return rows;
  }, "The rows of kernels/elementwise_table.h: (name, arity, kind, types, grad, api, bool_fn, simd).");
  m.def("multiply", [](nb::handle a, nb::handle b) { return mul(to_tensor_operand(a), to_tensor_operand(b)); });
  m.def("greater", [](nb::handle a, nb::handle b) { return gt(to_tensor_operand(a), to_tensor_operand(b)); });
  m.def("less", [](nb::handle a, nb::handle b) { return lt(to_tensor_operand(a), to_tensor_operand(b)); });

  // add / sub take alpha; div takes rounding_mode.
  m.def("add", [](nb::handle a, nb::handle b, nb::handle alpha) {
    return add(to_tensor_operand(a), to_tensor_operand(b), to_scalar(alpha));
  }, nb::arg("input"), nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1, "input + alpha * other.");
  m.def("sub", [](nb::handle a, nb::handle b, nb::handle alpha) {
    return sub(to_tensor_operand(a), to_tensor_operand(b), to_scalar(alpha));
  }, nb::arg("input"), nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1, "input - alpha * other.");
  m.attr("subtract") = m.attr("sub");
  cls.def("add", [](const Tensor& a, nb::handle b, nb::handle alpha) {
    return add(a, to_tensor_operand(b), to_scalar(alpha));
  }, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  cls.def("sub", [](const Tensor& a, nb::handle b, nb::handle alpha) {
    return sub(a, to_tensor_operand(b), to_scalar(alpha));
  }, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  cls.def("add_", [](Self self, nb::handle b, nb::handle alpha) {
    Scalar al = to_scalar(alpha);
    Tensor other = to_tensor_operand(b);
    add_(*self.p, (al.is_floating() || al.to_int() != 1) ? mul(other, al) : other);
    return nb::borrow(self.h);
  }, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  cls.def("sub_", [](Self self, nb::handle b, nb::handle alpha) {
    Scalar al = to_scalar(alpha);
    Tensor other = to_tensor_operand(b);
    sub_(*self.p, (al.is_floating() || al.to_int() != 1) ? mul(other, al) : other);
    return nb::borrow(self.h);
  }, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  auto div_mode = [](const Tensor& a, const Tensor& b, const std::optional<std::string>& mode) {
    return mode ? div(a, b, *mode) : div(a, b);
  };
  m.def("div", [div_mode](nb::handle a, nb::handle b, std::optional<std::string> mode) {
    return div_mode(to_tensor_operand(a), to_tensor_operand(b), mode);
  }, nb::arg("input"), nb::arg("other"), nb::kw_only(), nb::arg("rounding_mode") = nb::none(),
     "Division: true (default), 'trunc' or 'floor'.");
  m.attr("divide") = m.attr("div");
  m.def("true_divide", [](nb::handle a, nb::handle b) { return div(to_tensor_operand(a), to_tensor_operand(b)); });
  cls.def("div", [div_mode](const Tensor& a, nb::handle b, std::optional<std::string> mode) {
    return div_mode(a, to_tensor_operand(b), mode);
  }, nb::arg("other"), nb::kw_only(), nb::arg("rounding_mode") = nb::none());
  cls.def("div_", [div_mode](Self self, nb::handle b, std::optional<std::string> mode) {
    if (mode) copy_(*self.p, div_mode(*self.p, to_tensor_operand(b), mode));
    else div_(*self.p, to_tensor_operand(b));
    return nb::borrow(self.h);
  }, nb::arg("other"), nb::kw_only(), nb::arg("rounding_mode") = nb::none());

  m.def("where", [](const Tensor& c, nb::handle a, nb::handle b) {
    return where(c, to_tensor_operand(a), to_tensor_operand(b));
  }, nb::arg("condition"), nb::arg("input"), nb::arg("other"), "Elements of input where condition, else other.");
  cls.def("where", [](const Tensor& self, const Tensor& c, nb::handle b) {
    return where(c, self, to_tensor_operand(b));
  }, nb::arg("condition"), nb::arg("other"));
  auto clamp_any = [](const Tensor& x, nb::handle lo, nb::handle hi) {
    if ((lo.is_none() || is_number(lo)) && (hi.is_none() || is_number(hi))) {
      std::optional<Scalar> l, h;
      if (!lo.is_none()) l = to_scalar(lo);
      if (!hi.is_none()) h = to_scalar(hi);
      return clamp(x, l, h);
    }
    return clamp(x, lo.is_none() ? Tensor() : to_tensor_operand(lo), hi.is_none() ? Tensor() : to_tensor_operand(hi));
  };
  m.def("clamp", clamp_any, nb::arg("input"), nb::arg("min") = nb::none(), nb::arg("max") = nb::none(),
        "Limits values to [min, max].");
  m.attr("clip") = m.attr("clamp");
  cls.def("clamp", clamp_any, nb::arg("min") = nb::none(), nb::arg("max") = nb::none());
  cls.def("clip", clamp_any, nb::arg("min") = nb::none(), nb::arg("max") = nb::none());
  cls.def("clamp_", [clamp_any](Self self, nb::handle lo, nb::handle hi) {
    Tensor r = clamp_any(*self.p, lo, hi);
    LAMINA_CHECK(r.dtype() == self.p->dtype() || is_floating(self.p->dtype()) || !is_floating(r.dtype()), DTypeError,
                 "clamp_", "result type ", dtype_name(r.dtype()), " can't be cast to ", describe(*self.p));
    LAMINA_CHECK(r.shape() == self.p->shape(), ShapeError, "clamp_", "bounds do not broadcast to ", describe(*self.p));
    copy_(*self.p, r);
    return nb::borrow(self.h);
  }, nb::arg("min") = nb::none(), nb::arg("max") = nb::none());

  // Operators.
  cls.def("__add__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return add(x, y); }, a, b); }, nb::arg("other").none())
      .def("__radd__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return add(x, y); }, a, b); }, nb::arg("other").none())
      .def("__iadd__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { add_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__sub__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return sub(x, y); }, a, b); }, nb::arg("other").none())
      .def("__rsub__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return sub(x, y); }, a, b); }, nb::arg("other").none())
      .def("__isub__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { sub_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__mul__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return mul(x, y); }, a, b); }, nb::arg("other").none())
      .def("__rmul__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return mul(x, y); }, a, b); }, nb::arg("other").none())
      .def("__imul__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { mul_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__truediv__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return div(x, y); }, a, b); }, nb::arg("other").none())
      .def("__rtruediv__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return div(x, y); }, a, b); }, nb::arg("other").none())
      .def("__itruediv__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { div_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__floordiv__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return floor_divide(x, y); }, a, b); }, nb::arg("other").none())
      .def("__rfloordiv__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return floor_divide(x, y); }, a, b); }, nb::arg("other").none())
      .def("__ifloordiv__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { floor_divide_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__mod__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return remainder(x, y); }, a, b); }, nb::arg("other").none())
      .def("__rmod__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return remainder(x, y); }, a, b); }, nb::arg("other").none())
      .def("__imod__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { remainder_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__pow__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return pow(x, y); }, a, b); }, nb::arg("other").none())
      .def("__rpow__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return pow(x, y); }, a, b); }, nb::arg("other").none())
      .def("__ipow__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { pow_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__and__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return bitwise_and(x, y); }, a, b); }, nb::arg("other").none())
      .def("__rand__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return bitwise_and(x, y); }, a, b); }, nb::arg("other").none())
      .def("__iand__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { bitwise_and_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__or__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return bitwise_or(x, y); }, a, b); }, nb::arg("other").none())
      .def("__ror__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return bitwise_or(x, y); }, a, b); }, nb::arg("other").none())
      .def("__ior__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { bitwise_or_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__xor__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return bitwise_xor(x, y); }, a, b); }, nb::arg("other").none())
      .def("__rxor__", [](const Tensor& a, nb::handle b) { return reflected([](const Tensor& x, const Tensor& y) { return bitwise_xor(x, y); }, a, b); }, nb::arg("other").none())
      .def("__ixor__", [](Self s, nb::handle b) { return inplace([](const Tensor& x, const Tensor& y) { bitwise_xor_(x, y); }, s, b); }, nb::arg("other").none())
      .def("__eq__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return eq(x, y); }, a, b); }, nb::arg("other").none())
      .def("__ne__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return ne(x, y); }, a, b); }, nb::arg("other").none())
      .def("__lt__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return lt(x, y); }, a, b); }, nb::arg("other").none())
      .def("__le__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return le(x, y); }, a, b); }, nb::arg("other").none())
      .def("__gt__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return gt(x, y); }, a, b); }, nb::arg("other").none())
      .def("__ge__", [](const Tensor& a, nb::handle b) { return forward([](const Tensor& x, const Tensor& y) { return ge(x, y); }, a, b); }, nb::arg("other").none())
      .def("__neg__", [](const Tensor& a) { return neg(a); })
      .def("__pos__", [](const Tensor& a) { return a; })
      .def("__abs__", [](const Tensor& a) { return abs(a); })
      .def("__invert__", [](const Tensor& a) { return bitwise_not(a); });
}

}  // namespace lamina::python

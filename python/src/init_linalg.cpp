// Matrix products and einsum: module functions, methods and the @ operator.
#include "bind.h"

namespace lamina::python {

void init_linalg(nb::module_& m, TensorClass& cls) {
#define LAMINA_BIND_PRODUCT(name, doc)                                                                 \
  m.def(#name, [](const Tensor& a, const Tensor& b) { return lamina::name(a, b); }, nb::arg("input"),  \
        nb::arg("other"), doc);                                                                        \
  cls.def(#name, [](const Tensor& a, const Tensor& b) { return lamina::name(a, b); }, nb::arg("other"), doc);
  LAMINA_BIND_PRODUCT(matmul, "Matrix product with torch.matmul semantics (batching, broadcasting, 1-d promotion).")
  LAMINA_BIND_PRODUCT(mm, "Product of two matrices.")
  LAMINA_BIND_PRODUCT(bmm, "Batched matrix product of 3-d tensors.")
  LAMINA_BIND_PRODUCT(mv, "Matrix-vector product.")
  LAMINA_BIND_PRODUCT(dot, "Inner product of 1-d tensors.")
  LAMINA_BIND_PRODUCT(outer, "Outer product of 1-d tensors.")
#undef LAMINA_BIND_PRODUCT
  auto addmm_scaled = [](const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
    return lamina::addmm(input, a, b, beta, alpha);
  };
  m.def("addmm", addmm_scaled, nb::arg("input"), nb::arg("mat1"), nb::arg("mat2"), nb::kw_only(), nb::arg("beta") = 1.0,
        nb::arg("alpha") = 1.0, "beta * input + alpha * (mat1 @ mat2) (torch.addmm).");
  cls.def("addmm", addmm_scaled, nb::arg("mat1"), nb::arg("mat2"), nb::kw_only(), nb::arg("beta") = 1.0,
          nb::arg("alpha") = 1.0, "beta * self + alpha * (mat1 @ mat2) (torch.Tensor.addmm).");
  cls.def("__matmul__", [](const Tensor& a, nb::handle b) -> nb::object {
    if (!nb::isinstance<Tensor>(b)) return nb::borrow(Py_NotImplemented);
    return nb::cast(matmul(a, nb::cast<Tensor>(b)));
  }, nb::arg("other").none());
  cls.def("__rmatmul__", [](const Tensor& a, nb::handle b) -> nb::object {
    if (!nb::isinstance<Tensor>(b)) return nb::borrow(Py_NotImplemented);
    return nb::cast(matmul(nb::cast<Tensor>(b), a));
  }, nb::arg("other").none());
  m.def("einsum", [](const std::string& eq, nb::args args) {
    // Operands come as separate arguments or as one list/tuple, as torch.einsum accepts both.
    nb::handle seq = args;
    if (args.size() == 1 && (nb::isinstance<nb::list>(args[0]) || nb::isinstance<nb::tuple>(args[0]))) seq = args[0];
    std::vector<Tensor> ops;
    for (nb::handle h : nb::borrow<nb::sequence>(seq)) {
      LAMINA_CHECK(nb::isinstance<Tensor>(h), DTypeError, "einsum", "operands must be tensors, got ",
                   nb::cast<std::string>(nb::type_name(h.type())));
      ops.push_back(nb::cast<Tensor>(h));
    }
    return einsum(eq, ops);
  }, nb::arg("equation"), nb::arg("operands"),
     "Einstein summation, e.g. einsum('bij,bjk->bik', a, b); implicit output, '...' and repeated subscripts "
     "(diagonals) are supported; operands promote to a common dtype.");
}

}  // namespace lamina::python

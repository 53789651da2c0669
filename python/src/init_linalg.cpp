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
  cls.def("__matmul__", [](const Tensor& a, nb::handle b) -> nb::object {
    if (!nb::isinstance<Tensor>(b)) return nb::borrow(Py_NotImplemented);
    return nb::cast(matmul(a, nb::cast<Tensor>(b)));
  }, nb::arg("other").none());
  cls.def("__rmatmul__", [](const Tensor& a, nb::handle b) -> nb::object {
    if (!nb::isinstance<Tensor>(b)) return nb::borrow(Py_NotImplemented);
    return nb::cast(matmul(nb::cast<Tensor>(b), a));
  }, nb::arg("other").none());
  m.def("einsum", [](const std::string& eq, nb::args args) {
    std::vector<Tensor> ops;
    if (args.size() == 1 && !nb::isinstance<Tensor>(args[0])) {
      for (nb::handle h : nb::borrow<nb::sequence>(args[0])) ops.push_back(nb::cast<Tensor>(h));
    } else {
      for (nb::handle h : args) ops.push_back(nb::cast<Tensor>(h));
    }
    return einsum(eq, ops);
  }, nb::arg("equation"), nb::arg("operands"), "Einstein summation, e.g. einsum('bij,bjk->bik', a, b).");
}

}  // namespace lamina::python

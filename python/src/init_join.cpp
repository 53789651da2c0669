// Joining, splitting, padding, one_hot, triangles, flip/roll: module functions and methods.
#include "bind.h"

namespace lamina::python {
namespace {

std::vector<Tensor> tensor_list(nb::handle seq) {
  LAMINA_CHECK(nb::isinstance<nb::sequence>(seq) && !nb::isinstance<Tensor>(seq), DTypeError, "cat",
               "expected a sequence of tensors, got ", nb::cast<std::string>(nb::type_name(seq.type())));
  std::vector<Tensor> out;
  for (nb::handle h : nb::borrow<nb::sequence>(seq)) out.push_back(to_tensor_operand(h));
  return out;
}

nb::tuple as_tuple(const std::vector<Tensor>& ts) {
  nb::list l;
  for (const Tensor& t : ts) l.append(nb::cast(t));
  return nb::tuple(l);
}

}  // namespace

void init_join(nb::module_& m, TensorClass& cls) {
  m.def("cat", [](nb::handle ts, int64_t dim) { return cat(tensor_list(ts), dim); }, nb::arg("tensors"),
        nb::arg("dim") = 0, "Concatenates tensors along dim.");
  m.attr("concat") = m.attr("cat");
  m.attr("concatenate") = m.attr("cat");
  m.def("stack", [](nb::handle ts, int64_t dim) { return stack(tensor_list(ts), dim); }, nb::arg("tensors"),
        nb::arg("dim") = 0, "Stacks equally shaped tensors along a new dim.");
  auto spl = [](const Tensor& x, nb::handle size, int64_t dim) {
    if (PyLong_Check(size.ptr())) return as_tuple(split(x, nb::cast<int64_t>(size), dim));
    return as_tuple(split(x, to_int_list(size), dim));
  };
  m.def("split", spl, nb::arg("tensor"), nb::arg("split_size_or_sections"), nb::arg("dim") = 0,
        "Views of pieces along dim (equal pieces of a size, or the given sizes).");
  cls.def("split", spl, nb::arg("split_size"), nb::arg("dim") = 0);
  auto chk = [](const Tensor& x, int64_t chunks, int64_t dim) { return as_tuple(chunk(x, chunks, dim)); };
  m.def("chunk", chk, nb::arg("input"), nb::arg("chunks"), nb::arg("dim") = 0, "Splits into chunks views along dim.");
  cls.def("chunk", chk, nb::arg("chunks"), nb::arg("dim") = 0);
  auto unb = [](const Tensor& x, int64_t dim) { return as_tuple(unbind(x, dim)); };
  m.def("unbind", unb, nb::arg("input"), nb::arg("dim") = 0, "Views of each index along dim.");
  cls.def("unbind", unb, nb::arg("dim") = 0);
  m.def("pad", [](const Tensor& x, nb::handle p, const std::string& mode, std::optional<double> value) {
    return pad(x, to_int_list(p), mode, value.value_or(0.0));
  }, nb::arg("input"), nb::arg("pad"), nb::arg("mode") = "constant", nb::arg("value") = nb::none(),
     "Pads the last dims (pairs, last dim first); negative values crop.");
  m.def("one_hot", [](const Tensor& x, int64_t n) { return one_hot(x, n); }, nb::arg("tensor"),
        nb::arg("num_classes") = -1, "One-hot int64 encoding with a new last dim.");
#define LAMINA_BIND_TRI(name)                                                                         \
  m.def(#name, [](const Tensor& x, int64_t k) { return lamina::name(x, k); }, nb::arg("input"),       \
        nb::arg("diagonal") = 0, #name " of the last two dims.");                                     \
  cls.def(#name, [](const Tensor& x, int64_t k) { return lamina::name(x, k); }, nb::arg("diagonal") = 0); \
  cls.def(#name "_", [](nb::pointer_and_handle<Tensor> self, int64_t k) {                             \
    lamina::name##_(*self.p, k);                                                                      \
    return nb::borrow(self.h);                                                                        \
  }, nb::arg("diagonal") = 0);
  LAMINA_BIND_TRI(tril)
  LAMINA_BIND_TRI(triu)
#undef LAMINA_BIND_TRI
  auto flp = [](const Tensor& x, nb::handle dims) { return flip(x, to_int_list(dims)); };
  m.def("flip", flp, nb::arg("input"), nb::arg("dims"), "Reverses the order along dims (a copy).");
  cls.def("flip", flp, nb::arg("dims"));
  auto rol = [](const Tensor& x, nb::handle shifts, nb::object dims) {
    return roll(x, to_int_list(shifts), dims.is_none() ? std::vector<int64_t>{} : to_int_list(dims));
  };
  m.def("roll", rol, nb::arg("input"), nb::arg("shifts"), nb::arg("dims") = nb::none(), "Rolls elements along dims.");
  cls.def("roll", rol, nb::arg("shifts"), nb::arg("dims") = nb::none());
}

}  // namespace lamina::python

// Joining, splitting, padding, one_hot, triangles, flip/roll/repeat/movedim: module functions and methods.
#include "bind.h"

namespace lamina::python {
namespace {

std::vector<Tensor> tensor_list(nb::handle seq, const char* op) {
  LAMINA_CHECK(nb::isinstance<nb::sequence>(seq) && !nb::isinstance<Tensor>(seq) && !nb::isinstance<nb::str>(seq),
               DTypeError, op, "expected a sequence of tensors, got ",
               nb::cast<std::string>(nb::type_name(seq.type())));
  std::vector<Tensor> out;
  for (nb::handle h : nb::borrow<nb::sequence>(seq)) out.push_back(to_tensor_operand(h));
  return out;
}

nb::tuple as_tuple(const std::vector<Tensor>& ts) {
  nb::list l;
  for (const Tensor& t : ts) l.append(nb::cast(t));
  return nb::tuple(l);
}

// Ints given PyTorch's two ways: one sequence (x.flip([0, 1]), x.repeat((2, 2))) or varargs
// (x.flip(0, 1)), or as the keyword `name`.
std::vector<int64_t> int_varargs(const nb::args& args, const nb::kwargs& kwargs, const char* name, const char* op) {
  const bool by_keyword = kwargs.contains(name);
  LAMINA_CHECK(kwargs.size() == (by_keyword ? 1u : 0u) && !(by_keyword && args.size() > 0), ValueError, op,
               "takes its ", name, " either as one sequence, as separate ints or as the keyword '", name, "'");
  if (by_keyword) return to_int_list(kwargs[name]);
  if (args.size() == 1) return to_int_list(args[0]);
  std::vector<int64_t> out;
  for (nb::handle h : args) {
    LAMINA_CHECK(PyLong_Check(h.ptr()) || PyIndex_Check(h.ptr()), DTypeError, op, name, " must be ints, got ",
                 nb::cast<std::string>(nb::type_name(h.type())));
    out.push_back(to_int_list(h).at(0));
  }
  return out;
}

}  // namespace

void init_join(nb::module_& m, TensorClass& cls) {
  m.def("cat", [](nb::handle ts, int64_t dim) { return cat(tensor_list(ts, "cat"), dim); }, nb::arg("tensors"),
        nb::arg("dim") = 0, "Concatenates tensors along dim (dtypes promote; empty 1-d tensors are skipped).");
  m.attr("concat") = m.attr("cat");
  m.attr("concatenate") = m.attr("cat");
  m.def("stack", [](nb::handle ts, int64_t dim) { return stack(tensor_list(ts, "stack"), dim); }, nb::arg("tensors"),
        nb::arg("dim") = 0, "Stacks equally shaped tensors along a new dim.");
  m.def("hstack", [](nb::handle ts) { return hstack(tensor_list(ts, "hstack")); }, nb::arg("tensors"),
        "Concatenates along dim 1 (dim 0 for 1-d tensors).");
  m.def("vstack", [](nb::handle ts) { return vstack(tensor_list(ts, "vstack")); }, nb::arg("tensors"),
        "Concatenates along dim 0 after making tensors at least 2-d.");
  m.attr("row_stack") = m.attr("vstack");
  m.def("dstack", [](nb::handle ts) { return dstack(tensor_list(ts, "dstack")); }, nb::arg("tensors"),
        "Concatenates along dim 2 after making tensors at least 3-d.");

  auto spl = [](const Tensor& x, nb::handle size, int64_t dim) {
    if (PyLong_Check(size.ptr())) return as_tuple(split(x, nb::cast<int64_t>(size), dim));
    return as_tuple(split(x, to_int_list(size), dim));
  };
  m.def("split", spl, nb::arg("tensor"), nb::arg("split_size_or_sections"), nb::arg("dim") = 0,
        "Views of pieces along dim: equal pieces of an int size (the last may be smaller), or the listed sizes.");
  cls.def("split", spl, nb::arg("split_size"), nb::arg("dim") = 0,
          "Views of pieces along dim: equal pieces of an int size, or the listed sizes.");
  auto chk = [](const Tensor& x, int64_t chunks, int64_t dim) { return as_tuple(chunk(x, chunks, dim)); };
  m.def("chunk", chk, nb::arg("input"), nb::arg("chunks"), nb::arg("dim") = 0,
        "Splits into at most `chunks` views of ceil(size / chunks) along dim.");
  cls.def("chunk", chk, nb::arg("chunks"), nb::arg("dim") = 0,
          "Splits into at most `chunks` views of ceil(size / chunks) along dim.");
  auto unb = [](const Tensor& x, int64_t dim) { return as_tuple(unbind(x, dim)); };
  m.def("unbind", unb, nb::arg("input"), nb::arg("dim") = 0, "Views of each index along dim, with dim removed.");
  cls.def("unbind", unb, nb::arg("dim") = 0, "Views of each index along dim, with dim removed.");

  m.def("pad", [](const Tensor& x, nb::handle p, const std::string& mode, std::optional<double> value) {
    return pad(x, to_int_list(p), mode, value.value_or(0.0));
  }, nb::arg("input"), nb::arg("pad"), nb::arg("mode") = "constant", nb::arg("value") = nb::none(),
     "Pads the last dims (before/after pairs, last dim first; negative values crop). mode: constant, reflect, "
     "replicate or circular.");
  m.def("one_hot", [](const Tensor& x, int64_t n) { return one_hot(x, n); }, nb::arg("tensor"),
        nb::arg("num_classes") = -1, "One-hot int64 encoding with a new last dim of num_classes (-1: max + 1).");

#define LAMINA_BIND_TRI(name, doc)                                                                    \
  m.def(#name, [](const Tensor& x, int64_t k) { return lamina::name(x, k); }, nb::arg("input"),       \
        nb::arg("diagonal") = 0, doc);                                                                \
  cls.def(#name, [](const Tensor& x, int64_t k) { return lamina::name(x, k); }, nb::arg("diagonal") = 0, doc); \
  cls.def(#name "_", [](nb::pointer_and_handle<Tensor> self, int64_t k) {                             \
    lamina::name##_(*self.p, k);                                                                      \
    return nb::borrow(self.h);                                                                        \
  }, nb::arg("diagonal") = 0, "In-place " #name ".");
  LAMINA_BIND_TRI(tril, "Lower triangle of the last two dims (col - row <= diagonal), zeros elsewhere.")
  LAMINA_BIND_TRI(triu, "Upper triangle of the last two dims (col - row >= diagonal), zeros elsewhere.")
#undef LAMINA_BIND_TRI

  m.def("flip", [](const Tensor& x, nb::handle dims) { return flip(x, to_int_list(dims)); }, nb::arg("input"),
        nb::arg("dims"), "Reverses the order along dims (a copy).");
  cls.def("flip", [](const Tensor& x, nb::args args, nb::kwargs kwargs) {
    return flip(x, int_varargs(args, kwargs, "dims", "flip"));
  }, "Reverses the order along dims (a copy): x.flip(0, 1) or x.flip([0, 1]).");
  m.def("fliplr", [](const Tensor& x) { return flip(x, {1}); }, nb::arg("input"), "Reverses dim 1.");
  m.def("flipud", [](const Tensor& x) { return flip(x, {0}); }, nb::arg("input"), "Reverses dim 0.");
  auto rol = [](const Tensor& x, nb::handle shifts, nb::object dims) {
    return roll(x, to_int_list(shifts), dims.is_none() ? std::vector<int64_t>{} : to_int_list(dims));
  };
  m.def("roll", rol, nb::arg("input"), nb::arg("shifts"), nb::arg("dims") = nb::none(),
        "Rolls elements along dims, wrapping around (over the flattened tensor without dims).");
  cls.def("roll", rol, nb::arg("shifts"), nb::arg("dims") = nb::none(),
          "Rolls elements along dims, wrapping around (over the flattened tensor without dims).");

  cls.def("repeat", [](const Tensor& x, nb::args args, nb::kwargs kwargs) {
    return repeat(x, int_varargs(args, kwargs, "repeats", "repeat"));
  }, "Tiles the tensor repeats[d] times along each dim: x.repeat(2, 3) or x.repeat((2, 3)).");
  m.def("tile", [](const Tensor& x, nb::handle dims) { return tile(x, to_int_list(dims)); }, nb::arg("input"),
        nb::arg("dims"), "Repeats the tensor along each dim (fewer dims than the tensor are padded with 1s).");
  cls.def("tile", [](const Tensor& x, nb::args args, nb::kwargs kwargs) {
    return tile(x, int_varargs(args, kwargs, "dims", "tile"));
  }, "Repeats the tensor along each dim (fewer dims than the tensor are padded with 1s).");
  auto mvd = [](const Tensor& x, nb::handle source, nb::handle destination) {
    return movedim(x, to_int_list(source), to_int_list(destination));
  };
  m.def("movedim", mvd, nb::arg("input"), nb::arg("source"), nb::arg("destination"),
        "View with dims source moved to positions destination.");
  cls.def("movedim", mvd, nb::arg("source"), nb::arg("destination"),
          "View with dims source moved to positions destination.");
  m.attr("moveaxis") = m.attr("movedim");
  cls.def("moveaxis", mvd, nb::arg("source"), nb::arg("destination"), "Alias of movedim.");
}

}  // namespace lamina::python

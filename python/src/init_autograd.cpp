// Autograd from Python: Tensor.requires_grad / grad / grad_fn / backward / hooks, grad mode,
// lamina.autograd.grad and gradcheck.
#include <nanobind/stl/function.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bind.h"
#include "lamina/autograd/autograd.h"
#include "lamina/autograd/gradcheck.h"

namespace lamina::python {
namespace {

namespace ag = lamina::autograd;

std::vector<Tensor> tensor_list(nb::handle h) {
  if (nb::isinstance<Tensor>(h)) return {nb::cast<Tensor>(h)};
  std::vector<Tensor> out;
  for (nb::handle item : nb::borrow<nb::sequence>(h)) out.push_back(item.is_none() ? Tensor() : nb::cast<Tensor>(item));
  return out;
}

}  // namespace

std::string tensor_repr_with_grad(const Tensor& t) {
  std::vector<std::string> extra;
  if (auto fn = ag::grad_fn(t)) extra.push_back("grad_fn=<" + fn->name() + ">");
  else if (ag::requires_grad(t)) extra.push_back("requires_grad=True");
  const std::string body = tensor_repr(t, extra);
  return ag::is_parameter(t) ? "Parameter containing:\n" + body : body;
}

void init_autograd(nb::module_& m, TensorClass& cls) {
  nb::class_<ag::Node>(m, "GradFn", "The backward function that produced a tensor.")
      .def("name", &ag::Node::name, "The node's name, e.g. AddBackward0.")
      .def_prop_ro("next_functions", [](const ag::Node& n) {
        nb::list out;
        for (const auto& e : n.next_edges) out.append(nb::make_tuple(e.fn ? nb::cast(e.fn) : nb::none(), e.input_nr));
        return nb::tuple(out);
      }, "(node, input_nr) for each input, None where the input needs no gradient.")
      .def("__repr__", [](const ag::Node& n) { return "<" + n.name() + " object>"; });

  cls.def_prop_rw(
         "requires_grad", [](const Tensor& t) { return ag::requires_grad(t); },
         [](const Tensor& t, bool v) { ag::set_requires_grad(t, v); }, "True when gradients flow to this tensor.")
      .def(
          "requires_grad_",
          [](nb::handle self, bool v) {
            ag::set_requires_grad(nb::cast<Tensor>(self), v);
            return nb::borrow(self);
          },
          nb::arg("requires_grad") = true, "Sets requires_grad in place; returns self.")
      .def_prop_rw(
          "grad",
          [](const Tensor& t) -> nb::object {
            Tensor g = ag::grad(t);
            return g.defined() ? nb::cast(g) : nb::none();
          },
          [](const Tensor& t, nb::handle g) { ag::set_grad(t, g.is_none() ? Tensor() : nb::cast<Tensor>(g)); },
          nb::arg("value").none(), "The accumulated gradient (None until a backward reaches this tensor).")
      .def_prop_ro(
          "grad_fn",
          [](const Tensor& t) -> nb::object {
            auto fn = ag::grad_fn(t);
            return fn ? nb::cast(fn) : nb::none();
          },
          "The node that made this tensor (None for leaves).")
      .def_prop_ro(
          "is_leaf", [](const Tensor& t) { return ag::is_leaf(t); }, "True unless made by a recorded op.")
      .def(
          "detach", [](const Tensor& t) { return ag::detach(t); }, "A view of the same data outside the graph.")
      .def_prop_rw(
          "data", [](const Tensor& t) { return ag::detach(t); },
          [](const Tensor& t, const Tensor& src) {
            // PyTorch's `.data = x`: this tensor takes x's storage and geometry, keeping its
            // identity, requires_grad and .grad; autograd does not see the swap.
            TensorImpl& dst = *t.impl();
            const TensorImpl& from = *src.impl();
            dst.storage = from.storage;
            dst.offset = from.offset;
            dst.shape = from.shape;
            dst.strides = from.strides;
            dst.dtype = from.dtype;
          },
          "The tensor's data outside the graph (a detached alias); assigning replaces it.")
      .def(
          "_mark_parameter", [](const Tensor& t) { ag::mark_parameter(t); }, "Marks this tensor as a parameter.")
      .def_prop_ro(
          "_is_parameter", [](const Tensor& t) { return ag::is_parameter(t); },
          "True for module parameters (isinstance(t, nn.Parameter)).")
      .def(
          "retain_grad", [](const Tensor& t) { ag::retain_grad(t); }, "Keep .grad for this non-leaf in backward.")
      .def(
          "register_hook",
          [](const Tensor& t, nb::callable fn) {
            ag::register_hook(t, [fn](const Tensor& g) -> Tensor {
              nb::gil_scoped_acquire gil;
              nb::object r = fn(g);
              return r.is_none() ? Tensor() : nb::cast<Tensor>(r);
            });
          },
          nb::arg("hook"), "hook(grad) runs during backward; it may return a replacement gradient.")
      .def(
          "register_post_accumulate_grad_hook",
          [](const Tensor& t, nb::callable fn) {
            return ag::register_post_accumulate_grad_hook(t, [fn](const Tensor& leaf) {
              nb::gil_scoped_acquire gil;
              fn(leaf);
            });
          },
          nb::arg("hook"),
          "hook(tensor) runs during backward after the gradient was added into tensor.grad; returns an id.")
      .def(
          "backward",
          [](const Tensor& t, nb::handle gradient, nb::handle retain_graph, bool create_graph) {
            std::vector<Tensor> seeds;
            if (!gradient.is_none()) seeds.push_back(to_tensor_operand(gradient));
            const bool retain = retain_graph.is_none() ? create_graph : nb::cast<bool>(retain_graph);
            ag::backward({t}, seeds, retain, create_graph);
          },
          nb::arg("gradient") = nb::none(), nb::arg("retain_graph") = nb::none(), nb::arg("create_graph") = false,
          "Computes the gradient of this tensor with respect to the graph's leaves.");

  m.def("is_grad_enabled", &ag::grad_mode_enabled, "True while operations record graphs.");
  m.def("_set_grad_enabled", &ag::set_grad_mode, nb::arg("mode"));

  nb::module_ sub = m.def_submodule("_autograd", "Autograd functions (re-exported as lamina.autograd).");
  sub.def("grad", [](nb::handle outputs, nb::handle inputs, nb::handle grad_outputs, nb::handle retain_graph,
                     bool create_graph, bool allow_unused) {
    std::vector<Tensor> seeds = grad_outputs.is_none() ? std::vector<Tensor>{} : tensor_list(grad_outputs);
    const bool retain = retain_graph.is_none() ? create_graph : nb::cast<bool>(retain_graph);
    std::vector<Tensor> r = ag::grad(tensor_list(outputs), tensor_list(inputs), seeds, retain, create_graph, allow_unused);
    nb::list out;
    for (const Tensor& g : r) out.append(g.defined() ? nb::cast(g) : nb::none());
    return nb::tuple(out);
  }, nb::arg("outputs"), nb::arg("inputs"), nb::arg("grad_outputs") = nb::none(), nb::arg("retain_graph") = nb::none(),
     nb::arg("create_graph") = false, nb::arg("allow_unused") = false,
     "Gradients of outputs with respect to inputs (a tuple), without touching .grad.");
  sub.def("backward", [](nb::handle tensors, nb::handle grad_tensors, nb::handle retain_graph, bool create_graph) {
    std::vector<Tensor> seeds = grad_tensors.is_none() ? std::vector<Tensor>{} : tensor_list(grad_tensors);
    const bool retain = retain_graph.is_none() ? create_graph : nb::cast<bool>(retain_graph);
    ag::backward(tensor_list(tensors), seeds, retain, create_graph);
  }, nb::arg("tensors"), nb::arg("grad_tensors") = nb::none(), nb::arg("retain_graph") = nb::none(),
     nb::arg("create_graph") = false, "Accumulates gradients of tensors into the leaves' .grad.");
  sub.def("gradcheck", [](nb::callable fn, nb::handle inputs, double eps, double atol, double rtol) {
    std::vector<Tensor> xs = tensor_list(inputs);
    std::string report = ag::gradcheck([&](const std::vector<Tensor>& args) {
      nb::list py;
      for (const Tensor& a : args) py.append(a);
      nb::object r = fn(*nb::tuple(py));
      return nb::cast<Tensor>(r);
    }, xs, {eps, atol, rtol});
    LAMINA_CHECK(report.empty(), ValueError, "gradcheck", report);
    return true;
  }, nb::arg("func"), nb::arg("inputs"), nb::arg("eps") = 1e-6, nb::arg("atol") = 1e-5, nb::arg("rtol") = 1e-3,
     "Checks analytic gradients against float64 central differences; raises ValueError on a mismatch.");
}

}  // namespace lamina::python

// lamina._lamina._nn's recurrent layers and cells: argument conversion only; the Python
// wrappers (python/lamina/nn/rnn.py) keep PyTorch's signatures, tuples and packed sequences.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bind.h"
#include "lamina/nn/rnn.h"

namespace lamina::python {
namespace {

nb::object opt_out(const Tensor& t) { return t.defined() ? nb::cast(t) : nb::none(); }

// (output, h_n, c_n or None)
nb::tuple result(const nn::RnnOutput& r) { return nb::make_tuple(r.output, r.last.h, opt_out(r.last.c)); }

}  // namespace

void bind_rnn(nb::module_& sub) {
  nb::class_<nn::RNNCellBase, nn::Module>(sub, "RNNCellBase")
      .def(
          "step",
          [](nn::RNNCellBase& m, const Tensor& x, std::optional<Tensor> h, std::optional<Tensor> c) {
            nn::RnnState s = m.step(x, {tensor_or_undefined(h), tensor_or_undefined(c)});
            return nb::make_tuple(s.h, opt_out(s.c));
          },
          nb::arg("input"), nb::arg("h").none(), nb::arg("c").none())
      .def("reset_parameters", &nn::RNNCellBase::reset_parameters)
      .def_ro("input_size", &nn::RNNCellBase::input_size)
      .def_ro("hidden_size", &nn::RNNCellBase::hidden_size)
      .def_ro("bias", &nn::RNNCellBase::bias);
  nb::class_<nn::RNNCell, nn::RNNCellBase>(sub, "RNNCell")
      .def(
          "__init__",
          [](nn::RNNCell* self, int64_t in, int64_t hid, bool bias, const std::string& nl, nb::object dtype) {
            new (self) nn::RNNCell(in, hid, bias, nl, dtype_or_default(dtype));
          },
          nb::arg("input_size"), nb::arg("hidden_size"), nb::arg("bias"), nb::arg("nonlinearity"),
          nb::arg("dtype").none())
      .def_prop_ro("nonlinearity", [](const nn::RNNCell& m) { return m.mode == nn::RnnMode::Relu ? "relu" : "tanh"; });
  nb::class_<nn::LSTMCell, nn::RNNCellBase>(sub, "LSTMCell")
      .def(
          "__init__",
          [](nn::LSTMCell* self, int64_t in, int64_t hid, bool bias, nb::object dtype) {
            new (self) nn::LSTMCell(in, hid, bias, dtype_or_default(dtype));
          },
          nb::arg("input_size"), nb::arg("hidden_size"), nb::arg("bias"), nb::arg("dtype").none());
  nb::class_<nn::GRUCell, nn::RNNCellBase>(sub, "GRUCell")
      .def(
          "__init__",
          [](nn::GRUCell* self, int64_t in, int64_t hid, bool bias, nb::object dtype) {
            new (self) nn::GRUCell(in, hid, bias, dtype_or_default(dtype));
          },
          nb::arg("input_size"), nb::arg("hidden_size"), nb::arg("bias"), nb::arg("dtype").none());

  nb::class_<nn::RNNBase, nn::Module>(sub, "RNNBase")
      .def(
          "run",
          [](nn::RNNBase& m, const Tensor& x, std::optional<Tensor> h, std::optional<Tensor> c) {
            return result(m.forward(x, nn::RnnState{tensor_or_undefined(h), tensor_or_undefined(c)}));
          },
          nb::arg("input"), nb::arg("h").none(), nb::arg("c").none())
      .def(
          "run_packed",
          [](nn::RNNBase& m, const Tensor& data, const std::vector<int64_t>& sizes, std::optional<Tensor> h,
             std::optional<Tensor> c) {
            return result(m.forward_packed(data, sizes, nn::RnnState{tensor_or_undefined(h), tensor_or_undefined(c)}));
          },
          nb::arg("data"), nb::arg("batch_sizes"), nb::arg("h").none(), nb::arg("c").none())
      .def("reset_parameters", &nn::RNNBase::reset_parameters)
      .def_ro("input_size", &nn::RNNBase::input_size)
      .def_ro("hidden_size", &nn::RNNBase::hidden_size)
      .def_ro("num_layers", &nn::RNNBase::num_layers)
      .def_ro("bias", &nn::RNNBase::bias)
      .def_ro("batch_first", &nn::RNNBase::batch_first)
      .def_ro("dropout", &nn::RNNBase::dropout)
      .def_ro("bidirectional", &nn::RNNBase::bidirectional);
  nb::class_<nn::RNN, nn::RNNBase>(sub, "RNN")
      .def(
          "__init__",
          [](nn::RNN* self, int64_t in, int64_t hid, int64_t layers, const std::string& nl, bool bias, bool bf,
             double p, bool bidi,
             nb::object dtype) { new (self) nn::RNN(in, hid, layers, nl, bias, bf, p, bidi, dtype_or_default(dtype)); },
          nb::arg("input_size"), nb::arg("hidden_size"), nb::arg("num_layers"), nb::arg("nonlinearity"),
          nb::arg("bias"), nb::arg("batch_first"), nb::arg("dropout"), nb::arg("bidirectional"),
          nb::arg("dtype").none())
      .def_prop_ro("nonlinearity", [](const nn::RNN& m) { return m.mode == nn::RnnMode::Relu ? "relu" : "tanh"; });
  nb::class_<nn::LSTM, nn::RNNBase>(sub, "LSTM")
      .def(
          "__init__",
          [](nn::LSTM* self, int64_t in, int64_t hid, int64_t layers, bool bias, bool bf, double p, bool bidi,
             nb::object dtype) { new (self) nn::LSTM(in, hid, layers, bias, bf, p, bidi, dtype_or_default(dtype)); },
          nb::arg("input_size"), nb::arg("hidden_size"), nb::arg("num_layers"), nb::arg("bias"), nb::arg("batch_first"),
          nb::arg("dropout"), nb::arg("bidirectional"), nb::arg("dtype").none());
  nb::class_<nn::GRU, nn::RNNBase>(sub, "GRU")
      .def(
          "__init__",
          [](nn::GRU* self, int64_t in, int64_t hid, int64_t layers, bool bias, bool bf, double p, bool bidi,
             nb::object dtype) { new (self) nn::GRU(in, hid, layers, bias, bf, p, bidi, dtype_or_default(dtype)); },
          nb::arg("input_size"), nb::arg("hidden_size"), nb::arg("num_layers"), nb::arg("bias"), nb::arg("batch_first"),
          nb::arg("dropout"), nb::arg("bidirectional"), nb::arg("dtype").none());
}

}  // namespace lamina::python

// lamina._lamina._nn: the C++ layers (held by the Python Module classes of lamina.nn), the
// functional forms, the losses and nn.init. Argument conversion only; PyTorch's signatures
// (legacy arguments, keyword names) are kept by the Python wrappers in python/lamina/nn.
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/vector.h>

#include "bind.h"
#include "lamina/nn/nn.h"

namespace lamina::python {
namespace {

namespace F = lamina::nn::functional;
namespace ag = lamina::autograd;

nb::list named_list(const nn::NamedTensors& v) {
  nb::list out;
  for (const auto& [k, t] : v) out.append(nb::make_tuple(nb::str(k.c_str()), nb::cast(t)));
  return out;
}

void bind_module(nb::module_& sub) {
  nb::class_<nn::Module>(sub, "Module", "A C++ module held by a Python lamina.nn.Module")
      .def("forward", [](nn::Module& m, const Tensor& x) { return m.forward(x); })
      .def("extra_repr", &nn::Module::extra_repr)
      .def("named_parameters", [](const nn::Module& m) { return named_list(m.named_parameters(false)); })
      .def("state_dict", [](const nn::Module& m) { return named_list(m.state_dict()); })
      .def("named_buffers", [](const nn::Module& m) { return named_list(m.named_buffers(false)); })
      .def("has_param", &nn::Module::has_param)
      .def("get",
           [](const nn::Module& m, const std::string& name) -> nb::object {
             if (m.has_param(name)) {
               const Tensor& t = m.param(name);
               return t.defined() ? nb::cast(t) : nb::none();
             }
             try {
               const Tensor& t = m.buffer(name);
               return t.defined() ? nb::cast(t) : nb::none();
             } catch (const ValueError&) {
               throw nb::key_error(name.c_str());
             }
           })
      .def("register_parameter",
           [](nn::Module& m, const std::string& name, std::optional<Tensor> t) {
             m.register_parameter(name, tensor_or_undefined(t), t && ag::requires_grad(*t));
           })
      .def("register_buffer", [](nn::Module& m, const std::string& name,
                                 std::optional<Tensor> t) { m.register_buffer(name, tensor_or_undefined(t)); })
      .def("train", &nn::Module::train)
      .def_prop_ro("training", &nn::Module::is_training);
}

void bind_layers(nb::module_& sub) {
  nb::class_<nn::Linear, nn::Module>(sub, "Linear")
      .def(
          "__init__",
          [](nn::Linear* self, int64_t in, int64_t out, bool bias, nb::object dtype) {
            new (self) nn::Linear(in, out, bias, dtype_or_default(dtype));
          },
          nb::arg("in_features"), nb::arg("out_features"), nb::arg("bias") = true, nb::arg("dtype").none() = nb::none())
      .def("reset_parameters", &nn::Linear::reset_parameters)
      .def("forward_gelu", &nn::Linear::forward_gelu, "gelu(forward(x)) as one op (Sequential's Linear + GELU).")
      .def_ro("in_features", &nn::Linear::in_features)
      .def_ro("out_features", &nn::Linear::out_features);
  nb::class_<nn::Embedding, nn::Module>(sub, "Embedding")
      .def("__init__", [](nn::Embedding* self, int64_t n, int64_t d, std::optional<int64_t> pad, nb::object dtype) {
        new (self) nn::Embedding(n, d, pad, dtype_or_default(dtype));
      }, nb::arg("num_embeddings"), nb::arg("embedding_dim"), nb::arg("padding_idx").none() = nb::none(),
         nb::arg("dtype").none() = nb::none())
      .def_ro("num_embeddings", &nn::Embedding::num_embeddings)
      .def_ro("embedding_dim", &nn::Embedding::embedding_dim)
      .def_ro("padding_idx", &nn::Embedding::padding_idx);
  nb::class_<nn::LayerNorm, nn::Module>(sub, "LayerNorm")
      .def("__init__", [](nn::LayerNorm* self, std::vector<int64_t> shape, double eps, bool affine, bool bias,
                          nb::object dtype) {
        new (self) nn::LayerNorm(std::move(shape), eps, affine, bias, dtype_or_default(dtype));
      }, nb::arg("normalized_shape"), nb::arg("eps"), nb::arg("elementwise_affine"), nb::arg("bias"),
         nb::arg("dtype").none())
      .def_prop_ro("normalized_shape", [](const nn::LayerNorm& m) { return nb::tuple(nb::cast(m.normalized_shape)); })
      .def_rw("eps", &nn::LayerNorm::eps)
      .def_ro("elementwise_affine", &nn::LayerNorm::elementwise_affine);
  nb::class_<nn::RMSNorm, nn::Module>(sub, "RMSNorm")
      .def("__init__", [](nn::RMSNorm* self, std::vector<int64_t> shape, std::optional<double> eps, bool affine,
                          nb::object dtype) {
        new (self) nn::RMSNorm(std::move(shape), eps, affine, dtype_or_default(dtype));
      }, nb::arg("normalized_shape"), nb::arg("eps").none(), nb::arg("elementwise_affine"), nb::arg("dtype").none())
      .def_prop_ro("normalized_shape", [](const nn::RMSNorm& m) { return nb::tuple(nb::cast(m.normalized_shape)); })
      .def_rw("eps", &nn::RMSNorm::eps)
      .def_ro("elementwise_affine", &nn::RMSNorm::elementwise_affine);
  // Convolution, pooling and batch norm; the Python wrappers pass sizes as (h, w) pairs.
  auto pr = [](const std::vector<int64_t>& v) { return Pair{v.at(0), v.at(1)}; };
  nb::class_<nn::Conv2d, nn::Module>(sub, "Conv2d")
      .def(
          "__init__",
          [pr](nn::Conv2d* self, int64_t in, int64_t out, std::vector<int64_t> k, std::vector<int64_t> s,
               std::vector<int64_t> p, std::vector<int64_t> d, int64_t groups, bool bias, nb::object dtype) {
            new (self) nn::Conv2d(in, out, pr(k), pr(s), pr(p), pr(d), groups, bias, dtype_or_default(dtype));
          },
          nb::arg("in_channels"), nb::arg("out_channels"), nb::arg("kernel_size"), nb::arg("stride"),
          nb::arg("padding"), nb::arg("dilation"), nb::arg("groups"), nb::arg("bias"), nb::arg("dtype").none())
      .def("reset_parameters", &nn::Conv2d::reset_parameters)
      .def("forward_relu", &nn::Conv2d::forward_relu, "relu(forward(x)) as one op (Sequential's Conv2d + ReLU).");
  nb::class_<nn::Conv1d, nn::Module>(sub, "Conv1d")
      .def("__init__", [](nn::Conv1d* self, int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d,
                          int64_t groups, bool bias, nb::object dtype) {
        new (self) nn::Conv1d(in, out, k, s, p, d, groups, bias, dtype_or_default(dtype));
      }, nb::arg("in_channels"), nb::arg("out_channels"), nb::arg("kernel_size"), nb::arg("stride"), nb::arg("padding"),
         nb::arg("dilation"), nb::arg("groups"), nb::arg("bias"), nb::arg("dtype").none());
  nb::class_<nn::ConvTranspose2d, nn::Module>(sub, "ConvTranspose2d")
      .def("__init__", [pr](nn::ConvTranspose2d* self, int64_t in, int64_t out, std::vector<int64_t> k,
                            std::vector<int64_t> s, std::vector<int64_t> p, std::vector<int64_t> op, int64_t groups,
                            bool bias, std::vector<int64_t> d, nb::object dtype) {
        new (self) nn::ConvTranspose2d(in, out, pr(k), pr(s), pr(p), pr(op), groups, bias, pr(d), dtype_or_default(dtype));
      }, nb::arg("in_channels"), nb::arg("out_channels"), nb::arg("kernel_size"), nb::arg("stride"), nb::arg("padding"),
         nb::arg("output_padding"), nb::arg("groups"), nb::arg("bias"), nb::arg("dilation"), nb::arg("dtype").none());
  nb::class_<nn::MaxPool2d, nn::Module>(sub, "MaxPool2d")
      .def("__init__", [pr](nn::MaxPool2d* self, std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> p,
                            std::vector<int64_t> d) { new (self) nn::MaxPool2d(pr(k), pr(s), pr(p), pr(d)); });
  nb::class_<nn::AvgPool2d, nn::Module>(sub, "AvgPool2d")
      .def("__init__", [pr](nn::AvgPool2d* self, std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> p,
                            bool cip) { new (self) nn::AvgPool2d(pr(k), pr(s), pr(p), cip); });
  nb::class_<nn::AdaptiveAvgPool2d, nn::Module>(sub, "AdaptiveAvgPool2d")
      .def("__init__", [pr](nn::AdaptiveAvgPool2d* self, std::vector<int64_t> size) {
        new (self) nn::AdaptiveAvgPool2d(pr(size));
      });
  nb::class_<nn::BatchNorm, nn::Module>(sub, "BatchNorm")
      .def("reset_running_stats", &nn::BatchNorm::reset_running_stats);
  nb::class_<nn::BatchNorm1d, nn::BatchNorm>(sub, "BatchNorm1d")
      .def("__init__", [](nn::BatchNorm1d* self, int64_t n, double eps, double momentum, bool affine, bool track,
                          nb::object dtype) { new (self) nn::BatchNorm1d(n, eps, momentum, affine, track, dtype_or_default(dtype)); },
           nb::arg("num_features"), nb::arg("eps"), nb::arg("momentum"), nb::arg("affine"), nb::arg("track_running_stats"),
           nb::arg("dtype").none());
  nb::class_<nn::BatchNorm2d, nn::BatchNorm>(sub, "BatchNorm2d")
      .def("__init__", [](nn::BatchNorm2d* self, int64_t n, double eps, double momentum, bool affine, bool track,
                          nb::object dtype) { new (self) nn::BatchNorm2d(n, eps, momentum, affine, track, dtype_or_default(dtype)); },
           nb::arg("num_features"), nb::arg("eps"), nb::arg("momentum"), nb::arg("affine"), nb::arg("track_running_stats"),
           nb::arg("dtype").none());
  nb::class_<nn::MultiheadAttention, nn::Module>(sub, "MultiheadAttention")
      .def("__init__", [](nn::MultiheadAttention* self, int64_t e, int64_t h, double p, bool bias, bool batch_first,
                          nb::object dtype) {
        new (self) nn::MultiheadAttention(e, h, p, bias, batch_first, dtype_or_default(dtype));
      }, nb::arg("embed_dim"), nb::arg("num_heads"), nb::arg("dropout"), nb::arg("bias"), nb::arg("batch_first"),
         nb::arg("dtype").none())
      .def("forward", [](nn::MultiheadAttention& m, const Tensor& q, const Tensor& k, const Tensor& v, nb::handle kpm,
                         bool need_weights, nb::handle mask, bool average) -> nb::object {
        auto opt = [](nb::handle h) { return h.is_none() ? Tensor() : nb::cast<Tensor>(h); };
        auto [out, w] = m.forward(q, k, v, opt(kpm), need_weights, opt(mask), average);
        return nb::make_tuple(out, w.defined() ? nb::cast(w) : nb::none());
      }, nb::arg("query"), nb::arg("key"), nb::arg("value"), nb::arg("key_padding_mask") = nb::none(),
         nb::arg("need_weights") = true, nb::arg("attn_mask") = nb::none(), nb::arg("average_attn_weights") = true)
      .def_ro("embed_dim", &nn::MultiheadAttention::embed_dim)
      .def_ro("num_heads", &nn::MultiheadAttention::num_heads)
      .def_ro("batch_first", &nn::MultiheadAttention::batch_first)
      .def_prop_ro("out_proj", [](const nn::MultiheadAttention& m) { return m.out_proj; });
  nb::class_<nn::GroupNorm, nn::Module>(sub, "GroupNorm")
      .def("__init__", [](nn::GroupNorm* self, int64_t g, int64_t c, double eps, bool affine, nb::object dtype) {
        new (self) nn::GroupNorm(g, c, eps, affine, dtype_or_default(dtype));
      }, nb::arg("num_groups"), nb::arg("num_channels"), nb::arg("eps"), nb::arg("affine"), nb::arg("dtype").none())
      .def_ro("num_groups", &nn::GroupNorm::num_groups)
      .def_ro("num_channels", &nn::GroupNorm::num_channels)
      .def_rw("eps", &nn::GroupNorm::eps)
      .def_ro("affine", &nn::GroupNorm::affine);
  nb::class_<nn::Dropout, nn::Module>(sub, "Dropout").def(nb::init<double>()).def_ro("p", &nn::Dropout::p);
  nb::class_<nn::ReLU, nn::Module>(sub, "ReLU").def(nb::init<>());
  nb::class_<nn::GELU, nn::Module>(sub, "GELU").def(nb::init<std::string>()).def_ro("approximate", &nn::GELU::approximate);
  nb::class_<nn::SiLU, nn::Module>(sub, "SiLU").def(nb::init<>());
  nb::class_<nn::Tanh, nn::Module>(sub, "Tanh").def(nb::init<>());
  nb::class_<nn::Sigmoid, nn::Module>(sub, "Sigmoid").def(nb::init<>());
  nb::class_<nn::Softmax, nn::Module>(sub, "Softmax").def(nb::init<int64_t>()).def_ro("dim", &nn::Softmax::dim);
  nb::class_<nn::LogSoftmax, nn::Module>(sub, "LogSoftmax").def(nb::init<int64_t>()).def_ro("dim", &nn::LogSoftmax::dim);
  nb::class_<nn::Flatten, nn::Module>(sub, "Flatten")
      .def(nb::init<int64_t, int64_t>())
      .def_ro("start_dim", &nn::Flatten::start_dim)
      .def_ro("end_dim", &nn::Flatten::end_dim);
  nb::class_<nn::Identity, nn::Module>(sub, "Identity").def(nb::init<>());
}

void bind_losses(nb::module_& sub) {
  nb::class_<nn::Loss, nn::Module>(sub, "Loss")
      .def("forward", [](nn::Loss& m, const Tensor& x, const Tensor& y) { return m.forward(x, y); })
      .def_ro("reduction", &nn::Loss::reduction);
  nb::class_<nn::CrossEntropyLoss, nn::Loss>(sub, "CrossEntropyLoss")
      .def("__init__", [](nn::CrossEntropyLoss* self, std::optional<Tensor> w, int64_t ignore, const std::string& red,
                          double ls) { new (self) nn::CrossEntropyLoss(tensor_or_undefined(w), ignore, red, ls); })
      .def_ro("ignore_index", &nn::CrossEntropyLoss::ignore_index)
      .def_ro("label_smoothing", &nn::CrossEntropyLoss::label_smoothing);
  nb::class_<nn::NLLLoss, nn::Loss>(sub, "NLLLoss")
      .def("__init__", [](nn::NLLLoss* self, std::optional<Tensor> w, int64_t ignore,
                          const std::string& red) { new (self) nn::NLLLoss(tensor_or_undefined(w), ignore, red); })
      .def_ro("ignore_index", &nn::NLLLoss::ignore_index);
  nb::class_<nn::MSELoss, nn::Loss>(sub, "MSELoss").def(nb::init<std::string>());
  nb::class_<nn::L1Loss, nn::Loss>(sub, "L1Loss").def(nb::init<std::string>());
  nb::class_<nn::SmoothL1Loss, nn::Loss>(sub, "SmoothL1Loss")
      .def(nb::init<std::string, double>())
      .def_ro("beta", &nn::SmoothL1Loss::beta);
  nb::class_<nn::BCELoss, nn::Loss>(sub, "BCELoss")
      .def("__init__", [](nn::BCELoss* self, std::optional<Tensor> w, const std::string& red) {
        new (self) nn::BCELoss(tensor_or_undefined(w), red);
      });
  nb::class_<nn::BCEWithLogitsLoss, nn::Loss>(sub, "BCEWithLogitsLoss")
      .def("__init__",
           [](nn::BCEWithLogitsLoss* self, std::optional<Tensor> w, const std::string& red, std::optional<Tensor> pw) {
             new (self) nn::BCEWithLogitsLoss(tensor_or_undefined(w), red, tensor_or_undefined(pw));
           });
  nb::class_<nn::KLDivLoss, nn::Loss>(sub, "KLDivLoss")
      .def(nb::init<std::string, bool>())
      .def_ro("log_target", &nn::KLDivLoss::log_target);
}

void bind_functional(nb::module_& sub) {
  using OT = std::optional<Tensor>;
  sub.def("linear", [](const Tensor& x, const Tensor& w, OT b) { return F::linear(x, w, tensor_or_undefined(b)); });
  sub.def("dropout", &F::dropout);
  sub.def("layer_norm", [](const Tensor& x, std::vector<int64_t> shape, OT w, OT b, double eps) {
    return F::layer_norm(x, shape, tensor_or_undefined(w), tensor_or_undefined(b), eps);
  });
  sub.def("add_layer_norm", [](const Tensor& x, const Tensor& r, std::vector<int64_t> shape, OT w, OT b, double eps) {
    auto [sum, y] = F::add_layer_norm(x, r, shape, tensor_or_undefined(w), tensor_or_undefined(b), eps);
    return nb::make_tuple(sum, y);
  });
  sub.def("rms_norm", [](const Tensor& x, std::vector<int64_t> shape, OT w, std::optional<double> eps) {
    return F::rms_norm(x, shape, tensor_or_undefined(w), eps);
  });
  sub.def("group_norm", [](const Tensor& x, int64_t g, OT w, OT b, double eps) {
    return F::group_norm(x, g, tensor_or_undefined(w), tensor_or_undefined(b), eps);
  });
  sub.def("embedding", [](const Tensor& idx, const Tensor& w, std::optional<int64_t> pad) {
    return F::embedding(idx, w, pad);
  });
  sub.def("nll_loss", [](const Tensor& x, const Tensor& t, OT w, int64_t ignore, const std::string& red) {
    return F::nll_loss(x, t, tensor_or_undefined(w), ignore, red);
  });
  sub.def("cross_entropy", [](const Tensor& x, const Tensor& t, OT w, int64_t ignore, const std::string& red,
                              double ls) { return F::cross_entropy(x, t, tensor_or_undefined(w), ignore, red, ls); });
  sub.def("mse_loss", &F::mse_loss);
  sub.def("l1_loss", &F::l1_loss);
  sub.def("smooth_l1_loss", &F::smooth_l1_loss);
  sub.def("binary_cross_entropy", [](const Tensor& x, const Tensor& t, OT w, const std::string& red) {
    return F::binary_cross_entropy(x, t, tensor_or_undefined(w), red);
  });
  sub.def("binary_cross_entropy_with_logits",
          [](const Tensor& x, const Tensor& t, OT w, const std::string& red, OT pw) {
            return F::binary_cross_entropy_with_logits(x, t, tensor_or_undefined(w), red, tensor_or_undefined(pw));
          });
  sub.def("kl_div", &F::kl_div);
  sub.def(
      "scaled_dot_product_attention",
      [](const Tensor& q, const Tensor& k, const Tensor& v, OT mask, double p, bool causal,
         std::optional<double> scale) {
        return F::scaled_dot_product_attention(q, k, v, tensor_or_undefined(mask), p, causal, scale);
      },
      nb::arg("query"), nb::arg("key"), nb::arg("value"), nb::arg("attn_mask") = nb::none(), nb::arg("dropout_p") = 0.0,
      nb::arg("is_causal") = false, nb::arg("scale") = nb::none());
}

void bind_init(nb::module_& sub) {
  namespace I = lamina::nn::init;
  sub.def("calculate_gain", [](const std::string& nl, std::optional<double> p) { return I::calculate_gain(nl, p ? *p : -1.0); });
  sub.def("calculate_fan_in_and_fan_out", &I::calculate_fan_in_and_fan_out);
  sub.def("uniform_", &I::uniform_, nb::rv_policy::reference);
  sub.def("normal_", &I::normal_, nb::rv_policy::reference);
  sub.def("constant_", &I::constant_, nb::rv_policy::reference);
  sub.def("zeros_", &I::zeros_, nb::rv_policy::reference);
  sub.def("ones_", &I::ones_, nb::rv_policy::reference);
  sub.def("kaiming_uniform_", &I::kaiming_uniform_, nb::rv_policy::reference);
  sub.def("kaiming_normal_", &I::kaiming_normal_, nb::rv_policy::reference);
  sub.def("xavier_uniform_", &I::xavier_uniform_, nb::rv_policy::reference);
  sub.def("xavier_normal_", &I::xavier_normal_, nb::rv_policy::reference);
  sub.def("trunc_normal_", &I::trunc_normal_, nb::rv_policy::reference);
  sub.def("orthogonal_", &I::orthogonal_, nb::rv_policy::reference);
}

}  // namespace

void init_nn(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_nn", "C++ layers, losses, functional and init (re-exported as lamina.nn).");
  bind_module(sub);
  bind_layers(sub);
  bind_losses(sub);
  bind_rnn(sub);
  nb::module_ fsub = sub.def_submodule("functional", "torch.nn.functional's forms");
  bind_functional(fsub);
  bind_activations(sub, fsub);
  nb::module_ isub = sub.def_submodule("init", "torch.nn.init's fills");
  bind_init(isub);
}

}  // namespace lamina::python

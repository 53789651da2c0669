// lamina._lamina._nn's activations with settings, instance norm, channel dropout and padding
// layers, plus their functional forms: argument conversion only.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bind.h"
#include "lamina/nn/functional.h"
#include "lamina/nn/instance_norm.h"
#include "lamina/nn/layers.h"
#include "lamina/nn/padding.h"
#include "lamina/nn/rectifiers.h"

namespace lamina::python {
void bind_activations(nb::module_& sub, nb::module_& fsub) {
  namespace F = nn::functional;
  nb::class_<nn::LeakyReLU, nn::Module>(sub, "LeakyReLU")
      .def(nb::init<double>(), nb::arg("negative_slope"))
      .def_rw("negative_slope", &nn::LeakyReLU::negative_slope);
  nb::class_<nn::ELU, nn::Module>(sub, "ELU")
      .def(nb::init<double>(), nb::arg("alpha"))
      .def_rw("alpha", &nn::ELU::alpha);
  nb::class_<nn::CELU, nn::Module>(sub, "CELU")
      .def(nb::init<double>(), nb::arg("alpha"))
      .def_ro("alpha", &nn::CELU::alpha);
  nb::class_<nn::SELU, nn::Module>(sub, "SELU").def(nb::init<>());
  nb::class_<nn::PReLU, nn::Module>(sub, "PReLU")
      .def(
          "__init__",
          [](nn::PReLU* self, int64_t n, double init, nb::object dtype) {
            new (self) nn::PReLU(n, init, dtype_or_default(dtype));
          },
          nb::arg("num_parameters"), nb::arg("init"), nb::arg("dtype").none())
      .def_ro("num_parameters", &nn::PReLU::num_parameters);
  nb::class_<nn::Hardtanh, nn::Module>(sub, "Hardtanh")
      .def(nb::init<double, double>(), nb::arg("min_val"), nb::arg("max_val"))
      .def_ro("min_val", &nn::Hardtanh::min_val)
      .def_ro("max_val", &nn::Hardtanh::max_val);
  nb::class_<nn::ReLU6, nn::Module>(sub, "ReLU6").def(nb::init<>());
  nb::class_<nn::Hardswish, nn::Module>(sub, "Hardswish").def(nb::init<>());
  nb::class_<nn::Hardsigmoid, nn::Module>(sub, "Hardsigmoid").def(nb::init<>());
  nb::class_<nn::Mish, nn::Module>(sub, "Mish").def(nb::init<>());
  nb::class_<nn::Softplus, nn::Module>(sub, "Softplus")
      .def(nb::init<double, double>(), nb::arg("beta"), nb::arg("threshold"))
      .def_ro("beta", &nn::Softplus::beta)
      .def_ro("threshold", &nn::Softplus::threshold);
  nb::class_<nn::LogSigmoid, nn::Module>(sub, "LogSigmoid").def(nb::init<>());
  nb::class_<nn::Softsign, nn::Module>(sub, "Softsign").def(nb::init<>());

  nb::class_<nn::InstanceNorm, nn::Module>(sub, "InstanceNorm")
      .def(
          "__init__",
          [](nn::InstanceNorm* self, const std::string& name, int64_t dims, int64_t n, double eps, double momentum,
             bool affine, bool track, nb::object dtype) {
            static const std::string kNames[] = {"InstanceNorm1d", "InstanceNorm2d"};
            LAMINA_CHECK(dims == 1 || dims == 2, ConfigError, "InstanceNorm", "spatial dims must be 1 or 2, got ",
                         dims);
            LAMINA_CHECK(name == kNames[dims - 1], ConfigError, "InstanceNorm", "unknown layer name '", name, "'");
            new (self) nn::InstanceNorm(kNames[dims - 1].c_str(), dims, n, eps, momentum, affine, track,
                                        dtype_or_default(dtype));
          },
          nb::arg("name"), nb::arg("spatial_dims"), nb::arg("num_features"), nb::arg("eps"), nb::arg("momentum"),
          nb::arg("affine"), nb::arg("track_running_stats"), nb::arg("dtype").none())
      .def_ro("num_features", &nn::InstanceNorm::num_features)
      .def_rw("eps", &nn::InstanceNorm::eps)
      .def_rw("momentum", &nn::InstanceNorm::momentum)
      .def_ro("affine", &nn::InstanceNorm::affine)
      .def_ro("track_running_stats", &nn::InstanceNorm::track_running_stats);
  nb::class_<nn::ChannelDropout, nn::Module>(sub, "ChannelDropout")
      .def(
          "__init__",
          [](nn::ChannelDropout* self, int64_t dims, double p) {
            LAMINA_CHECK(dims == 1 || dims == 2, ConfigError, "ChannelDropout", "spatial dims must be 1 or 2, got ",
                         dims);
            new (self) nn::ChannelDropout(dims == 1 ? "Dropout1d" : "Dropout2d", dims, p);
          },
          nb::arg("spatial_dims"), nb::arg("p"))
      .def_ro("p", &nn::ChannelDropout::p);
  nb::class_<nn::Pad, nn::Module>(sub, "Pad")
      .def(
          "__init__",
          [](nn::Pad* self, const std::string& name, int64_t dims, std::vector<int64_t> padding,
             const std::string& mode, double value) {
            static const char* kNames[] = {"ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d",
                                           "ZeroPad1d",       "ZeroPad2d",       "ConstantPad1d",    "ConstantPad2d"};
            const char* stable = nullptr;
            for (const char* n : kNames)
              if (name == n) stable = n;
            LAMINA_CHECK(stable != nullptr, ConfigError, "Pad", "unknown padding layer '", name, "'");
            new (self) nn::Pad(stable, dims, std::move(padding), mode, value);
          },
          nb::arg("name"), nb::arg("spatial_dims"), nb::arg("padding"), nb::arg("mode"), nb::arg("value"))
      .def_ro("padding", &nn::Pad::padding)
      .def_ro("mode", &nn::Pad::mode)
      .def_ro("value", &nn::Pad::value);

  fsub.def("leaky_relu", &F::leaky_relu, nb::arg("input"), nb::arg("negative_slope") = 0.01);
  fsub.def("elu", &F::elu, nb::arg("input"), nb::arg("alpha") = 1.0);
  fsub.def("celu", &F::celu, nb::arg("input"), nb::arg("alpha") = 1.0);
  fsub.def("prelu", &F::prelu, nb::arg("input"), nb::arg("weight"));
  fsub.def("hardtanh", &F::hardtanh, nb::arg("input"), nb::arg("min_val") = -1.0, nb::arg("max_val") = 1.0);
  fsub.def("relu6", &F::relu6, nb::arg("input"));
  fsub.def("softplus", &F::softplus, nb::arg("input"), nb::arg("beta") = 1.0, nb::arg("threshold") = 20.0);
  fsub.def("logsigmoid", &F::logsigmoid, nb::arg("input"));
  fsub.def("softsign", &F::softsign, nb::arg("input"));
  fsub.def("channel_dropout", &F::channel_dropout, nb::arg("input"), nb::arg("p") = 0.5, nb::arg("training") = true);
  fsub.def(
      "instance_norm",
      [](const Tensor& x, std::optional<Tensor> rm, std::optional<Tensor> rv, std::optional<Tensor> w,
         std::optional<Tensor> b, bool use_input_stats, double momentum, double eps) {
        return F::instance_norm(x, tensor_or_undefined(rm), tensor_or_undefined(rv), tensor_or_undefined(w),
                                tensor_or_undefined(b), use_input_stats, momentum, eps);
      },
      nb::arg("input"), nb::arg("running_mean").none(), nb::arg("running_var").none(), nb::arg("weight").none(),
      nb::arg("bias").none(), nb::arg("use_input_stats"), nb::arg("momentum"), nb::arg("eps"));
}

}  // namespace lamina::python

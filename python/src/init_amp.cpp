// Mixed precision (lamina._lamina._amp): the thread-local autocast state that lamina.autocast
// (python/lamina/amp.py) sets on entry and restores on exit, torch's functions of those names, and
// the C++ GradScaler (lamina/optim/grad_scaler.h) that lamina.amp.GradScaler wraps. Optimizers are
// known by a key (Python's id()) and their gradients passed as a list, so any object with
// .param_groups and .step() can be stepped.
#include <nanobind/stl/function.h>

#include "bind.h"
#include "lamina/ops/autocast.h"
#include "lamina/optim/grad_scaler.h"

namespace lamina::python {

namespace {
// torch.autocast's device_type: a device type name, never an indexed device.
DeviceType device_type(const std::string& name) {
  if (name == "cpu") return DeviceType::CPU;
  if (name == "cuda") return DeviceType::CUDA;
  LAMINA_THROW(ValueError, "autocast", "unsupported autocast device_type '", name,
               "'; expected 'cpu' or 'cuda' (a device type, without an index)");
}

using optim::GradScaler;
using optim::GradScalerState;
using Key = GradScaler::OptimizerKey;

nb::dict scaler_state_to_py(const std::optional<GradScalerState>& s) {
  nb::dict d;
  if (!s) return d;
  d["scale"] = s->scale;
  d["growth_factor"] = s->growth_factor;
  d["backoff_factor"] = s->backoff_factor;
  d["growth_interval"] = s->growth_interval;
  d["_growth_tracker"] = s->growth_tracker;
  return d;
}

// torch's state_dict keys; values converted as float() / int() would (KeyError when one is missing).
std::optional<GradScalerState> scaler_state_from_py(const nb::dict& d) {
  if (d.size() == 0) return std::nullopt;
  auto real = [&](const char* key) { return nb::cast<double>(nb::float_(d[key])); };
  auto integer = [&](const char* key) { return nb::cast<int64_t>(nb::int_(d[key])); };
  return GradScalerState{real("scale"), real("growth_factor"), real("backoff_factor"), integer("growth_interval"),
                         integer("_growth_tracker")};
}
}  // namespace

void init_amp(nb::module_& m) {
  nb::module_ amp = m.def_submodule("_amp", "autocast state (see lamina.autocast).");
  amp.def(
      "is_enabled", [](const std::string& t) { return autocast::is_enabled(device_type(t)); }, nb::arg("device_type"),
      "True when autocast is on for device_type on this thread.");
  amp.def(
      "set_enabled", [](const std::string& t, bool on) { autocast::set_enabled(device_type(t), on); },
      nb::arg("device_type"), nb::arg("enabled"), "Turns autocast on or off for device_type on this thread.");
  amp.def(
      "get_dtype", [](const std::string& t) { return dtype_object(autocast::get_dtype(device_type(t))); },
      nb::arg("device_type"), "The lower-precision dtype autocast uses for device_type on this thread.");
  amp.def(
      "set_dtype", [](const std::string& t, nb::handle dt) { autocast::set_dtype(device_type(t), to_dtype(dt)); },
      nb::arg("device_type"), nb::arg("dtype"),
      "Sets the lower-precision dtype of device_type (float16 or bfloat16; DTypeError otherwise).");
  amp.def(
      "check_dtype", [](nb::handle dt) { autocast::check_dtype(to_dtype(dt)); }, nb::arg("dtype"),
      "DTypeError unless dtype is float16 or bfloat16.");
  amp.def(
      "device_type", [](const std::string& t) { return device_type(t) == DeviceType::CUDA ? "cuda" : "cpu"; },
      nb::arg("device_type"), "device_type checked: ValueError unless 'cpu' or 'cuda'.");
  amp.def("is_cache_enabled", &autocast::is_cache_enabled,
          "True when casts of float32 leaves that require grad are cached within an autocast region.");
  amp.def("set_cache_enabled", &autocast::set_cache_enabled, nb::arg("enabled"),
          "Turns the autocast cast cache on or off on this thread.");
  amp.def("increment_nesting", &autocast::increment_nesting, "Enters an autocast region; returns the new depth.");
  amp.def("decrement_nesting", &autocast::decrement_nesting, "Leaves an autocast region; returns the new depth.");
  amp.def("clear_cache", &autocast::clear_cache, "Drops this thread's cached autocast casts.");
  amp.def("cache_size", &autocast::cache_size, "Number of cached autocast casts on this thread.");

  nb::class_<GradScaler>(amp, "GradScaler",
                         "The C++ loss scaler (lamina/optim/grad_scaler.h) behind lamina.amp.GradScaler.")
      .def(nb::init<double, double, double, int64_t, bool>(), nb::arg("init_scale") = 65536.0,
           nb::arg("growth_factor") = 2.0, nb::arg("backoff_factor") = 0.5, nb::arg("growth_interval") = 2000,
           nb::arg("enabled") = true, "ValueError (when enabled) unless growth_factor > 1 and backoff_factor < 1.")
      .def("is_enabled", &GradScaler::is_enabled, "False when constructed with enabled=False.")
      .def("is_initialized", &GradScaler::is_initialized, "True once scale() created the scale tensor.")
      .def(
          "scale", [](GradScaler& s, const Tensor& t) { return s.scale(t); }, nb::arg("output"),
          "output times the float32 scale (created on output's device at the first call).")
      .def(
          "unscale_grads",
          [](const GradScaler& s, const std::vector<Tensor>& grads, bool allow_fp16) -> nb::object {
            Tensor found = s.unscale_grads(grads, allow_fp16);
            return found.defined() ? nb::cast(found) : nb::none();
          },
          nb::arg("grads"), nb::arg("allow_fp16") = false,
          "Divides grads by the scale in place; a 0-d bool tensor, True when one held inf/NaN (None for no grads).")
      .def(
          "unscale_", [](GradScaler& s, Key key, const std::vector<Tensor>& grads) { s.unscale_(key, grads); },
          nb::arg("key"), nb::arg("grads"),
          "unscale_ for the optimizer known by key (id(optimizer)) whose gradients are grads.")
      .def(
          "step",
          [](GradScaler& s, Key key, const std::vector<Tensor>& grads, const std::function<void()>& optimizer_step) {
            return s.step(key, grads, optimizer_step);
          },
          nb::arg("key"), nb::arg("grads"), nb::arg("optimizer_step"),
          "Unscales grads unless unscale_ ran, calls optimizer_step() when all were finite; True when it did.")
      .def(
          "stage", [](const GradScaler& s, Key key) { return static_cast<int>(s.stage(key)); }, nb::arg("key"),
          "0 ready, 1 unscaled, 2 stepped: where the optimizer known by key stands since the last update().")
      .def("has_inf_check", &GradScaler::has_inf_check, nb::arg("key"),
           "True when an inf check is recorded for the optimizer known by key.")
      .def("has_inf_checks", &GradScaler::has_inf_checks, "True when an inf check is recorded for some optimizer.")
      .def(
          "update", [](GradScaler& s) { s.update(); },
          "Backoff after inf/NaN gradients, growth after growth_interval finite steps; forgets the records.")
      .def(
          "update", [](GradScaler& s, double new_scale) { s.update(new_scale); }, nb::arg("new_scale"),
          "Sets the scale (finite and > 0) and forgets the records.")
      .def(
          "update", [](GradScaler& s, const Tensor& new_scale) { s.update(new_scale); }, nb::arg("new_scale"),
          "Sets the scale to a 1-element tensor's value and forgets the records.")
      .def("get_scale", &GradScaler::get_scale,
           "The current scale (init_scale before the first scale(); 1.0 disabled).")
      .def(
          "scale_tensor",
          [](const GradScaler& s) -> nb::object {
            return s.is_initialized() ? nb::cast(s.scale_tensor()) : nb::none();
          },
          "The 0-d float32 scale tensor (None before the first scale()).")
      .def("growth_tracker", &GradScaler::growth_tracker, "Finite steps in a row since the last growth or backoff.")
      .def("get_growth_factor", &GradScaler::get_growth_factor, "The factor the scale grows by.")
      .def("set_growth_factor", &GradScaler::set_growth_factor, nb::arg("new_factor"),
           "Sets the growth factor (ValueError unless > 1).")
      .def("get_backoff_factor", &GradScaler::get_backoff_factor, "The factor the scale shrinks by.")
      .def("set_backoff_factor", &GradScaler::set_backoff_factor, nb::arg("new_factor"),
           "Sets the backoff factor (ValueError unless < 1).")
      .def("get_growth_interval", &GradScaler::get_growth_interval, "Finite steps in a row before growth.")
      .def("set_growth_interval", &GradScaler::set_growth_interval, nb::arg("new_interval"),
           "Sets the growth interval.")
      .def(
          "state_dict", [](const GradScaler& s) { return scaler_state_to_py(s.state_dict()); },
          "{'scale', 'growth_factor', 'backoff_factor', 'growth_interval', '_growth_tracker'}; {} when disabled.")
      .def(
          "load_state_dict", [](GradScaler& s, const nb::dict& d) { s.load_state_dict(scaler_state_from_py(d)); },
          nb::arg("state_dict"),
          "Restores a state_dict(), validated before anything changes (ValueError for {} or invalid values).");
}

}  // namespace lamina::python

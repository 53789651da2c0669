// Mixed precision (lamina._lamina._amp): the thread-local autocast state that lamina.autocast
// (python/lamina/amp.py) sets on entry and restores on exit, torch's functions of those names.
#include "bind.h"
#include "lamina/ops/autocast.h"

namespace lamina::python {

namespace {
// torch.autocast's device_type: a device type name, never an indexed device.
DeviceType device_type(const std::string& name) {
  if (name == "cpu") return DeviceType::CPU;
  if (name == "cuda") return DeviceType::CUDA;
  LAMINA_THROW(ValueError, "autocast", "unsupported autocast device_type '", name,
               "'; expected 'cpu' or 'cuda' (a device type, without an index)");
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
}

}  // namespace lamina::python

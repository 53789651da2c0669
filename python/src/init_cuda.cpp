// The CUDA device API (lamina._lamina._cuda; python/lamina/cuda.py gives torch.cuda's names). In a
// build without CUDA the same functions report no devices (lamina/cuda/device_stub.cpp).
#include "bind.h"
#include "lamina/cuda/device.h"
#include "lamina/cuda/memory.h"

namespace lamina::python {

namespace {
// torch.cuda's device arguments: None (the default CUDA device), an int, "cuda:N" or a device.
int device_index(const nb::object& device) {
  if (device.is_none()) return 0;
  if (nb::isinstance<nb::int_>(device)) return nb::cast<int>(device);
  // Parsed without the availability check: the op itself reports a missing device, by name.
  const Device d = nb::isinstance<Device>(device) ? nb::cast<Device>(device)
                                                  : parse_device_spec(nb::cast<std::string>(nb::str(device)));
  LAMINA_CHECK(d.is_cuda(), ValueError, "cuda", "expected a CUDA device, got ", d.str());
  return d.index;
}
}  // namespace

void init_cuda(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_cuda", "CUDA devices (see lamina.cuda).");
  sub.def("is_built", &cuda::built, "True when this build includes the CUDA backend.");
  sub.def("device_count", &cuda_device_count, "Usable CUDA devices (0 with LAMINA_FORCE_CPU=1).");
  sub.def(
      "get_device_name", [](const nb::object& device) { return cuda::device_name(device_index(device)); },
      nb::arg("device") = nb::none(), "The device's name.");
  sub.def(
      "get_device_capability",
      [](const nb::object& device) {
        const int cc = cuda::device_capability(device_index(device));
        return nb::make_tuple(cc / 10, cc % 10);
      },
      nb::arg("device") = nb::none(), "The device's compute capability (major, minor).");
  sub.def(
      "total_memory", [](const nb::object& device) { return cuda::device_total_memory(device_index(device)); },
      nb::arg("device") = nb::none(), "The device's memory in bytes.");
  sub.def(
      "synchronize", [](const nb::object& device) { cuda::synchronize(device_index(device)); },
      nb::arg("device") = nb::none(), "Waits for all work queued on the device.");
  sub.def("runtime_version", &cuda::runtime_version, "The CUDA runtime version of this build, or ''.");
  sub.def(
      "memory_stats",
      [](const nb::object& device) {
        const runtime::DeviceMemoryStats s = cuda::memory_stats(device_index(device));
        nb::dict d;
        d["allocated_bytes"] = s.allocated;
        d["reserved_bytes"] = s.reserved;
        d["peak_allocated_bytes"] = s.peak_allocated;
        d["peak_reserved_bytes"] = s.peak_reserved;
        d["allocations"] = s.allocations;
        d["frees"] = s.frees;
        d["cache_hits"] = s.cache_hits;
        d["segments"] = s.segments;
        d["out_of_memory"] = s.out_of_memory;
        return d;
      },
      nb::arg("device") = nb::none(), "The device allocator's counters.");
  sub.def(
      "empty_cache", [](const nb::object& device) { cuda::empty_cache(device_index(device)); },
      nb::arg("device") = nb::none(), "Returns cached, unused device memory to the driver.");
}

}  // namespace lamina::python

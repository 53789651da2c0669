// The CUDA device API (lamina._lamina._cuda; python/lamina/cuda.py gives torch.cuda's names). In a
// build without CUDA the same functions report no devices (lamina/cuda/device_stub.cpp).
#include "bind.h"
#include "lamina/cuda/device.h"
#include "lamina/cuda/event.h"
#include "lamina/cuda/memory.h"
#include "lamina/cuda/pinned.h"
#include "lamina/cuda/stream.h"

namespace lamina::python {

namespace {
// torch.cuda's device arguments: None (the current CUDA device), an int, "cuda:N" or a device.
int device_index(const nb::object& device) {
  if (device.is_none()) return cuda::current_device();
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
        d["pending_frees"] = s.pending_frees;
        return d;
      },
      nb::arg("device") = nb::none(), "The device allocator's counters.");
  sub.def(
      "empty_cache", [](const nb::object& device) { cuda::empty_cache(device_index(device)); },
      nb::arg("device") = nb::none(), "Returns cached, unused device memory to the driver.");

  sub.def("current_device", &cuda::current_device, "The calling thread's current CUDA device index.");
  sub.def(
      "set_device", [](const nb::object& device) { cuda::set_device(device_index(device)); }, nb::arg("device"),
      "Makes the device current for the calling thread.");
  sub.def(
      "host_memory_stats",
      [] {
        const cuda::PinnedStats s = cuda::pinned_stats();
        nb::dict d;
        d["allocated_bytes"] = s.allocated;
        d["reserved_bytes"] = s.reserved;
        d["allocations"] = s.allocations;
        d["cache_hits"] = s.cache_hits;
        d["pending_frees"] = s.pending_frees;
        return d;
      },
      "The pinned host allocator's counters.");
  sub.def("host_empty_cache", &cuda::pinned_empty_cache, "Returns cached pinned host memory to the system.");

  nb::class_<cuda::Event>(sub, "Event", "A CUDA event (see lamina.cuda.Event).")
      .def(nb::init<bool>(), nb::arg("enable_timing") = false)
      .def("record", nb::overload_cast<const cuda::Stream&>(&cuda::Event::record), nb::arg("stream"))
      .def("query", &cuda::Event::query)
      .def("synchronize", &cuda::Event::synchronize, nb::call_guard<nb::gil_scoped_release>())
      .def("elapsed_time", &cuda::Event::elapsed_time, nb::arg("end_event"))
      .def("wait", &cuda::Event::wait, nb::arg("stream"))
      .def_prop_ro("cuda_event", [](const cuda::Event& e) { return reinterpret_cast<uintptr_t>(e.handle()); })
      .def_prop_ro("device_index", &cuda::Event::device)
      .def_prop_ro("enable_timing", &cuda::Event::timing);

  nb::class_<cuda::Stream>(sub, "Stream", "A CUDA stream (see lamina.cuda.Stream).")
      .def_static("create", &cuda::Stream::create, nb::arg("device"), nb::arg("priority") = 0)
      .def_static("current", &cuda::Stream::current, nb::arg("device"))
      .def_static("default", &cuda::Stream::default_stream, nb::arg("device"))
      .def_static(
          "external",
          [](int device, uintptr_t handle) { return cuda::Stream::external(device, reinterpret_cast<void*>(handle)); },
          nb::arg("device"), nb::arg("handle"))
      .def_static("priority_range", &cuda::Stream::priority_range, nb::arg("device"))
      .def_prop_ro("cuda_stream", [](const cuda::Stream& s) { return reinterpret_cast<uintptr_t>(s.handle()); })
      .def_prop_ro("device_index", &cuda::Stream::device)
      .def_prop_ro("priority", &cuda::Stream::priority)
      .def("query", &cuda::Stream::query)
      .def("synchronize", &cuda::Stream::synchronize, nb::call_guard<nb::gil_scoped_release>())
      .def("wait_event", &cuda::Stream::wait_event, nb::arg("event"))
      .def("wait_stream", &cuda::Stream::wait_stream, nb::arg("stream"))
      .def("__eq__", [](const cuda::Stream& a, const cuda::Stream& b) { return a == b; })
      .def("__hash__", [](const cuda::Stream& s) {
        return static_cast<size_t>(reinterpret_cast<uintptr_t>(s.handle())) * 31 + static_cast<size_t>(s.device());
      });
  sub.def("set_stream", &cuda::set_current_stream, nb::arg("stream"),
          "Makes the stream current on its device for the calling thread.");
}

}  // namespace lamina::python

// Runtime settings and device discovery: devices(), default_device(), set_backend,
// threads, log level, memory statistics, the lamina.device type.
#include "bind.h"
#include "lamina/runtime/log.h"

namespace lamina::python {

void init_runtime(nb::module_& m) {
  nb::class_<Device>(m, "device", "A device: lamina.device('cpu') or lamina.device('cuda:0').")
      .def(
          "__init__", [](Device* self, const std::string& spec) { new (self) Device(parse_device(spec)); },
          nb::arg("spec"))
      .def_prop_ro("type", [](const Device& d) { return d.is_cpu() ? "cpu" : "cuda"; })
      .def_prop_ro("index", [](const Device& d) -> nb::object { return d.is_cpu() ? nb::none() : nb::cast(d.index); })
      .def("__str__", &Device::str)
      .def("__repr__",
           [](const Device& d) {
             return d.is_cpu() ? std::string("device(type='cpu')")
                               : "device(type='cuda', index=" + std::to_string(d.index) + ")";
           })
      .def("__eq__",
           [](const Device& a, nb::handle b) {
             if (nb::isinstance<Device>(b)) return a == nb::cast<Device>(b);
             if (nb::isinstance<nb::str>(b))
               return a.str() == nb::cast<std::string>(b) || (a.is_cpu() && nb::cast<std::string>(b) == "cpu");
             return false;
           })
      .def("__hash__", [](const Device& d) { return static_cast<int>(d.type) * 1000 + d.index; });

  m.def(
      "devices",
      [] {
        DeviceReport r = lamina::devices();
        nb::dict cpu;
        cpu["name"] = r.cpu_name;
        cpu["features"] = r.cpu_features;
        cpu["avx2"] = std::find(r.cpu_features.begin(), r.cpu_features.end(), "avx2") != r.cpu_features.end();
        cpu["avx512"] = std::find(r.cpu_features.begin(), r.cpu_features.end(), "avx512f") != r.cpu_features.end();
        cpu["neon"] = std::find(r.cpu_features.begin(), r.cpu_features.end(), "neon") != r.cpu_features.end();
        cpu["cores"] = r.cores;
        cpu["threads"] = r.threads;
        cpu["simd_target"] = r.simd_target;
        cpu["backend"] = r.backend;
        nb::list gpus;
        for (const auto& g : r.gpus) {
          nb::dict d;
          d["index"] = g.index;
          d["name"] = g.name;
          d["total_memory"] = g.total_memory;
          d["compute_capability"] = nb::make_tuple(g.compute_major, g.compute_minor);
          gpus.append(d);
        }
        nb::dict build;
        build["blas"] = r.blas;
        build["cuda"] = r.cuda_built;
        nb::dict out;
        out["cpu"] = cpu;
        out["gpus"] = gpus;
        out["build"] = build;
        return out;
      },
      "What this process can use: CPU ISA features and threads, GPUs, build features.");
  m.def("default_device", &default_device,
        "cuda:0 when a usable GPU is present, else cpu (warning once; LAMINA_FORCE_CPU=1 silences it).");
  m.def("set_backend", &runtime::set_backend, nb::arg("name"),
        "Debug override of the kernel path: 'cpu_scalar', 'cpu_simd' or 'cuda'.");
  m.def("get_backend", &runtime::backend_name, "The selected CPU kernel path.");
  m.def("set_num_threads", &set_num_threads, nb::arg("n"), "Threads the runtime (and BLAS) may use.");
  m.def("get_num_threads", &num_threads, "Threads the runtime uses.");
  m.def(
      "set_log_level", [](const std::string& level) { logging::set_level(logging::parse_level(level)); },
      nb::arg("level"), "Sets the log level (debug|info|warning|error|off), as LAMINA_LOG_LEVEL does.");
  m.def(
      "memory_stats",
      [](const nb::object& device) {
        runtime::MemoryStats s = runtime::memory_stats(device.is_none() ? kCPU : to_device(device));
        nb::dict d;
        d["allocated_bytes"] = s.allocated_bytes;
        d["peak_allocated_bytes"] = s.peak_allocated_bytes;
        d["reserved_bytes"] = s.reserved_bytes;
        d["cached_bytes"] = s.cached_bytes;
        d["cache_limit_bytes"] = s.cache_limit_bytes;
        d["num_allocs"] = s.num_allocs;
        d["num_frees"] = s.num_frees;
        d["num_cache_hits"] = s.num_cache_hits;
        d["num_system_allocs"] = s.num_system_allocs;
        return d;
      },
      nb::arg("device") = nb::none(), "Allocator statistics for a device (default cpu).");
  m.def(
      "empty_cache",
      [](const nb::object& device) { runtime::empty_cache(device.is_none() ? kCPU : to_device(device)); },
      nb::arg("device") = nb::none(), "Returns the allocator's cached (freed) buffers to the system.");
  m.def(
      "reset_peak_memory_stats",
      [](const nb::object& device) { runtime::reset_peak_memory_stats(device.is_none() ? kCPU : to_device(device)); },
      nb::arg("device") = nb::none(), "Resets peak_allocated_bytes to the bytes allocated now.");
  // A budget lives from __enter__ to __exit__ on the thread of the with-block.
  struct BudgetScope {
    int64_t bytes;
    std::optional<runtime::AllocationBudget> budget;
  };
  nb::class_<BudgetScope>(m, "_AllocationBudget",
                          "with _AllocationBudget(n): allocations on this thread may take at most n bytes in all "
                          "(OutOfMemoryError past it); for building objects whose sizes a file names.")
      .def(nb::init<int64_t>(), nb::arg("nbytes"))
      .def("__enter__",
           [](BudgetScope& s) {
             LAMINA_CHECK(!s.budget, ValueError, "_AllocationBudget", "this budget is already in use");
             s.budget.emplace(s.bytes);
           })
      .def("__exit__", [](BudgetScope& s, const nb::args&) { s.budget.reset(); });
  m.def(
      "cuda_is_available", [] { return cuda_device_count() > 0; }, "True when a CUDA GPU is usable.");
}

}  // namespace lamina::python

// Python bindings of the op-level profiler (lamina/runtime/profiler.h): _lamina._profiler.
// python/lamina/profiler.py wraps these in torch.profiler's names.
#include <memory>

#include "bind.h"
#include "lamina/runtime/profiler.h"

namespace lamina::python {

namespace {

// A record_function range opened by __enter__ and closed by __exit__ (on the same thread).
struct PyRecordFunction {
  std::string name;
  std::unique_ptr<profiler::RecordFunction> range;
};

const char* kind_name(profiler::EventKind k) {
  switch (k) {
    case profiler::EventKind::Op: return "op";
    case profiler::EventKind::Backward: return "backward";
    case profiler::EventKind::User: return "user_annotation";
  }
  return "op";
}

}  // namespace

void init_profiler(nb::module_& m) {
  nb::module_ p = m.def_submodule("_profiler", "lamina's op-level profiler (see lamina.profiler)");

  p.def("enabled", &profiler::enabled, "True while a profiling session records.");

  nb::class_<profiler::Profile>(p, "Profile", "A profiling session: records from construction until stop().")
      .def(
          "__init__",
          [](profiler::Profile* self, bool record_shapes) {
            profiler::ProfileOptions o;
            o.record_shapes = record_shapes;
            new (self) profiler::Profile(o);
          },
          nb::arg("record_shapes") = true)
      .def("stop", &profiler::Profile::stop, "Stops recording and collects every thread's events.")
      .def_prop_ro("active", &profiler::Profile::active, "True until stop().")
      .def(
          "events",
          [](profiler::Profile& self) {
            nb::list out;
            for (const profiler::Event& e : self.events()) {
              nb::list shapes, dtypes;
              for (const profiler::InputInfo& in : e.inputs) {
                shapes.append(nb::cast(in.shape));
                dtypes.append(nb::cast(in.dtype));
              }
              nb::dict d;
              d["name"] = e.name;
              d["kind"] = kind_name(e.kind);
              d["start_ns"] = e.start_ns;
              d["end_ns"] = e.end_ns;
              d["self_ns"] = e.self_ns;
              d["thread_id"] = e.thread_id;
              d["depth"] = e.depth;
              d["shapes"] = shapes;
              d["dtypes"] = dtypes;
              out.append(d);
            }
            return out;
          },
          "The recorded events (dicts), ordered by start time.")
      .def(
          "key_averages",
          [](profiler::Profile& self, const std::string& sort_by) {
            nb::list out;
            for (const profiler::OpStats& r : self.key_averages(sort_by)) {
              nb::dict d;
              d["name"] = r.name;
              d["count"] = r.calls;
              d["total_ns"] = r.total_ns;
              d["self_ns"] = r.self_ns;
              out.append(d);
            }
            return out;
          },
          nb::arg("sort_by") = "total", "Per-name aggregates (dicts) sorted by sort_by.")
      .def("table", &profiler::Profile::table, nb::arg("sort_by") = "total", nb::arg("row_limit") = 20,
           "The aggregate table as text.")
      .def("chrome_trace", &profiler::Profile::chrome_trace, "The events as Chrome trace JSON.")
      .def("export_chrome_trace", &profiler::Profile::export_chrome_trace, nb::arg("path"),
           "Writes the Chrome trace JSON to path.");

  nb::class_<PyRecordFunction>(p, "RecordFunction", "A user range recorded while profiling is on.")
      .def(
          "__init__", [](PyRecordFunction* self, std::string name) { new (self) PyRecordFunction{std::move(name), {}}; },
          nb::arg("name"))
      .def(
          "enter",
          [](PyRecordFunction& self) {
            if (!self.range) self.range = std::make_unique<profiler::RecordFunction>(self.name);
          },
          "Opens the range.")
      .def(
          "exit", [](PyRecordFunction& self) { self.range.reset(); }, "Closes the range.")
      .def_prop_ro(
          "name", [](const PyRecordFunction& self) { return self.name; }, "The range's name.");
}

}  // namespace lamina::python

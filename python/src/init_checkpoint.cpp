// Checkpoints (lamina._lamina._checkpoint): the C++ Checkpointer with the model, loader and extra
// state reached through Python callables, so Python modules and loaders are checkpointed by the
// same code (and into the same files) as C++ ones.
#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>

#include "bind.h"
#include "lamina/train/checkpoint.h"

namespace lamina::python {

namespace {

nb::dict loader_state_dict(const data::LoaderState& s) {
  nb::dict d;
  d["seed"] = s.seed;
  d["epoch"] = s.epoch;
  d["batches_consumed"] = s.batches_consumed;
  return d;
}

data::LoaderState loader_state_from(nb::handle h) {
  nb::dict d = nb::cast<nb::dict>(h);
  return data::LoaderState{nb::cast<uint64_t>(d["seed"]), nb::cast<int64_t>(d["epoch"]),
                           nb::cast<int64_t>(d["batches_consumed"])};
}

nb::dict info_dict(const train::CheckpointInfo& info) {
  nb::dict d;
  d["path"] = info.path;
  d["step"] = info.step;
  d["epoch"] = info.epoch;
  d["config"] = info.config;
  d["run_info"] = info.run_info;
  return d;
}

}  // namespace

void init_checkpoint(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_checkpoint", "Training checkpoints (see lamina.train.Checkpointer).");
  using train::Checkpointer;
  nb::class_<Checkpointer>(sub, "Checkpointer", "Saves and restores training state in a directory.")
      .def(
          "__init__",
          [](Checkpointer* self, const std::string& directory, int64_t every_steps, double every_seconds, int keep_last,
             const std::string& prefix) {
            new (self)
                Checkpointer(directory, train::CheckpointerOptions{every_steps, every_seconds, keep_last, prefix});
          },
          nb::arg("directory"), nb::arg("every_steps") = 0, nb::arg("every_seconds") = 0.0, nb::arg("keep_last") = 3,
          nb::arg("prefix") = "checkpoint")
      .def(
          "track_model",
          [](Checkpointer& c, nb::object get, nb::object set) {
            c.track_model([get] { return nb::cast<io::TensorMap>(get()); },
                          [set](const io::TensorMap& state) { set(state); });
          },
          nb::arg("get"), nb::arg("set"), "get() -> [(name, Tensor)]; set([(name, Tensor)]) loads them.")
      .def("track_optimizer", &Checkpointer::track_optimizer, nb::arg("optimizer"), nb::keep_alive<1, 2>())
      .def("track_scheduler", &Checkpointer::track_scheduler, nb::arg("scheduler"), nb::keep_alive<1, 2>())
      .def(
          "track_loader",
          [](Checkpointer& c, nb::object get, nb::object set) {
            c.track_loader([get] { return loader_state_from(get()); },
                           [set](const data::LoaderState& s) { set(loader_state_dict(s)); });
          },
          nb::arg("get"), nb::arg("set"), "get() -> {seed, epoch, batches_consumed}; set(dict) restores it.")
      .def(
          "track_extra",
          [](Checkpointer& c, nb::object get, nb::object set) {
            c.track_extra([get] { return nb::cast<io::Metadata>(get()); }, [set](const io::Metadata& m) { set(m); });
          },
          nb::arg("get"), nb::arg("set"), "get() -> {str: str}; set(dict) restores it.")
      .def("set_config", &Checkpointer::set_config, nb::arg("json"))
      .def("due", &Checkpointer::due, nb::arg("step"))
      .def("maybe_save", &Checkpointer::maybe_save, nb::arg("step"), nb::arg("epoch") = 0)
      .def("save", &Checkpointer::save, nb::arg("step"), nb::arg("epoch") = 0)
      .def("list", &Checkpointer::list)
      .def("latest", &Checkpointer::latest)
      .def("path_for", &Checkpointer::path_for, nb::arg("step"))
      .def_prop_ro("directory", &Checkpointer::directory)
      .def(
          "load", [](Checkpointer& c, const std::string& path) { return info_dict(c.load(path)); }, nb::arg("path"))
      .def("load_latest", [](Checkpointer& c) -> nb::object {
        auto info = c.load_latest();
        if (!info) return nb::none();
        return info_dict(*info);
      });

  sub.def(
      "read_checkpoint",
      [](const std::string& path) {
        train::CheckpointData data = train::read_checkpoint(path);
        nb::dict d;
        d["step"] = data.step;
        d["epoch"] = data.epoch;
        nb::dict model;
        for (auto& [name, t] : data.model) model[name.c_str()] = t;
        d["model"] = model;
        d["optimizer"] = data.optimizer.has_value();
        d["scheduler"] = data.scheduler.has_value();
        d["loader"] = data.loader ? nb::object(loader_state_dict(*data.loader)) : nb::none();
        d["rng"] = nb::make_tuple(data.rng.seed, data.rng.offset);
        d["config"] = data.config;
        d["extra"] = data.extra;
        d["run_info"] = data.run_info;
        return d;
      },
      nb::arg("path"), "Reads a checkpoint file: step, epoch, model tensors, config, run info, ...");
}

}  // namespace lamina::python

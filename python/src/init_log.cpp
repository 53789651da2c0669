// Metrics and logs (lamina._lamina._log): structured log lines, CSVLogger and the TensorBoard
// SummaryWriter. The Python wrappers live in lamina/train/logging_utils.py and
// lamina/utils/tensorboard.py.
#include <nanobind/stl/map.h>

#include "bind.h"
#include "lamina/runtime/log.h"
#include "lamina/train/csv_logger.h"
#include "lamina/train/summary_writer.h"

namespace lamina::python {

namespace {

using logging::Field;
using logging::Level;

// A log field from a Python value: bool, int, float, str, anything else through str().
Field to_field(const std::string& key, nb::handle v) {
  if (PyBool_Check(v.ptr())) return Field(key, v.ptr() == Py_True);
  if (PyLong_Check(v.ptr())) {
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (!overflow) return Field(key, static_cast<int64_t>(x));
  }
  if (PyFloat_Check(v.ptr())) return Field(key, PyFloat_AsDouble(v.ptr()));
  return Field(key, nb::cast<std::string>(nb::str(v)));
}

// A hyper-parameter from a Python value: bool, str, or anything float() accepts.
train::HParamValue to_hparam(const std::string& key, nb::handle v) {
  if (PyBool_Check(v.ptr())) return train::HParamValue(std::in_place_type<bool>, v.ptr() == Py_True);
  if (PyUnicode_Check(v.ptr())) return train::HParamValue(std::in_place_type<std::string>, nb::cast<std::string>(v));
  PyObject* f = PyNumber_Float(v.ptr());
  if (!f) {
    PyErr_Clear();
    LAMINA_THROW(ValueError, "add_hparams", "hparam '", key, "' must be a bool, str, int or float, got ",
                 nb::cast<std::string>(nb::str(nb::handle(reinterpret_cast<PyObject*>(Py_TYPE(v.ptr()))))));
  }
  double d = PyFloat_AsDouble(f);
  Py_DECREF(f);
  return train::HParamValue(std::in_place_type<double>, d);
}

nb::dict histogram_dict(const train::Histogram& h) {
  nb::dict d;
  d["min"] = h.min;
  d["max"] = h.max;
  d["num"] = h.num;
  d["sum"] = h.sum;
  d["sum_squares"] = h.sum_squares;
  d["bucket_limit"] = h.bucket_limit;
  d["bucket"] = h.bucket;
  return d;
}

}  // namespace

void init_log(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_log", "Metrics and logs: log lines, CSVLogger, TensorBoard SummaryWriter.");

  sub.def(
      "parse_level", [](const std::string& s) { return logging::level_name(logging::parse_level(s)); }, nb::arg("name"),
      "The canonical name (DEBUG...OFF) of a level name; ConfigError for a bad one.");
  sub.def(
      "set_level", [](const std::string& s) { logging::set_level(logging::parse_level(s)); }, nb::arg("level"),
      "Sets the log threshold: debug|info|warning|error|off (overrides LAMINA_LOG_LEVEL).");
  sub.def(
      "get_level", []() { return logging::level_name(logging::level()); },
      "The current threshold's name (LAMINA_LOG_LEVEL at first use; ConfigError when it is bad).");
  sub.def("reset_level_from_env", &logging::reset_level_from_env,
          "Forgets set_level() and re-reads LAMINA_LOG_LEVEL at the next use.");
  sub.def(
      "enabled", [](const std::string& s) { return logging::enabled(logging::parse_level(s)); }, nb::arg("level"),
      "True when a line at this level would be printed.");
  sub.def(
      "write",
      [](const std::string& level, const std::string& component, const std::string& message, nb::dict fields) {
        Level l = logging::parse_level(level);
        if (!logging::enabled(l)) return;
        std::vector<Field> fs;
        for (auto [k, v] : fields) fs.push_back(to_field(nb::cast<std::string>(nb::str(k)), v));
        logging::write(l, component, message, fs);
      },
      nb::arg("level"), nb::arg("component"), nb::arg("message"), nb::arg("fields") = nb::dict(),
      "Writes '<time> LEVEL [component] message key=value ...' to stderr when the level is enabled.");
  sub.def(
      "format_line",
      [](const std::string& level, const std::string& component, const std::string& message, nb::dict fields,
         int64_t unix_ms) {
        std::vector<Field> fs;
        for (auto [k, v] : fields) fs.push_back(to_field(nb::cast<std::string>(nb::str(k)), v));
        return logging::format_line(logging::parse_level(level), component, message, fs, unix_ms);
      },
      nb::arg("level"), nb::arg("component"), nb::arg("message"), nb::arg("fields"), nb::arg("unix_ms"),
      "The line write() would print at the given time (milliseconds since the epoch), without newline.");

  nb::class_<train::CSVLogger>(sub, "CSVLogger", "Writes one CSV row per log(step, metrics) call, flushed.")
      .def(nb::init<std::string, bool, std::optional<std::vector<std::string>>>(), nb::arg("path"),
           nb::arg("append") = false, nb::arg("fieldnames") = nb::none())
      .def("log", &train::CSVLogger::log, nb::arg("step"), nb::arg("metrics"),
           "Appends a row; a metric that is not a column raises ValueError naming it.")
      .def_prop_ro("fieldnames", &train::CSVLogger::fieldnames, "The metric columns after 'step'.")
      .def_prop_ro("path", &train::CSVLogger::path, "The file's path.")
      .def("close", &train::CSVLogger::close, "Flushes and closes the file.");

  sub.def("default_histogram_edges", &train::default_histogram_edges,
          "TensorBoard's default bucket edges (bins='tensorflow').");
  sub.def(
      "make_histogram",
      [](std::vector<double> values, std::vector<double> edges) {
        return histogram_dict(train::make_histogram(values, edges));
      },
      nb::arg("values"), nb::arg("edges"), "The HistogramProto fields for values over edges, as a dict.");

  nb::class_<train::SummaryWriter>(sub, "SummaryWriter", "Writes TensorBoard event files.")
      .def(
          "__init__",
          [](train::SummaryWriter* self, const std::string& log_dir, const std::string& comment,
             const std::string& filename_suffix, double flush_secs, int64_t max_queue,
             std::optional<int64_t> purge_step) {
            train::SummaryWriterOptions o;
            o.comment = comment;
            o.filename_suffix = filename_suffix;
            o.flush_secs = flush_secs;
            o.max_queue = max_queue;
            o.purge_step = purge_step;
            new (self) train::SummaryWriter(log_dir, o);
          },
          nb::arg("log_dir") = "", nb::arg("comment") = "", nb::arg("filename_suffix") = "",
          nb::arg("flush_secs") = 120.0, nb::arg("max_queue") = 10, nb::arg("purge_step") = nb::none())
      .def("add_scalar", &train::SummaryWriter::add_scalar, nb::arg("tag"), nb::arg("value"), nb::arg("step") = 0,
           nb::arg("wall_time") = nb::none(), "A scalar summary (float32).")
      .def("add_scalars", &train::SummaryWriter::add_scalars, nb::arg("main_tag"), nb::arg("values"),
           nb::arg("step") = 0, nb::arg("wall_time") = nb::none(), "Scalars in runs <log_dir>/<main_tag>_<key>.")
      .def(
          "add_histogram",
          [](train::SummaryWriter& w, const std::string& tag, nb::handle values, int64_t step, int64_t bins,
             std::optional<double> wall_time) {
            w.add_histogram(tag, to_tensor_operand(values), step, bins, wall_time);
          },
          nb::arg("tag"), nb::arg("values"), nb::arg("step") = 0, nb::arg("bins") = 0,
          nb::arg("wall_time") = nb::none(), "A histogram; bins <= 0: TensorBoard's default buckets.")
      .def(
          "add_histogram_edges",
          [](train::SummaryWriter& w, const std::string& tag, nb::handle values, std::vector<double> edges,
             int64_t step, std::optional<double> wall_time) {
            Tensor t = to_tensor_operand(values).to(kCPU).to(Dtype::Float64).contiguous();
            const double* p = t.data<double>();
            w.add_histogram_edges(tag, std::vector<double>(p, p + t.numel()), edges, step, wall_time);
          },
          nb::arg("tag"), nb::arg("values"), nb::arg("edges"), nb::arg("step") = 0, nb::arg("wall_time") = nb::none(),
          "A histogram over explicit ascending bucket edges.")
      .def("add_text", &train::SummaryWriter::add_text, nb::arg("tag"), nb::arg("text"), nb::arg("step") = 0,
           nb::arg("wall_time") = nb::none(), "Text under <tag>/text_summary (text plugin).")
      .def(
          "add_hparams",
          [](train::SummaryWriter& w, nb::dict hparams, std::map<std::string, double> metrics,
             const std::string& run_name, int64_t step) {
            std::map<std::string, train::HParamValue> hp;
            for (auto [k, v] : hparams) {
              std::string key = nb::cast<std::string>(nb::str(k));
              hp.emplace(key, to_hparam(key, v));
            }
            w.add_hparams(hp, metrics, run_name, step);
          },
          nb::arg("hparams"), nb::arg("metrics"), nb::arg("run_name") = "", nb::arg("step") = 0,
          "One hparams session (experiment, start, end, metric scalars) in <log_dir>/<run_name>.")
      .def("flush", &train::SummaryWriter::flush, "Writes buffered events to disk.")
      .def("close", &train::SummaryWriter::close, "Flushes and closes the event files.")
      .def_prop_ro("log_dir", &train::SummaryWriter::log_dir, "The log directory.")
      .def_prop_ro("file_path", &train::SummaryWriter::file_path, "The main event file's path.");
}

}  // namespace lamina::python

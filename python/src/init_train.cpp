// Training helpers: metrics and seeding (re-exported as lamina.metrics and lamina.train). Inputs
// may be lamina Tensors, NumPy arrays or nested lists; the C++ metrics validate them.
#include "bind.h"
#include "lamina/train/metrics.h"
#include "lamina/train/seed.h"

namespace lamina::python {

namespace {

nb::dict summary_dict(const metrics::Summary& s) {
  nb::dict d;
  d["loss"] = s.loss;
  d["accuracy"] = s.accuracy;
  d["samples"] = s.samples;
  d["correct"] = s.correct;
  d["confusion_matrix"] = s.confusion.defined() ? nb::cast(s.confusion) : nb::none();
  return d;
}

}  // namespace

void init_train(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_train", "Training helpers (re-exported as lamina.train).");
  sub.def(
      "accuracy",
      [](nb::handle input, nb::handle target) {
        return metrics::accuracy(to_tensor_operand(input), to_tensor_operand(target));
      },
      nb::arg("input"), nb::arg("target"),
      "Fraction of samples whose prediction equals the target; `input` is class scores (N, C, ...) "
      "(argmax over dim 1) or integer predictions shaped like `target`.");
  sub.def(
      "correct_count",
      [](nb::handle input, nb::handle target) {
        return metrics::correct_count(to_tensor_operand(input), to_tensor_operand(target));
      },
      nb::arg("input"), nb::arg("target"), "Number of correct predictions (accuracy's numerator).");
  sub.def(
      "top_k_accuracy",
      [](nb::handle input, nb::handle target, int64_t k) {
        return metrics::top_k_accuracy(to_tensor_operand(input), to_tensor_operand(target), k);
      },
      nb::arg("input"), nb::arg("target"), nb::arg("k"),
      "Fraction of samples whose target is among the k highest of the scores (N, C).");
  sub.def(
      "confusion_matrix",
      [](nb::handle input, nb::handle target, int64_t num_classes) {
        return metrics::confusion_matrix(to_tensor_operand(input), to_tensor_operand(target), num_classes);
      },
      nb::arg("input"), nb::arg("target"), nb::arg("num_classes"),
      "(num_classes, num_classes) int64 counts, rows the true class and columns the predicted one.");

  nb::class_<metrics::Accumulator>(sub, "Accumulator", "Streaming loss / accuracy / confusion matrix over batches.")
      .def(nb::init<int64_t>(), nb::arg("num_classes") = 0)
      .def(
          "update",
          [](metrics::Accumulator& a, nb::handle input, nb::handle target, std::optional<double> loss) {
            return a.update(to_tensor_operand(input), to_tensor_operand(target), loss);
          },
          nb::arg("input"), nb::arg("target"), nb::arg("loss") = nb::none(),
          "Adds a batch (scores or predictions, targets, its mean loss); returns its correct count.")
      .def("add_loss", &metrics::Accumulator::add_loss, nb::arg("loss"), nb::arg("samples"),
           "Adds a batch's mean loss over `samples` samples without predictions.")
      .def("compute", [](const metrics::Accumulator& a) { return summary_dict(a.compute()); },
           "The totals: dict with loss, accuracy, samples, correct, confusion_matrix.")
      .def("reset", &metrics::Accumulator::reset, "Starts over.")
      .def_prop_ro("samples", &metrics::Accumulator::samples, "Samples seen so far.")
      .def_prop_ro("correct", &metrics::Accumulator::correct, "Correct predictions so far.")
      .def_prop_ro("mean_loss", &metrics::Accumulator::mean_loss, "Mean loss per sample so far.")
      .def_prop_ro("accuracy", &metrics::Accumulator::accuracy, "Fraction correct so far.")
      .def_prop_ro("num_classes", &metrics::Accumulator::num_classes, "Confusion matrix size (0: none).");

  sub.def("seed_everything", &train::seed_everything, nb::arg("seed") = nb::none(),
          "Seeds lamina's global generator (a random seed when None) and records it; returns the seed.");
  sub.def("recorded_seed", &train::recorded_seed, "The seed of the last seed_everything call, or None.");
}

}  // namespace lamina::python

#include "lamina/train/metrics.h"

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/reduce.h"
#include "lamina/ops/sort.h"

namespace lamina::metrics {

namespace {

void check_targets(const Tensor& input, const Tensor& targets, const char* op) {
  LAMINA_CHECK(input.defined() && targets.defined(), ValueError, op, "input and targets must be defined");
  LAMINA_CHECK(is_integral(targets.dtype()), DTypeError, op, "targets must hold integer class indices, got ",
               dtype_name(targets.dtype()));
}

// The predicted class of each sample as int64, shaped like targets: the argmax over the class
// dim (1, or 0 for a single sample) when `input` holds scores, else the integer predictions.
Tensor predictions(const Tensor& input, const Tensor& targets, const char* op) {
  check_targets(input, targets, op);
  if (input.dim() == targets.dim() + 1) {
    const int64_t class_dim = input.dim() == 1 ? 0 : 1;
    Shape rest;
    for (int64_t d = 0; d < input.dim(); ++d)
      if (d != class_dim) rest.push_back(input.size(d));
    LAMINA_CHECK(rest == targets.shape(), ShapeError, op, "scores of shape ", input.shape(),
                 " (classes along dim ", class_dim, ") do not match targets of shape ", targets.shape());
    LAMINA_CHECK(input.size(class_dim) > 0, ShapeError, op, "scores of shape ", input.shape(), " have no classes");
    return argmax(input, class_dim);
  }
  LAMINA_CHECK(input.dim() == targets.dim(), ShapeError, op, "input of shape ", input.shape(),
               " must be class scores (N, C, ...) or predictions shaped like targets ", targets.shape());
  LAMINA_CHECK(input.shape() == targets.shape(), ShapeError, op, "predictions of shape ", input.shape(),
               " do not match targets of shape ", targets.shape());
  LAMINA_CHECK(is_integral(input.dtype()), DTypeError, op, "predictions shaped like the targets must be integer "
               "class indices, got ", dtype_name(input.dtype()), "; pass scores shaped (N, C) instead");
  return input.to(Dtype::Int64);
}

int64_t count_equal(const Tensor& preds, const Tensor& targets) {
  if (preds.numel() == 0) return 0;
  return sum(eq(preds, targets)).item<int64_t>();
}

// Counts (target, prediction) pairs by scattering ones into target * C + prediction.
Tensor confusion_from_preds(const Tensor& preds, const Tensor& targets, int64_t num_classes, const char* op) {
  LAMINA_CHECK(num_classes >= 1, ValueError, op, "num_classes must be at least 1, got ", num_classes);
  const Tensor t = targets.to(Dtype::Int64).reshape({-1});
  const Tensor p = preds.reshape({-1});
  Tensor counts = zeros({num_classes * num_classes}, {Dtype::Int64, preds.device()});
  if (t.numel() > 0) {
    const int64_t t_lo = amin(t).item<int64_t>(), t_hi = amax(t).item<int64_t>();
    LAMINA_CHECK(t_lo >= 0 && t_hi < num_classes, ValueError, op, "targets must lie in [0, ", num_classes,
                 "), found values from ", t_lo, " to ", t_hi);
    const int64_t p_lo = amin(p).item<int64_t>(), p_hi = amax(p).item<int64_t>();
    LAMINA_CHECK(p_lo >= 0 && p_hi < num_classes, ValueError, op, "predictions must lie in [0, ", num_classes,
                 "), found values from ", p_lo, " to ", p_hi);
    index_put_(counts, {add(mul(t, Scalar(num_classes)), p)}, ones({t.numel()}, {Dtype::Int64, preds.device()}),
               true);
  }
  return counts.view({num_classes, num_classes});
}

}  // namespace

int64_t correct_count(const Tensor& input, const Tensor& targets) {
  autograd::NoGradGuard no_grad;
  return count_equal(predictions(input, targets, "correct_count"), targets);
}

double accuracy(const Tensor& input, const Tensor& targets) {
  autograd::NoGradGuard no_grad;
  const Tensor preds = predictions(input, targets, "accuracy");
  LAMINA_CHECK(preds.numel() > 0, ValueError, "accuracy", "no samples: targets of shape ", targets.shape());
  return static_cast<double>(count_equal(preds, targets)) / static_cast<double>(preds.numel());
}

double top_k_accuracy(const Tensor& logits, const Tensor& targets, int64_t k) {
  const char* op = "top_k_accuracy";
  autograd::NoGradGuard no_grad;
  check_targets(logits, targets, op);
  LAMINA_CHECK(logits.dim() == 2 && targets.dim() == 1 && logits.size(0) == targets.size(0), ShapeError, op,
               "expected scores (N, C) and targets (N,), got ", logits.shape(), " and ", targets.shape());
  LAMINA_CHECK(k >= 1 && k <= logits.size(1), ValueError, op, "k must lie in [1, ", logits.size(1), "], got ", k);
  LAMINA_CHECK(targets.numel() > 0, ValueError, op, "no samples: targets of shape ", targets.shape());
  const Tensor top = topk(logits, k, 1).indices;
  const Tensor hit = any(eq(top, targets.to(Dtype::Int64).unsqueeze(1)), std::vector<int64_t>{1});
  return static_cast<double>(sum(hit).item<int64_t>()) / static_cast<double>(targets.numel());
}

Tensor confusion_matrix(const Tensor& input, const Tensor& targets, int64_t num_classes) {
  autograd::NoGradGuard no_grad;
  return confusion_from_preds(predictions(input, targets, "confusion_matrix"), targets, num_classes,
                              "confusion_matrix");
}

Accumulator::Accumulator(int64_t num_classes) : num_classes_(num_classes) {
  LAMINA_CHECK(num_classes >= 0, ValueError, "Accumulator", "num_classes must be >= 0, got ", num_classes);
}

int64_t Accumulator::update(const Tensor& input, const Tensor& targets, std::optional<double> mean_loss) {
  autograd::NoGradGuard no_grad;
  const Tensor preds = predictions(input, targets, "Accumulator.update");
  // Validate everything before touching the totals, so a bad batch leaves them unchanged.
  Tensor batch_confusion;
  if (num_classes_ > 0) batch_confusion = confusion_from_preds(preds, targets, num_classes_, "Accumulator.update");
  const int64_t correct = count_equal(preds, targets);
  if (batch_confusion.defined())
    confusion_ = confusion_.defined() ? add(confusion_, batch_confusion) : batch_confusion;
  samples_ += preds.numel();
  correct_ += correct;
  if (mean_loss) add_loss(*mean_loss, preds.numel());
  return correct;
}

void Accumulator::add_loss(double mean_loss, int64_t samples) {
  LAMINA_CHECK(samples >= 0, ValueError, "Accumulator.add_loss", "samples must be >= 0, got ", samples);
  loss_sum_ += mean_loss * static_cast<double>(samples);
  loss_samples_ += samples;
}

Summary Accumulator::compute() const {
  LAMINA_CHECK(samples_ > 0 || loss_samples_ > 0, ValueError, "Accumulator.compute",
               "no batches were added since the last reset");
  Summary s;
  s.loss = mean_loss();
  s.accuracy = accuracy();
  s.samples = samples_ > 0 ? samples_ : loss_samples_;
  s.correct = correct_;
  if (num_classes_ > 0)
    s.confusion = confusion_.defined() ? confusion_.clone() : zeros({num_classes_, num_classes_}, {Dtype::Int64});
  return s;
}

void Accumulator::reset() {
  samples_ = correct_ = loss_samples_ = 0;
  loss_sum_ = 0.0;
  confusion_ = Tensor();  // created on the first batch's device
}

}  // namespace lamina::metrics

#pragma once
// Classification metrics (lamina.metrics in Python): accuracy, top-k accuracy, the confusion
// matrix, and an accumulator that sums them over the batches of an epoch. They compose lamina
// ops, so they run wherever the tensors live; inputs are validated once at entry.
#include <cstdint>
#include <optional>

#include "lamina/core/tensor.h"

namespace lamina::metrics {

/// Fraction of samples whose prediction equals the target. `input` is either class scores
/// (N, C, ...) with targets (N, ...) — the prediction is the argmax over dim 1, as for
/// cross_entropy — or integer predictions shaped like the integer targets. ShapeError /
/// DTypeError for mismatched inputs, ValueError when there are no samples.
double accuracy(const Tensor& input, const Tensor& targets);

/// Number of samples whose prediction equals the target (accuracy's numerator, same rules).
int64_t correct_count(const Tensor& input, const Tensor& targets);

/// Fraction of samples whose target is among the k highest scores of `logits` (N, C) for
/// targets (N,). ValueError unless 1 <= k <= C.
double top_k_accuracy(const Tensor& logits, const Tensor& targets, int64_t k);

/// (num_classes, num_classes) int64 counts: row = true class, column = predicted class.
/// `input` is predictions or class scores (as for accuracy). ValueError for a class outside
/// [0, num_classes) or num_classes < 1.
Tensor confusion_matrix(const Tensor& input, const Tensor& targets, int64_t num_classes);

/// Loss, accuracy and (optionally) the confusion matrix summed over batches.
struct Summary {
  /// Mean loss per sample (0 when no loss was given).
  double loss = 0.0;
  /// Fraction of correct predictions.
  double accuracy = 0.0;
  /// Samples seen.
  int64_t samples = 0;
  /// Correct predictions.
  int64_t correct = 0;
  /// (C, C) int64 counts; undefined unless the accumulator was built with num_classes.
  Tensor confusion;
};

/// Streaming metrics: update() per batch, compute() at the end of the epoch.
class Accumulator {
 public:
  /// With num_classes > 0 the confusion matrix is accumulated too (ValueError if negative).
  explicit Accumulator(int64_t num_classes = 0);
  /// Adds one batch: predictions or scores, targets and, optionally, the batch's mean loss
  /// (weighted by the batch size). Returns the batch's correct count.
  int64_t update(const Tensor& input, const Tensor& targets, std::optional<double> mean_loss = std::nullopt);
  /// Adds a batch's mean loss over `samples` samples without predictions (e.g. regression).
  void add_loss(double mean_loss, int64_t samples);
  /// The totals so far; ValueError when nothing was added.
  Summary compute() const;
  /// Starts over.
  void reset();
  /// Samples seen so far.
  int64_t samples() const { return samples_; }
  /// Correct predictions so far.
  int64_t correct() const { return correct_; }
  /// Mean loss per sample so far (0 before any loss).
  double mean_loss() const { return loss_samples_ ? loss_sum_ / static_cast<double>(loss_samples_) : 0.0; }
  /// Fraction correct so far (0 before any sample).
  double accuracy() const { return samples_ ? static_cast<double>(correct_) / static_cast<double>(samples_) : 0.0; }
  /// The number of classes of the confusion matrix (0: none).
  int64_t num_classes() const { return num_classes_; }

 private:
  int64_t num_classes_;
  int64_t samples_ = 0;
  int64_t correct_ = 0;
  double loss_sum_ = 0.0;
  int64_t loss_samples_ = 0;
  Tensor confusion_;
};

}  // namespace lamina::metrics

#pragma once
// Training helpers: train_epoch, evaluate and a small fit loop with callbacks, a progress bar
// and an optional LR scheduler. Batches come from any range of std::vector<Tensor> = {inputs,
// targets, ...} (data::DataLoader, a std::vector of batches, ...), seen through BatchSource.
#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/core/tensor.h"
#include "lamina/nn/loss.h"
#include "lamina/nn/module.h"
#include "lamina/optim/lr_scheduler.h"
#include "lamina/optim/optimizer.h"
#include "lamina/train/checkpoint.h"
#include "lamina/train/progress.h"

namespace lamina::train {

/// One batch: {inputs, targets, ...} (the same type as data::Batch).
using Batch = std::vector<Tensor>;

/// A range-for-able container of batches: begin()/end() whose elements bind to `const Batch&`
/// (data::DataLoader, std::vector<Batch>, ...).
template <class R>
concept BatchRange = requires(R& r) {
  { *r.begin() } -> std::convertible_to<const Batch&>;
  { r.begin() != r.end() } -> std::convertible_to<bool>;
};

/// A pass over batches without knowing the container: wraps a reference to any BatchRange. The
/// range must outlive the BatchSource.
class BatchSource {
 public:
  /// Wraps `range` (by reference); its size() is used when it has one that answers.
  template <BatchRange R>
  BatchSource(R& range)  // NOLINT(google-explicit-constructor): any loader passes as a source.
      : for_each_([&range](const std::function<void(const Batch&)>& visit) {
          for (const Batch& b : range) visit(b);
        }) {
    if constexpr (requires { range.size(); }) {
      try {
        size_ = static_cast<int64_t>(range.size());
      } catch (const NotImplementedError&) {  // a stream of unknown length
        size_ = 0;
      }
    }
  }
  /// Calls `visit` on each batch of one pass, in order.
  void for_each(const std::function<void(const Batch&)>& visit) const { for_each_(visit); }
  /// The number of batches per pass, or 0 when unknown.
  int64_t size() const { return size_; }

 private:
  std::function<void(const std::function<void(const Batch&)>&)> for_each_;
  int64_t size_ = 0;
};

/// A loss: an nn::Loss module (held by reference) or any callable (output, target) -> loss.
class LossFn {
 public:
  /// Calls `loss` (which must outlive this LossFn).
  LossFn(nn::Loss& loss)  // NOLINT(google-explicit-constructor)
      : fn_([&loss](const Tensor& output, const Tensor& target) { return loss(output, target); }) {}
  /// Wraps a callable such as nn::functional::cross_entropy in a lambda.
  template <class F>
    requires(!std::derived_from<std::remove_cvref_t<F>, nn::Loss> &&
             std::is_invocable_r_v<Tensor, F&, const Tensor&, const Tensor&>)
  LossFn(F fn) : fn_(std::move(fn)) {}  // NOLINT(google-explicit-constructor)
  /// The loss of `output` against `target`.
  Tensor operator()(const Tensor& output, const Tensor& target) const { return fn_(output, target); }

 private:
  std::function<Tensor(const Tensor&, const Tensor&)> fn_;
};

/// What on_batch_end sees after each training step.
struct BatchMetrics {
  /// The epoch, from 1.
  int64_t epoch = 1;
  /// Steps done in this epoch, from 1.
  int64_t step = 0;
  /// Steps done in the run (under fit: counting a resumed run's earlier steps).
  int64_t global_step = 0;
  /// Steps per epoch, 0 when unknown.
  int64_t total_steps = 0;
  /// Samples in this batch.
  int64_t batch_size = 0;
  /// This batch's loss.
  double loss = 0.0;
  /// This batch's accuracy (nullopt unless the outputs are class scores for integer targets).
  std::optional<double> accuracy;
  /// Mean loss per sample so far in the epoch.
  double running_loss = 0.0;
  /// Accuracy so far in the epoch (nullopt as for accuracy).
  std::optional<double> running_accuracy;
  /// Samples so far in the epoch.
  int64_t samples = 0;
  /// Training throughput so far in the epoch.
  double samples_per_second = 0.0;
  /// The first parameter group's learning rate used for this step.
  double lr = 0.0;
};

/// The result of evaluate().
struct EvalResult {
  /// Mean loss per sample.
  double loss = 0.0;
  /// Fraction of correct predictions (nullopt unless the outputs are class scores).
  std::optional<double> accuracy;
  /// Samples evaluated.
  int64_t samples = 0;
  /// (C, C) int64 counts (rows: true class), when num_classes was given.
  Tensor confusion;
};

/// What on_epoch_end sees, and one entry of fit's history.
struct EpochMetrics {
  /// The epoch, from 1.
  int64_t epoch = 1;
  /// Mean training loss per sample.
  double loss = 0.0;
  /// Training accuracy (nullopt unless classification).
  std::optional<double> accuracy;
  /// Training samples seen.
  int64_t samples = 0;
  /// Wall time of the training pass.
  double seconds = 0.0;
  /// Training throughput.
  double samples_per_second = 0.0;
  /// The first parameter group's learning rate during the epoch's last step.
  double lr = 0.0;
  /// The validation result, when fit had a val_loader.
  std::optional<EvalResult> val;
};

/// Per-step and per-epoch hooks; either may be empty.
struct Callbacks {
  /// Called after every optimizer step.
  std::function<void(const BatchMetrics&)> on_batch_end;
  /// Called after each epoch (and its validation); return true to stop training.
  std::function<bool(const EpochMetrics&)> on_epoch_end;
};

/// Settings of one training pass.
struct EpochOptions {
  /// The epoch number, from 1 (shown in the progress bar and metrics).
  int64_t epoch = 1;
  /// The planned number of epochs, for "epoch 2/5" (0: not shown).
  int64_t epochs = 0;
  /// Draw a progress bar.
  bool progress = true;
  /// Where and how the progress bar draws.
  ProgressOptions progress_options;
  /// Called after every optimizer step.
  std::function<void(const BatchMetrics&)> on_batch_end;
  /// Stepped after every optimizer step (per-iteration schedules such as OneCycleLR).
  optim::LRScheduler* batch_scheduler = nullptr;
  /// Clip the gradients' total 2-norm to this before each step.
  std::optional<double> clip_grad_norm;
};

/// Settings of evaluate().
struct EvalOptions {
  /// Accumulate a (C, C) confusion matrix when > 0.
  int64_t num_classes = 0;
  /// Draw a progress bar.
  bool progress = false;
  /// Where and how the progress bar draws.
  ProgressOptions progress_options;
};

/// Settings of fit().
struct FitOptions {
  /// Evaluated after every epoch when set.
  std::optional<BatchSource> val_loader;
  /// on_batch_end / on_epoch_end.
  Callbacks callbacks;
  /// Draw a progress bar per epoch (validation results end its line).
  bool progress = true;
  /// Where and how the progress bars draw.
  ProgressOptions progress_options;
  /// Stepped once per epoch (after validation), or after every step with scheduler_per_batch.
  optim::LRScheduler* scheduler = nullptr;
  /// Step the scheduler after every optimizer step instead of every epoch.
  bool scheduler_per_batch = false;
  /// Confusion matrix size for validation (0: none).
  int64_t num_classes = 0;
  /// Clip the gradients' total 2-norm to this before each step.
  std::optional<double> clip_grad_norm;
  /// Gets maybe_save(step, epochs done) after every optimizer step and each epoch, and a final
  /// save (not owned; it should track this model, optimizer, scheduler and loader).
  Checkpointer* checkpointer = nullptr;
  /// Epochs already completed: a resumed run starts at the next one (its loader resumes
  /// mid-epoch when the checkpoint was saved there). See resume().
  int64_t start_epoch = 0;
  /// Optimizer steps already taken by a resumed run.
  int64_t start_step = 0;
};

/// Loads the newest checkpoint of options.checkpointer (when there is one) and sets
/// start_epoch / start_step from it; returns the loaded file's info.
std::optional<CheckpointInfo> resume(FitOptions& options);

/// One pass of training: for each batch {inputs, targets}: zero_grad, forward, loss, backward,
/// step. Puts the model in training mode. The loss should be a per-batch mean (it is weighted
/// by the batch size). ValueError for a batch with fewer than two tensors, ShapeError for a
/// non-scalar loss.
EpochMetrics train_epoch(nn::Module& model, const LossFn& loss_fn, optim::Optimizer& optimizer,
                         const BatchSource& loader, const EpochOptions& options = {});

/// The model's mean loss and accuracy over `loader` in eval mode without recording graphs;
/// the model's training mode is restored afterwards.
EvalResult evaluate(nn::Module& model, const LossFn& loss_fn, const BatchSource& loader,
                    const EvalOptions& options = {});

/// Trains for `epochs` epochs (ValueError if negative; epochs after options.start_epoch), validating
/// after each when a val_loader is given; returns one EpochMetrics per epoch run.
std::vector<EpochMetrics> fit(nn::Module& model, const LossFn& loss_fn, optim::Optimizer& optimizer,
                              const BatchSource& train_loader, int64_t epochs, const FitOptions& options = {});

}  // namespace lamina::train

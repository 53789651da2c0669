#include "lamina/train/trainer.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/nn/utils.h"
#include "lamina/train/metrics.h"

namespace lamina::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double first_lr(const optim::Optimizer& optimizer) {
  const auto& groups = optimizer.param_groups();
  return groups.empty() ? 0.0 : groups.front().number("lr");
}

// Accuracy is defined when the outputs are class scores (N, C, ...) for integer targets.
bool is_classification(const Tensor& output, const Tensor& targets) {
  return is_integral(targets.dtype()) && output.dim() == targets.dim() + 1;
}

void check_batch(const Batch& batch, const char* op) {
  LAMINA_CHECK(batch.size() >= 2, ValueError, op, "a batch must hold {inputs, targets}, got ", batch.size(),
               " tensor(s)");
  LAMINA_CHECK(batch[0].defined() && batch[1].defined(), ValueError, op, "batch inputs and targets must be defined");
}

int64_t batch_samples(const Tensor& inputs) { return inputs.dim() == 0 ? 1 : inputs.size(0); }

double scalar_loss(const Tensor& loss, const char* op) {
  LAMINA_CHECK(loss.defined() && loss.numel() == 1, ShapeError, op,
               "the loss must be a single value (reduction 'mean' or 'sum'), got shape ",
               loss.defined() ? loss.shape() : Shape{});
  return loss.item<double>();
}

std::string describe(int64_t epoch, int64_t epochs) {
  std::string s = "epoch " + std::to_string(epoch);
  if (epochs > 0) s.append("/").append(std::to_string(epochs));
  return s;
}

std::string format_eval(const EvalResult& r) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "val_loss %.4f", r.loss);
  std::string s = buf;
  if (r.accuracy) {
    std::snprintf(buf, sizeof buf, " val_acc %.4f", *r.accuracy);
    s += buf;
  }
  return s;
}

// One training pass drawing into `bar` (may be null); the caller closes the bar.
EpochMetrics run_epoch(nn::Module& model, const LossFn& loss_fn, optim::Optimizer& optimizer, const BatchSource& loader,
                       const EpochOptions& options, ProgressBar* bar) {
  const char* op = "train_epoch";
  model.train();
  metrics::Accumulator totals;
  BatchMetrics m;
  m.epoch = options.epoch;
  m.total_steps = loader.size();
  bool classification = true;
  const auto start = Clock::now();
  loader.for_each([&](const Batch& batch) {
    check_batch(batch, op);
    const Tensor& inputs = batch[0];
    const Tensor& targets = batch[1];
    optimizer.zero_grad();
    const Tensor output = model(inputs);
    const Tensor loss = loss_fn(output, targets);
    const double loss_value = scalar_loss(loss, op);
    m.lr = first_lr(optimizer);
    autograd::backward({loss});
    if (options.clip_grad_norm) nn::utils::clip_grad_norm_(model.parameters(), *options.clip_grad_norm);
    optimizer.step();
    if (options.batch_scheduler) options.batch_scheduler->step();

    m.batch_size = batch_samples(inputs);
    classification = classification && is_classification(output, targets);
    if (classification) {
      const int64_t correct = totals.update(output, targets, loss_value);
      m.accuracy = targets.numel() ? static_cast<double>(correct) / static_cast<double>(targets.numel()) : 0.0;
      m.running_accuracy = totals.accuracy();
    } else {
      totals.add_loss(loss_value, m.batch_size);
      m.accuracy = m.running_accuracy = std::nullopt;
    }
    ++m.step;
    m.global_step = m.step;
    m.loss = loss_value;
    m.running_loss = totals.mean_loss();
    m.samples += m.batch_size;
    const double elapsed = seconds_since(start);
    m.samples_per_second = elapsed > 0 ? static_cast<double>(m.samples) / elapsed : 0.0;
    if (bar) bar->update(m.step, m.samples, m.running_loss, m.running_accuracy);
    if (options.on_batch_end) options.on_batch_end(m);
  });
  EpochMetrics e;
  e.epoch = options.epoch;
  e.loss = totals.mean_loss();
  e.accuracy = m.step > 0 && classification ? std::optional<double>(totals.accuracy()) : std::nullopt;
  e.samples = m.samples;
  e.seconds = seconds_since(start);
  e.samples_per_second = e.seconds > 0 ? static_cast<double>(e.samples) / e.seconds : 0.0;
  e.lr = m.step > 0 ? m.lr : first_lr(optimizer);
  return e;
}

// Restores a module's training mode on scope exit.
class TrainingModeGuard {
 public:
  explicit TrainingModeGuard(nn::Module& model) : model_(model), was_training_(model.is_training()) {}
  ~TrainingModeGuard() { model_.train(was_training_); }
  TrainingModeGuard(const TrainingModeGuard&) = delete;
  TrainingModeGuard& operator=(const TrainingModeGuard&) = delete;

 private:
  nn::Module& model_;
  bool was_training_;
};

}  // namespace

EpochMetrics train_epoch(nn::Module& model, const LossFn& loss_fn, optim::Optimizer& optimizer,
                         const BatchSource& loader, const EpochOptions& options) {
  std::unique_ptr<ProgressBar> bar;
  if (options.progress)
    bar =
        std::make_unique<ProgressBar>(describe(options.epoch, options.epochs), loader.size(), options.progress_options);
  EpochMetrics e = run_epoch(model, loss_fn, optimizer, loader, options, bar.get());
  if (bar) bar->close();
  return e;
}

EvalResult evaluate(nn::Module& model, const LossFn& loss_fn, const BatchSource& loader, const EvalOptions& options) {
  const char* op = "evaluate";
  TrainingModeGuard mode(model);
  model.eval();
  autograd::NoGradGuard no_grad;
  metrics::Accumulator totals(options.num_classes);
  std::unique_ptr<ProgressBar> bar;
  if (options.progress) bar = std::make_unique<ProgressBar>("eval", loader.size(), options.progress_options);
  bool classification = true;
  int64_t steps = 0, samples = 0;
  loader.for_each([&](const Batch& batch) {
    check_batch(batch, op);
    const Tensor output = model(batch[0]);
    const double loss_value = scalar_loss(loss_fn(output, batch[1]), op);
    const int64_t n = batch_samples(batch[0]);
    classification = classification && is_classification(output, batch[1]);
    if (classification)
      totals.update(output, batch[1], loss_value);
    else
      totals.add_loss(loss_value, n);
    samples += n;
    ++steps;
    if (bar)
      bar->update(steps, samples, totals.mean_loss(), classification ? std::optional(totals.accuracy()) : std::nullopt);
  });
  if (bar) bar->close();
  LAMINA_CHECK(samples > 0, ValueError, op, "the loader gave no batches");
  EvalResult r;
  r.loss = totals.mean_loss();
  if (classification) r.accuracy = totals.accuracy();
  r.samples = samples;
  if (classification && options.num_classes > 0) r.confusion = totals.compute().confusion;
  return r;
}

std::optional<CheckpointInfo> resume(FitOptions& options) {
  LAMINA_CHECK(options.checkpointer != nullptr, ValueError, "fit", "resume needs options.checkpointer");
  std::optional<CheckpointInfo> info = options.checkpointer->load_latest();
  if (info) {
    options.start_epoch = info->epoch;
    options.start_step = info->step;
  }
  return info;
}

std::vector<EpochMetrics> fit(nn::Module& model, const LossFn& loss_fn, optim::Optimizer& optimizer,
                              const BatchSource& train_loader, int64_t epochs, const FitOptions& options) {
  LAMINA_CHECK(epochs >= 0, ValueError, "fit", "epochs must be >= 0, got ", epochs);
  LAMINA_CHECK(options.start_epoch >= 0 && options.start_step >= 0, ValueError, "fit",
               "start_epoch and start_step must be >= 0, got ", options.start_epoch, " and ", options.start_step);
  std::vector<EpochMetrics> history;
  int64_t step = options.start_step, done = options.start_epoch;
  EpochOptions epoch_options;
  epoch_options.epochs = epochs;
  epoch_options.on_batch_end = [&](const BatchMetrics& m) {
    ++step;
    if (options.callbacks.on_batch_end) {
      BatchMetrics in_run = m;
      in_run.global_step = step;
      options.callbacks.on_batch_end(in_run);
    }
    if (options.checkpointer) options.checkpointer->maybe_save(step, done);
  };
  epoch_options.clip_grad_norm = options.clip_grad_norm;
  if (options.scheduler_per_batch) epoch_options.batch_scheduler = options.scheduler;
  EvalOptions eval_options;
  eval_options.num_classes = options.num_classes;
  for (int64_t epoch = options.start_epoch + 1; epoch <= epochs; ++epoch) {
    epoch_options.epoch = epoch;
    std::unique_ptr<ProgressBar> bar;
    if (options.progress)
      bar = std::make_unique<ProgressBar>(describe(epoch, epochs), train_loader.size(), options.progress_options);
    EpochMetrics e = run_epoch(model, loss_fn, optimizer, train_loader, epoch_options, bar.get());
    if (options.val_loader) e.val = evaluate(model, loss_fn, *options.val_loader, eval_options);
    if (bar) bar->close(e.val ? format_eval(*e.val) : "");
    if (options.scheduler && !options.scheduler_per_batch) options.scheduler->step();
    done = epoch;
    history.push_back(e);
    const bool stop = options.callbacks.on_epoch_end && options.callbacks.on_epoch_end(history.back());
    if (options.checkpointer) options.checkpointer->maybe_save(step, done);
    if (stop) break;
  }
  if (options.checkpointer && options.checkpointer->latest() != options.checkpointer->path_for(step))
    options.checkpointer->save(step, done);
  return history;
}

}  // namespace lamina::train

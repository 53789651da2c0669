// lamina::metrics and lamina::train through the C++ API: metrics against loops over random
// inputs, their errors, the streaming accumulator, the progress bar's output, seeding, and
// train_epoch / evaluate / fit on a small synthetic classification problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include "lamina/data/dataset.h"
#include "lamina/data/loader.h"
#include "lamina/lamina.h"
#include "lamina/nn/nn.h"
#include "lamina/optim/lr_scheduler.h"
#include "lamina/optim/optimizer.h"
#include "lamina/train/metrics.h"
#include "lamina/train/progress.h"
#include "lamina/train/seed.h"
#include "lamina/train/trainer.h"

using namespace lamina;

namespace {

std::vector<double> doubles(const Tensor& t) {
  Tensor c = autograd::detach(t).to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

std::vector<int64_t> ints(const Tensor& t) {
  Tensor c = t.to(Dtype::Int64).contiguous();
  return std::vector<int64_t>(c.data<int64_t>(), c.data<int64_t>() + c.numel());
}

// Row-wise argmax of an (N, C) matrix by a loop.
std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const auto v = doubles(logits);
  const int64_t n = logits.size(0), c = logits.size(1);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(std::max_element(v.begin() + i * c, v.begin() + (i + 1) * c) - (v.begin() + i * c));
  return out;
}

// 1 when target i is among the k largest scores of row i (no ties in random normal data).
double top_k_by_loop(const Tensor& logits, const Tensor& targets, int64_t k) {
  const auto v = doubles(logits);
  const auto t = ints(targets);
  const int64_t n = logits.size(0), c = logits.size(1);
  int64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double target_score = v[i * c + t[i]];
    int64_t larger = 0;
    for (int64_t j = 0; j < c; ++j) larger += v[i * c + j] > target_score;
    hits += larger < k;
  }
  return static_cast<double>(hits) / static_cast<double>(n);
}

}  // namespace

TEST(Metrics, AccuracyAgainstLoops) {
  manual_seed(11);
  const Tensor logits = randn({37, 5});
  const Tensor targets = randint(0, 5, {37});
  const auto preds = argmax_rows(logits);
  const auto t = ints(targets);
  int64_t correct = 0;
  for (size_t i = 0; i < t.size(); ++i) correct += preds[i] == t[i];
  ASSERT_GT(correct, 0);
  EXPECT_DOUBLE_EQ(metrics::accuracy(logits, targets), correct / 37.0);
  EXPECT_EQ(metrics::correct_count(logits, targets), correct);
  // Integer predictions of any integer dtype, and int32 targets.
  const Tensor int_preds = tensor<int64_t>(preds, {37}).to(Dtype::Int32);
  EXPECT_DOUBLE_EQ(metrics::accuracy(int_preds, targets.to(Dtype::Int32)), correct / 37.0);
  // Scores with classes along dim 1 and extra dims: (N, C, L) against (N, L).
  const Tensor seq = randn({4, 3, 6});
  const Tensor seq_targets = randint(0, 3, {4, 6});
  const auto sv = doubles(seq);
  const auto st = ints(seq_targets);
  int64_t seq_correct = 0;
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t l = 0; l < 6; ++l) {
      int64_t best = 0;
      for (int64_t c = 1; c < 3; ++c)
        if (sv[(n * 3 + c) * 6 + l] > sv[(n * 3 + best) * 6 + l]) best = c;
      seq_correct += best == st[n * 6 + l];
    }
  EXPECT_DOUBLE_EQ(metrics::accuracy(seq, seq_targets), seq_correct / 24.0);
}

TEST(Metrics, TopKAgainstLoops) {
  manual_seed(12);
  const Tensor logits = randn({50, 7});
  const Tensor targets = randint(0, 7, {50});
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(logits, targets, 1), metrics::accuracy(logits, targets));
  for (int64_t k : {2, 3, 5})
    EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(logits, targets, k), top_k_by_loop(logits, targets, k)) << k;
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(logits, targets, 7), 1.0);
  EXPECT_LT(metrics::top_k_accuracy(logits, targets, 2), metrics::top_k_accuracy(logits, targets, 5));
}

TEST(Metrics, ConfusionMatrixAgainstLoops) {
  manual_seed(13);
  const int64_t n = 200, c = 6;
  const Tensor logits = randn({n, c});
  const Tensor targets = randint(0, c, {n});
  const auto preds = argmax_rows(logits);
  const auto t = ints(targets);
  std::vector<int64_t> expected(c * c, 0);
  for (int64_t i = 0; i < n; ++i) ++expected[t[i] * c + preds[i]];
  const Tensor cm = metrics::confusion_matrix(logits, targets, c);
  EXPECT_EQ(cm.dtype(), Dtype::Int64);
  EXPECT_EQ(cm.shape(), Shape({c, c}));
  EXPECT_EQ(ints(cm), expected);
  EXPECT_EQ(ints(metrics::confusion_matrix(tensor<int64_t>(preds, {n}), targets, c)), expected);
  // More classes than occur: the extra rows and columns are zero.
  const Tensor wide = metrics::confusion_matrix(tensor<int64_t>(preds, {n}), targets, c + 2);
  EXPECT_EQ(ints(wide.slice(0, 0, c).slice(1, 0, c).contiguous()), expected);
  EXPECT_EQ(sum(wide).item<int64_t>(), n);
  EXPECT_EQ(ints(metrics::confusion_matrix(zeros({0, c}), zeros({0}, {Dtype::Int64}), c)),
            std::vector<int64_t>(c * c, 0));
}

TEST(Metrics, Errors) {
  const Tensor logits = randn({4, 3});
  const Tensor targets = tensor<int64_t>({0, 1, 2, 1}, {4});
  EXPECT_THROW(metrics::accuracy(logits, randint(0, 3, {5})), ShapeError);
  EXPECT_THROW(metrics::accuracy(randn({4, 3, 2, 2}), targets), ShapeError);
  EXPECT_THROW(metrics::accuracy(logits, targets.to(Dtype::Float32)), DTypeError);
  EXPECT_THROW(metrics::accuracy(randn({4}), targets), DTypeError);  // float "predictions"
  EXPECT_THROW(metrics::accuracy(zeros({0, 3}), zeros({0}, {Dtype::Int64})), ValueError);
  EXPECT_THROW(metrics::accuracy(Tensor(), targets), ValueError);
  EXPECT_THROW(metrics::top_k_accuracy(logits, targets, 0), ValueError);
  EXPECT_THROW(metrics::top_k_accuracy(logits, targets, 4), ValueError);
  EXPECT_THROW(metrics::top_k_accuracy(randn({4, 3, 1}), targets, 1), ShapeError);
  EXPECT_THROW(metrics::confusion_matrix(logits, targets, 0), ValueError);
  EXPECT_THROW(metrics::confusion_matrix(logits, targets, 2), ValueError);  // target 2 >= 2
  EXPECT_THROW(metrics::confusion_matrix(logits, tensor<int64_t>({0, -1, 2, 1}, {4}), 3), ValueError);
  EXPECT_THROW(metrics::confusion_matrix(tensor<int64_t>({0, 1, 5, 1}, {4}), targets, 3), ValueError);
  EXPECT_THROW(metrics::Accumulator(-1), ValueError);
  try {
    metrics::accuracy(logits, randint(0, 3, {5}));
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[accuracy]"), std::string::npos) << e.what();
  }
}

TEST(Metrics, AccumulatorEqualsWholeDataset) {
  manual_seed(14);
  const Tensor logits = randn({90, 4});
  const Tensor targets = randint(0, 4, {90});
  metrics::Accumulator acc(4);
  EXPECT_THROW(acc.compute(), ValueError);
  const double losses[3] = {0.9, 0.6, 0.3};
  const int64_t sizes[3] = {40, 40, 10};
  int64_t start = 0;
  for (int b = 0; b < 3; ++b) {
    acc.update(logits.narrow(0, start, sizes[b]), targets.narrow(0, start, sizes[b]), losses[b]);
    start += sizes[b];
  }
  // A bad batch changes nothing.
  EXPECT_THROW(acc.update(logits.narrow(0, 0, 3), tensor<int64_t>({0, 1, 9}, {3}), 5.0), ValueError);
  const metrics::Summary s = acc.compute();
  EXPECT_EQ(s.samples, 90);
  EXPECT_EQ(s.correct, metrics::correct_count(logits, targets));
  EXPECT_DOUBLE_EQ(s.accuracy, metrics::accuracy(logits, targets));
  EXPECT_NEAR(s.loss, (0.9 * 40 + 0.6 * 40 + 0.3 * 10) / 90.0, 1e-12);
  EXPECT_EQ(ints(s.confusion), ints(metrics::confusion_matrix(logits, targets, 4)));
  acc.reset();
  EXPECT_EQ(acc.samples(), 0);
  EXPECT_THROW(acc.compute(), ValueError);
  acc.update(logits.narrow(0, 0, 5), targets.narrow(0, 0, 5));
  EXPECT_EQ(sum(acc.compute().confusion).item<int64_t>(), 5);
  EXPECT_DOUBLE_EQ(acc.compute().loss, 0.0);
}

TEST(Progress, PlainLinesAtEachTenth) {
  std::ostringstream out;
  train::ProgressOptions opts;
  opts.out = &out;
  opts.interactive = false;
  {
    train::ProgressBar bar("epoch 2/5", 20, opts);
    EXPECT_FALSE(bar.interactive());
    for (int64_t step = 1; step <= 20; ++step) bar.update(step, step * 8, 1.0 / step, 0.5);
    bar.close("val_loss 0.1234");
    bar.close("again");  // no second line
  }
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 10u) << out.str();
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
  EXPECT_EQ(lines[0].rfind("epoch 2/5 [###...........................] 2/20 loss 0.5000 acc 0.5000", 0), 0u)
      << lines[0];
  EXPECT_NE(lines.back().find("20/20 loss 0.0500"), std::string::npos) << lines.back();
  EXPECT_NE(lines.back().find("samples/s"), std::string::npos);
  EXPECT_NE(lines.back().find("val_loss 0.1234"), std::string::npos);
}

TEST(Progress, InteractiveRedrawsInPlace) {
  std::ostringstream out;
  train::ProgressOptions opts;
  opts.out = &out;
  opts.interactive = true;
  opts.min_interval = 0.0;
  opts.width = 10;
  train::ProgressBar bar("eval", 4, opts);
  for (int64_t step = 1; step <= 4; ++step) bar.update(step, step * 100, 2.0);
  bar.close();
  const std::string s = out.str();
  EXPECT_EQ(std::count(s.begin(), s.end(), '\r'), 5);  // four updates and the close
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1);
  EXPECT_EQ(s.back(), '\n');
  EXPECT_NE(s.find("eval [##########] 4/4 loss 2.0000 "), std::string::npos) << s;
  EXPECT_EQ(s.find(" acc "), std::string::npos);
  // An unknown total counts steps instead of drawing a bar.
  std::ostringstream out2;
  opts.out = &out2;
  train::ProgressBar open_ended("epoch 1", 0, opts);
  open_ended.update(3, 30, 1.5, 0.25);
  EXPECT_EQ(open_ended.line().rfind("epoch 1 3 steps loss 1.5000 acc 0.2500", 0), 0u) << open_ended.line();
  EXPECT_THROW(train::ProgressBar("x", -1, opts), ValueError);
}

TEST(Progress, FormatDuration) {
  EXPECT_EQ(train::format_duration(0), "00:00");
  EXPECT_EQ(train::format_duration(61.9), "01:01");
  EXPECT_EQ(train::format_duration(3725), "1:02:05");
  EXPECT_EQ(train::format_duration(-1), "--:--");
}

TEST(Seed, SeedEverythingReproduces) {
  EXPECT_EQ(train::seed_everything(1234), 1234u);
  EXPECT_EQ(train::recorded_seed(), std::optional<uint64_t>(1234));
  EXPECT_EQ(initial_seed(), 1234u);
  const auto a = doubles(randn({16}));
  train::seed_everything(1234);
  EXPECT_EQ(doubles(randn({16})), a);
  train::seed_everything(1235);
  EXPECT_NE(doubles(randn({16})), a);
  const uint64_t fresh = train::seed_everything();
  EXPECT_EQ(train::recorded_seed(), std::optional<uint64_t>(fresh));
  EXPECT_EQ(initial_seed(), fresh);
}

namespace {

// Three Gaussian blobs in 2-d, one per class, split into batches of `batch` samples.
std::vector<train::Batch> blobs(int64_t n, int64_t batch) {
  const Tensor labels = randint(0, 3, {n});
  const Tensor centers = tensor<float>({2.f, 0.f, -1.f, 1.7f, -1.f, -1.7f}, {3, 2});
  const Tensor x = index_select(centers, 0, labels) + randn({n, 2}) * Scalar(0.5);
  std::vector<train::Batch> out;
  for (int64_t s = 0; s < n; s += batch) {
    const int64_t len = std::min(batch, n - s);
    out.push_back({x.narrow(0, s, len), labels.narrow(0, s, len)});
  }
  return out;
}

std::shared_ptr<nn::Sequential> small_mlp() {
  return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(2, 16), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(16, 3)});
}

}  // namespace

TEST(Trainer, FitLearnsAndCallsBack) {
  train::seed_everything(3);
  const auto train_batches = blobs(240, 32);  // 8 batches, the last of 16
  const auto val_batches = blobs(90, 45);
  auto model = small_mlp();
  optim::SGDOptions sgd;
  sgd.lr = 0.2;
  optim::SGD opt(model->parameters(), sgd);
  optim::StepLR sched(opt, 1, 0.5);
  nn::CrossEntropyLoss loss_fn;

  std::ostringstream bars;
  train::FitOptions opts;
  opts.val_loader = val_batches;
  opts.scheduler = &sched;
  opts.num_classes = 3;
  opts.progress_options.out = &bars;
  opts.progress_options.interactive = false;
  std::vector<train::BatchMetrics> steps;
  int64_t epoch_calls = 0;
  opts.callbacks.on_batch_end = [&](const train::BatchMetrics& m) { steps.push_back(m); };
  opts.callbacks.on_epoch_end = [&](const train::EpochMetrics& e) {
    EXPECT_EQ(e.epoch, ++epoch_calls);
    return false;
  };
  const auto history = train::fit(*model, loss_fn, opt, train_batches, 4, opts);

  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(epoch_calls, 4);
  ASSERT_EQ(steps.size(), 32u);
  EXPECT_EQ(steps[0].step, 1);
  EXPECT_EQ(steps[7].step, 8);
  EXPECT_EQ(steps[7].total_steps, 8);
  EXPECT_EQ(steps[7].batch_size, 16);
  EXPECT_EQ(steps[7].samples, 240);
  EXPECT_EQ(steps[8].epoch, 2);
  EXPECT_EQ(steps[8].step, 1);
  EXPECT_TRUE(steps[3].accuracy.has_value());
  EXPECT_GE(*steps[3].running_accuracy, 0.0);
  // The epoch's loss is the batch-size-weighted mean of its batch losses.
  double weighted = 0;
  for (int i = 24; i < 32; ++i) weighted += steps[i].loss * static_cast<double>(steps[i].batch_size);
  EXPECT_NEAR(history[3].loss, weighted / 240.0, 1e-9);
  EXPECT_NEAR(steps[31].running_loss, history[3].loss, 1e-9);
  // StepLR(step_size=1, gamma=0.5) stepped once per epoch.
  EXPECT_DOUBLE_EQ(history[0].lr, 0.2);
  EXPECT_DOUBLE_EQ(history[3].lr, 0.025);
  EXPECT_DOUBLE_EQ(steps[9].lr, 0.1);

  EXPECT_LT(history[3].loss, 0.6 * history[0].loss) << history[0].loss << " -> " << history[3].loss;
  EXPECT_GT(*history[3].accuracy, 0.85);
  ASSERT_TRUE(history[3].val.has_value());
  EXPECT_EQ(history[3].val->samples, 90);
  EXPECT_GT(*history[3].val->accuracy, 0.85);
  EXPECT_EQ(sum(history[3].val->confusion).item<int64_t>(), 90);
  EXPECT_EQ(history[3].samples, 240);
  EXPECT_TRUE(model->is_training());  // evaluate restored the mode

  // The validation result agrees with evaluate on the same data.
  train::EvalOptions with_confusion;
  with_confusion.num_classes = 3;
  const train::EvalResult r = train::evaluate(*model, loss_fn, val_batches, with_confusion);
  EXPECT_NEAR(r.loss, history[3].val->loss, 1e-6);
  EXPECT_EQ(ints(r.confusion), ints(history[3].val->confusion));
  // One progress line per tenth for each epoch, the last carrying the validation metrics.
  EXPECT_NE(bars.str().find("epoch 4/4 [##############################] 8/8 loss"), std::string::npos) << bars.str();
  EXPECT_NE(bars.str().find("val_acc "), std::string::npos);
}

TEST(Trainer, EarlyStopRegressionAndErrors) {
  train::seed_everything(4);
  auto batches = blobs(64, 16);
  auto model = small_mlp();
  optim::AdamOptions adam;
  adam.lr = 0.01;
  optim::Adam opt(model->parameters(), adam);
  train::FitOptions opts;
  opts.progress = false;
  opts.callbacks.on_epoch_end = [](const train::EpochMetrics& e) { return e.epoch == 2; };
  auto ce = [](const Tensor& out, const Tensor& target) { return nn::functional::cross_entropy(out, target); };
  EXPECT_EQ(train::fit(*model, ce, opt, batches, 10, opts).size(), 2u);
  EXPECT_TRUE(train::fit(*model, ce, opt, batches, 0, opts).empty());
  EXPECT_THROW(train::fit(*model, ce, opt, batches, -1, opts), ValueError);

  // Regression targets: no accuracy.
  std::vector<train::Batch> reg;
  for (const auto& b : batches) reg.push_back({b[0], randn({b[0].size(0), 3})});
  nn::MSELoss mse;
  train::EpochOptions quiet;
  quiet.progress = false;
  const train::EpochMetrics e = train::train_epoch(*model, mse, opt, reg, quiet);
  EXPECT_FALSE(e.accuracy.has_value());
  EXPECT_EQ(e.samples, 64);
  model->eval();
  const train::EvalResult r = train::evaluate(*model, mse, reg);
  EXPECT_FALSE(r.accuracy.has_value());
  EXPECT_GT(r.loss, 0.0);
  EXPECT_FALSE(model->is_training());

  std::vector<train::Batch> lonely = {{batches[0][0]}};
  EXPECT_THROW(train::train_epoch(*model, ce, opt, lonely, quiet), ValueError);
  nn::CrossEntropyLoss per_sample(Tensor(), -100, "none");
  EXPECT_THROW(train::train_epoch(*model, per_sample, opt, batches, quiet), ShapeError);
  const std::vector<train::Batch> empty;
  EXPECT_THROW(train::evaluate(*model, ce, empty), ValueError);
  EXPECT_EQ(train::BatchSource(batches).size(), 4);
}

TEST(Trainer, FitsFromTheDataLoader) {
  train::seed_everything(5);
  const auto parts = blobs(300, 300);
  auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{parts[0][0], parts[0][1]});
  data::DataLoaderOptions lo;
  lo.batch_size = 32;
  lo.shuffle = true;
  lo.num_workers = 2;
  data::DataLoader loader(dataset, lo);
  data::DataLoaderOptions vo;
  vo.batch_size = 100;
  data::DataLoader val(dataset, vo);
  EXPECT_EQ(train::BatchSource(loader).size(), 10);
  auto model = small_mlp();
  optim::AdamOptions adam;
  adam.lr = 0.02;
  optim::Adam opt(model->parameters(), adam);
  nn::CrossEntropyLoss loss_fn;
  train::FitOptions opts;
  opts.progress = false;
  opts.val_loader = val;
  int64_t steps = 0;
  opts.callbacks.on_batch_end = [&](const train::BatchMetrics& m) {
    ++steps;
    EXPECT_EQ(m.total_steps, 10);
  };
  const auto history = train::fit(*model, loss_fn, opt, loader, 5, opts);
  EXPECT_EQ(steps, 50);
  EXPECT_EQ(history[4].samples, 300);
  EXPECT_LT(history[4].loss, history[0].loss);
  EXPECT_GT(*history[4].val->accuracy, 0.85);
  EXPECT_EQ(history[4].val->samples, 300);
}

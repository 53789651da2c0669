// lamina::train checkpoints: the file round trip of every part, the Checkpointer's schedule and
// pruning, bit-identical resume of an MLP and a CNN (mid-epoch, with dropout, Adam and a
// scheduler), and loads that fail leaving the run untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include "lamina/data/dataset.h"
#include "lamina/data/loader.h"
#include "lamina/lamina.h"
#include "lamina/nn/nn.h"
#include "lamina/optim/lr_scheduler.h"
#include "lamina/optim/optimizer.h"
#include "lamina/runtime/generator.h"
#include "lamina/train/checkpoint.h"
#include "lamina/train/seed.h"

using namespace lamina;
namespace fs = std::filesystem;

namespace {

// A fresh empty directory under the test temp dir.
std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("lamina_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  Tensor c = autograd::detach(t).contiguous();
  const auto* p = static_cast<const uint8_t*>(c.data_ptr());
  return std::vector<uint8_t>(p, p + c.numel() * itemsize(c.dtype()));
}

// Everything a training run carries between steps.
struct TrainRun {
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Adam> opt;
  std::unique_ptr<optim::StepLR> sched;
  std::shared_ptr<data::DataLoader> loader;
  int64_t step = 0;
};

// The same construction in every run; a resumed run then overwrites its state from a file.
// `init_seed` (when set) re-seeds after the data is drawn: other weights, other generator position.
TrainRun make_run(bool cnn, std::optional<uint64_t> init_seed = std::nullopt) {
  train::seed_everything(2024);
  TrainRun r;
  const int64_t n = 100;
  Tensor x = cnn ? randn({n, 1, 8, 8}) : randn({n, 12});
  Tensor y = randint(0, 3, {n});
  if (init_seed) manual_seed(*init_seed);
  if (cnn) {
    r.model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Conv2d>(1, 4, Pair{3, 3}, Pair{1, 1}, Pair{1, 1}), std::make_shared<nn::BatchNorm2d>(4),
        std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(Pair{2, 2}, Pair{2, 2}),
        std::make_shared<nn::Flatten>(), std::make_shared<nn::Dropout>(0.2), std::make_shared<nn::Linear>(64, 3)});
  } else {
    r.model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Linear>(12, 16), std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.3),
        std::make_shared<nn::Linear>(16, 3)});
  }
  optim::AdamOptions adam;
  adam.lr = 0.01;
  r.opt = std::make_unique<optim::Adam>(r.model->parameters(), adam);
  r.sched = std::make_unique<optim::StepLR>(*r.opt, 4, 0.7);
  data::DataLoaderOptions lo;
  lo.batch_size = 16;
  lo.shuffle = true;
  lo.num_workers = 1;
  r.loader = std::make_shared<data::DataLoader>(std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, y}), lo);
  return r;
}

// Trains until `until` steps, leaving mid-epoch when the count runs out there.
void train_until(TrainRun& r, int64_t until) {
  nn::CrossEntropyLoss loss_fn;
  r.model->train(true);
  while (r.step < until) {
    for (const data::Batch& b : *r.loader) {
      r.opt->zero_grad();
      Tensor loss = loss_fn.forward(r.model->forward(b[0]), b[1]);
      autograd::backward({loss});
      r.opt->step();
      r.sched->step();
      if (++r.step == until) return;
    }
  }
}

void track(train::Checkpointer& c, TrainRun& r) {
  c.track_model(*r.model);
  c.track_optimizer(*r.opt);
  c.track_scheduler(*r.sched);
  c.track_loader(*r.loader);
}

void expect_same_state(TrainRun& a, TrainRun& b) {
  auto sa = a.model->state_dict(), sb = b.model->state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_EQ(bytes_of(sa[i].second), bytes_of(sb[i].second)) << sa[i].first;
  auto oa = a.opt->state_dict(), ob = b.opt->state_dict();
  ASSERT_EQ(oa.state.size(), ob.state.size());
  for (const auto& [idx, ps] : oa.state)
    for (const auto& [key, t] : ps) EXPECT_EQ(bytes_of(t), bytes_of(ob.state.at(idx).at(key))) << key;
  EXPECT_EQ(a.sched->get_last_lr(), b.sched->get_last_lr());
}

void check_bit_exact_resume(bool cnn, int64_t n, int64_t m) {
  const std::string dir = temp_dir(cnn ? "resume_cnn" : "resume_mlp");
  TrainRun straight = make_run(cnn);
  train_until(straight, n + m);

  TrainRun first = make_run(cnn);
  train_until(first, n);
  {
    train::Checkpointer c(dir);
    track(c, first);
    c.save(first.step, first.loader->epoch());
  }
  // Another run built from scratch (other initial weights, other generator position) resumes.
  TrainRun resumed = make_run(cnn, 99);
  randn({13});
  train::Checkpointer c(dir);
  track(c, resumed);
  auto info = c.load_latest();
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->step, n);
  resumed.step = info->step;
  train_until(resumed, n + m);
  expect_same_state(straight, resumed);
  fs::remove_all(dir);
}

}  // namespace

TEST(Checkpoint, FileRoundTripOfEveryPart) {
  const std::string dir = temp_dir("roundtrip");
  TrainRun r = make_run(false);
  train_until(r, 3);
  train::CheckpointData d;
  d.step = 3;
  d.epoch = 0;
  d.model = r.model->state_dict();
  d.optimizer = r.opt->state_dict();
  d.optimizer_name = r.opt->name();
  auto sched_state = r.sched->state_dict();
  sched_state.values["best"] = INFINITY;  // non-finite reals survive the JSON metadata
  sched_state.values["flag"] = true;
  sched_state.values["mode"] = std::string("min");
  d.scheduler = sched_state;
  d.loader = r.loader->state();
  d.rng = {123, 456};
  d.config = R"({"lr": 0.01, "layers": [16, 3]})";
  d.extra = {{"note", "hello"}};
  const std::string path = dir + "/one.safetensors";
  train::write_checkpoint(path, d);

  train::CheckpointData back = train::read_checkpoint(path);
  EXPECT_EQ(back.step, 3);
  ASSERT_EQ(back.model.size(), d.model.size());
  for (size_t i = 0; i < d.model.size(); ++i) {
    EXPECT_EQ(back.model[i].first, d.model[i].first);
    EXPECT_EQ(bytes_of(back.model[i].second), bytes_of(d.model[i].second));
  }
  ASSERT_TRUE(back.optimizer.has_value());
  EXPECT_EQ(back.optimizer_name, "Adam");
  EXPECT_EQ(back.optimizer->param_groups.size(), 1u);
  EXPECT_EQ(back.optimizer->param_groups[0].params, d.optimizer->param_groups[0].params);
  EXPECT_EQ(back.optimizer->param_groups[0].options, d.optimizer->param_groups[0].options);
  for (const auto& [idx, ps] : d.optimizer->state)
    for (const auto& [key, t] : ps) EXPECT_EQ(bytes_of(back.optimizer->state.at(idx).at(key)), bytes_of(t));
  ASSERT_TRUE(back.scheduler.has_value());
  EXPECT_EQ(back.scheduler->values, sched_state.values);
  ASSERT_TRUE(back.loader.has_value());
  EXPECT_EQ(back.loader->epoch, d.loader->epoch);
  EXPECT_EQ(back.loader->batches_consumed, d.loader->batches_consumed);
  EXPECT_EQ(back.loader->seed, d.loader->seed);
  EXPECT_EQ(back.rng.seed, 123u);
  EXPECT_EQ(back.rng.offset, 456u);
  EXPECT_EQ(back.config, d.config);
  EXPECT_EQ(back.extra, d.extra);
  EXPECT_EQ(back.run_info.at("seed"), "2024");
  EXPECT_FALSE(back.run_info.at("lamina_version").empty());
  EXPECT_FALSE(back.run_info.at("git_revision").empty());
  EXPECT_NE(back.run_info.at("device").find("cpu"), std::string::npos);
  d.config = "{not json";
  EXPECT_THROW(train::write_checkpoint(dir + "/bad.safetensors", d), ValueError);
  EXPECT_FALSE(fs::exists(dir + "/bad.safetensors"));
  fs::remove_all(dir);
}

TEST(Checkpoint, ScheduleKeepsLastAndCleansTempFiles) {
  const std::string dir = temp_dir("schedule");
  std::ofstream(dir + "/checkpoint-0000000001.safetensors.tmp.12345") << "half a file";
  std::ofstream(dir + "/unrelated.txt") << "kept";
  TrainRun r = make_run(false);
  train::CheckpointerOptions o;
  o.every_steps = 2;
  o.keep_last = 2;
  train::Checkpointer c(dir, o);
  EXPECT_FALSE(fs::exists(dir + "/checkpoint-0000000001.safetensors.tmp.12345"));
  EXPECT_TRUE(fs::exists(dir + "/unrelated.txt"));
  track(c, r);
  EXPECT_FALSE(c.load_latest().has_value());
  std::vector<int64_t> saved;
  for (int64_t step = 1; step <= 7; ++step)
    if (c.maybe_save(step)) saved.push_back(step);
  EXPECT_EQ(saved, (std::vector<int64_t>{2, 4, 6}));
  EXPECT_FALSE(c.due(6));  // just saved
  auto files = c.list();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(fs::path(files[0]).filename(), "checkpoint-0000000004.safetensors");
  EXPECT_EQ(fs::path(files[1]).filename(), "checkpoint-0000000006.safetensors");
  EXPECT_EQ(*c.latest(), files[1]);

  train::CheckpointerOptions timed;
  timed.every_seconds = 0.05;
  timed.prefix = "timed";
  train::Checkpointer t(dir, timed);
  EXPECT_FALSE(t.due(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_TRUE(t.due(1));

  EXPECT_THROW(train::Checkpointer(dir, train::CheckpointerOptions{-1, 0, 3, "c"}), ConfigError);
  EXPECT_THROW(train::Checkpointer(dir, train::CheckpointerOptions{0, 0, -2, "c"}), ConfigError);
  EXPECT_THROW(train::Checkpointer(dir, train::CheckpointerOptions{0, 0, 1, "a/b"}), ConfigError);
  EXPECT_THROW(c.set_config("[1, 2"), ValueError);
  fs::remove_all(dir);
}

TEST(Checkpoint, ResumeIsBitExactMlp) {
  check_bit_exact_resume(false, 9, 8);   // 7 batches per epoch: resumes mid-epoch 2
  check_bit_exact_resume(false, 14, 5);  // resumes exactly at an epoch boundary
}

TEST(Checkpoint, ResumeIsBitExactCnn) { check_bit_exact_resume(true, 10, 7); }

TEST(Checkpoint, FailedLoadLeavesTheRunUntouched) {
  const std::string dir = temp_dir("failed");
  TrainRun r = make_run(false);
  train_until(r, 4);
  train::Checkpointer c(dir);
  track(c, r);
  const std::string path = c.save(r.step);

  // A run whose model has a different shape: the model check fails before anything changes.
  TrainRun other = make_run(true);
  train_until(other, 2);
  const auto before = other.model->state_dict();
  std::vector<std::vector<uint8_t>> before_bytes;
  for (const auto& [k, t] : before) before_bytes.push_back(bytes_of(t));
  const auto opt_before = other.opt->state_dict();
  const auto lr_before = other.sched->get_last_lr();
  runtime::Generator& gen = runtime::default_generator();
  const uint64_t offset_before = gen.offset();
  train::Checkpointer oc(dir);
  track(oc, other);
  EXPECT_THROW(oc.load(path), Error);
  auto after = other.model->state_dict();
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(bytes_of(after[i].second), before_bytes[i]);
  EXPECT_EQ(other.sched->get_last_lr(), lr_before);
  EXPECT_EQ(other.opt->state_dict().state.size(), opt_before.state.size());
  EXPECT_EQ(gen.offset(), offset_before);

  // Same model, another optimizer: ValueError naming both, nothing changed.
  TrainRun mlp = make_run(false);
  optim::SGDOptions sgd;
  sgd.lr = 0.1;
  optim::SGD plain(mlp.model->parameters(), sgd);
  train::Checkpointer sc(dir);
  sc.track_model(*mlp.model);
  sc.track_optimizer(plain);
  const auto w_before = bytes_of(mlp.model->state_dict()[0].second);
  EXPECT_THROW(sc.load(path), ValueError);
  EXPECT_EQ(bytes_of(mlp.model->state_dict()[0].second), w_before);

  // Damaged files: FormatError naming the path; not a checkpoint: FormatError.
  {
    std::ifstream in(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir + "/cut.safetensors", std::ios::binary) << all.substr(0, all.size() / 2);
  }
  EXPECT_THROW(train::read_checkpoint(dir + "/cut.safetensors"), FormatError);
  io::save_file({{"w", randn({2})}}, dir + "/plain.safetensors");
  try {
    train::read_checkpoint(dir + "/plain.safetensors");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("plain.safetensors"), std::string::npos);
  }
  EXPECT_THROW(train::read_checkpoint(dir + "/missing.safetensors"), IOError);
  fs::remove_all(dir);
}

// Trains an MLP or a CNN on Fashion-MNIST (Debian's dataset-fashion-mnist) with lamina's C++ API:
// the IDX reader, a TensorDataset behind the DataLoader (worker threads, optional random
// crop/flip), lamina::train::fit with its progress bar, then the test accuracy and confusion
// matrix. The same flags and recipe as examples/fashion_mnist.py:
//
//   build/lamina_fashion_mnist --model cnn --epochs 3 [--batch-size 128 --lr 1e-3 --seed 0
//                              --limit N --workers 1 --augment --data DIR]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "lamina/data/dataset.h"
#include "lamina/data/idx.h"
#include "lamina/data/loader.h"
#include "lamina/data/transforms.h"
#include "lamina/distributed/ddp.h"
#include "lamina/distributed/distributed.h"
#include "lamina/lamina.h"
#include "lamina/nn/nn.h"
#include "lamina/optim/optimizer.h"
#include "lamina/runtime/log.h"
#include "lamina/train/checkpoint.h"
#include "lamina/train/csv_logger.h"
#include "lamina/train/seed.h"
#include "lamina/train/summary_writer.h"
#include "lamina/train/trainer.h"

using namespace lamina;

namespace {

struct Args {
  std::string model = "cnn";
  int64_t epochs = 2;
  int64_t batch_size = 128;
  double lr = 1e-3;
  uint64_t seed = 0;
  int64_t limit = 0;
  int workers = 1;
  bool augment = false;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string log_dir;         // TensorBoard event files + metrics.csv
  std::string checkpoint_dir;  // checkpoints every checkpoint_every steps, each epoch and the end
  int64_t checkpoint_every = 200;
  bool resume = false;
};

[[noreturn]] void usage(const char* prog, int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: %s [--model mlp|cnn] [--epochs N] [--batch-size N] [--lr X] [--seed N] [--limit N]\n"
               "          [--workers N] [--augment] [--data DIR] [--log-dir DIR] [--checkpoint-dir DIR]\n"
               "          [--checkpoint-every N] [--resume]\n",
               prog);
  std::exit(code);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") usage(argv[0], 0);
    if (flag == "--resume") {
      a.resume = true;
      continue;
    }
    if (flag == "--augment") {
      a.augment = true;
      continue;
    }
    if (i + 1 >= argc) usage(argv[0], 2);
    const std::string value = argv[++i];
    if (flag == "--model")
      a.model = value;
    else if (flag == "--epochs")
      a.epochs = std::stoll(value);
    else if (flag == "--batch-size")
      a.batch_size = std::stoll(value);
    else if (flag == "--lr")
      a.lr = std::stod(value);
    else if (flag == "--seed")
      a.seed = std::stoull(value);
    else if (flag == "--limit")
      a.limit = std::stoll(value);
    else if (flag == "--workers")
      a.workers = std::stoi(value);
    else if (flag == "--data")
      a.data = value;
    else if (flag == "--log-dir")
      a.log_dir = value;
    else if (flag == "--checkpoint-dir")
      a.checkpoint_dir = value;
    else if (flag == "--checkpoint-every")
      a.checkpoint_every = std::stoll(value);
    else
      usage(argv[0], 2);
  }
  if (a.model != "mlp" && a.model != "cnn") usage(argv[0], 2);
  if (a.resume && a.checkpoint_dir.empty()) usage(argv[0], 2);
  return a;
}

// Images as (N, 1, 28, 28) float32 normalized with the training set's mean and std; labels int64.
data::Batch load(const std::string& dir, const std::string& prefix) {
  const Tensor images = data::read_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  const Tensor labels = data::read_idx(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
  const Tensor x = (images.to(Dtype::Float32) / Scalar(255.0) - Scalar(0.2860)) / Scalar(0.3530);
  return {x.unsqueeze(1), labels.to(Dtype::Int64)};
}

std::shared_ptr<nn::Sequential> make_model(const std::string& kind) {
  using M = std::shared_ptr<nn::Module>;
  if (kind == "mlp")
    return std::make_shared<nn::Sequential>(std::vector<M>{
        std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(784, 256), std::make_shared<nn::ReLU>(),
        std::make_shared<nn::Linear>(256, 128), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(128, 10)});
  return std::make_shared<nn::Sequential>(std::vector<M>{
      std::make_shared<nn::Conv2d>(1, 32, Pair{3, 3}, Pair{1, 1}, Pair{1, 1}), std::make_shared<nn::BatchNorm2d>(32),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(Pair{2, 2}, Pair{2, 2}),
      std::make_shared<nn::Conv2d>(32, 64, Pair{3, 3}, Pair{1, 1}, Pair{1, 1}), std::make_shared<nn::BatchNorm2d>(64),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(Pair{2, 2}, Pair{2, 2}),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(64 * 7 * 7, 128), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(128, 10)});
}

void print_confusion(const Tensor& cm) {
  static const char* names[10] = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                  "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Boot"};
  const Tensor c = cm.contiguous();
  const int64_t* v = c.data<int64_t>();
  std::printf("confusion matrix (rows: true class, columns: predicted):\n%9s", "");
  for (int j = 0; j < 10; ++j) std::printf("%6d", j);
  std::printf("\n");
  for (int i = 0; i < 10; ++i) {
    std::printf("%d %-8s", i, names[i]);
    for (int j = 0; j < 10; ++j) std::printf("%6lld", static_cast<long long>(v[i * 10 + j]));
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  try {
    // Launched on several processes (python -m lamina.distributed.run --no-python --nproc-per-node N
    // ./lamina_fashion_mnist ...): data-parallel, each rank a 1/N share of every batch.
    const char* world_env = std::getenv("WORLD_SIZE");
    const int world = world_env ? std::atoi(world_env) : 1;
    int rank = 0;
    if (world > 1) {
      distributed::init_process_group("gloo");
      rank = distributed::get_rank();
      if (args.batch_size % world != 0 || !args.checkpoint_dir.empty() || !args.log_dir.empty()) {
        std::fprintf(stderr,
                     "error: with %d processes --batch-size must split evenly, and --checkpoint-dir / "
                     "--log-dir run on one process\n",
                     world);
        return 2;
      }
    }
    train::seed_everything(args.seed);
    data::Batch train_set = load(args.data, "train");
    if (args.limit > 0)
      for (Tensor& t : train_set) t = t.narrow(0, 0, std::min(args.limit, t.size(0)));
    const data::Batch test_set = load(args.data, "t10k");

    std::shared_ptr<data::Dataset> train_data = std::make_shared<data::TensorDataset>(train_set);
    if (args.augment)
      train_data = std::make_shared<data::TransformDataset>(
          train_data, 0, data::Compose({data::RandomCrop(28, 2), data::RandomHorizontalFlip()}));
    data::DataLoaderOptions train_options;
    train_options.batch_size = args.batch_size / world;
    if (world > 1)
      train_options.sampler =
          std::make_shared<data::DistributedSampler>(train_data->size(), world, rank, true, args.seed);
    else
      train_options.shuffle = true;
    train_options.num_workers = args.workers;
    data::DataLoader train_loader(train_data, train_options);
    data::DataLoaderOptions test_options;
    test_options.batch_size = 1000;
    data::DataLoader test_loader(std::make_shared<data::TensorDataset>(test_set), test_options);

    std::shared_ptr<nn::Module> model = make_model(args.model);
    if (world > 1) model = std::make_shared<distributed::DistributedDataParallel>(model);
    optim::AdamOptions adam;
    adam.lr = args.lr;
    optim::Adam optimizer(model->parameters(), adam);
    nn::CrossEntropyLoss loss_fn;

    std::unique_ptr<train::SummaryWriter> writer;
    std::unique_ptr<train::CSVLogger> csv;
    if (!args.log_dir.empty()) {
      writer = std::make_unique<train::SummaryWriter>(args.log_dir);
      csv = std::make_unique<train::CSVLogger>(
          args.log_dir + "/metrics.csv", true,
          std::vector<std::string>{"epoch", "loss", "accuracy", "lr", "samples_per_second", "test_loss",
                                   "test_accuracy"});
    }
    int64_t global_step = 0;
    train::FitOptions fit;
    fit.callbacks.on_batch_end = [&](const train::BatchMetrics& m) {
      global_step = m.global_step;
      if (writer && m.global_step % 50 == 0) writer->add_scalar("train/step_loss", m.loss, m.global_step);
    };
    fit.callbacks.on_epoch_end = [&](const train::EpochMetrics& e) {
      if (rank != 0) return false;
      std::printf("epoch %lld: loss %.4f, accuracy %.4f, %.1f s, %.0f samples/s\n", static_cast<long long>(e.epoch),
                  e.loss, e.accuracy.value_or(0.0), e.seconds, e.samples_per_second);
      if (writer) {
        const std::map<std::string, double> values{{"epoch", static_cast<double>(e.epoch)},
                                                   {"loss", e.loss},
                                                   {"accuracy", e.accuracy.value_or(0.0)},
                                                   {"lr", e.lr},
                                                   {"samples_per_second", e.samples_per_second}};
        for (const auto& [key, v] : values)
          if (key != "epoch") writer->add_scalar("train/" + key, v, e.epoch);
        for (const auto& [name, p] : model->named_parameters()) writer->add_histogram("weights/" + name, p, e.epoch);
        csv->log(global_step, values);
        logging::info("fashion_mnist", "epoch done", {{"epoch", e.epoch}, {"loss", e.loss}, {"step", global_step}});
      }
      return false;
    };
    std::unique_ptr<train::Checkpointer> checkpointer;
    if (!args.checkpoint_dir.empty()) {
      train::CheckpointerOptions co;
      co.every_steps = args.checkpoint_every;
      checkpointer = std::make_unique<train::Checkpointer>(args.checkpoint_dir, co);
      checkpointer->track_model(*model);
      checkpointer->track_optimizer(optimizer);
      checkpointer->track_loader(train_loader);
      char config[256];
      std::snprintf(config, sizeof config,
                    R"({"model": "%s", "epochs": %lld, "batch_size": %lld, "lr": %g, "seed": %llu, "limit": %lld})",
                    args.model.c_str(), static_cast<long long>(args.epochs), static_cast<long long>(args.batch_size),
                    args.lr, static_cast<unsigned long long>(args.seed), static_cast<long long>(args.limit));
      checkpointer->set_config(config);
      fit.checkpointer = checkpointer.get();
      if (args.resume) {
        if (auto info = train::resume(fit))
          std::printf("resumed from %s (step %lld)\n", info->path.c_str(), static_cast<long long>(info->step));
      }
    }
    if (rank != 0) fit.progress = false;
    train::fit(*model, loss_fn, optimizer, train_loader, args.epochs, fit);
    if (world > 1) {
      distributed::destroy_process_group();
      if (rank != 0) return 0;
    }
    if (checkpointer) std::printf("checkpoint: %s\n", checkpointer->latest().value_or("").c_str());

    train::EvalOptions eval;
    eval.num_classes = 10;
    const train::EvalResult test = train::evaluate(*model, loss_fn, test_loader, eval);
    std::printf("test loss: %.4f\ntest accuracy: %.4f\n", test.loss, test.accuracy.value_or(0.0));
    print_confusion(test.confusion);
    if (writer) {
      writer->add_scalar("test/loss", test.loss, global_step);
      writer->add_scalar("test/accuracy", test.accuracy.value_or(0.0), global_step);
      csv->log(global_step, {{"test_loss", test.loss}, {"test_accuracy", test.accuracy.value_or(0.0)}});
      writer->add_hparams(
          {{"model", args.model}, {"lr", args.lr}, {"batch_size", static_cast<double>(args.batch_size)}},
          {{"hparam/test_accuracy", test.accuracy.value_or(0.0)}});
      writer->close();
      csv->close();
      std::printf("TensorBoard logs: %s; CSV: %s/metrics.csv\n", args.log_dir.c_str(), args.log_dir.c_str());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

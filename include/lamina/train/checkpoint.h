#pragma once
// Training checkpoints: one safetensors file per checkpoint holding the model's state, the
// optimizer's and LR scheduler's states, the random generator, the data loader's position, the
// step / epoch, the run's config and reproducibility metadata. Files are written atomically
// (io::save_file), so a crash at any moment leaves the previous checkpoints whole.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lamina/data/loader.h"
#include "lamina/io/safetensors.h"
#include "lamina/nn/module.h"
#include "lamina/optim/lr_scheduler.h"
#include "lamina/optim/optimizer.h"

namespace lamina::train {

/// The state of the process-wide random generator.
struct RngState {
  /// The generator's seed.
  uint64_t seed = 0;
  /// Counters already drawn.
  uint64_t offset = 0;
};

/// Everything one checkpoint file holds, as plain values.
struct CheckpointData {
  /// Training step (optimizer steps taken) at the save.
  int64_t step = 0;
  /// Epoch at the save.
  int64_t epoch = 0;
  /// The model's state_dict.
  io::TensorMap model;
  /// The optimizer's state, when one was saved.
  std::optional<optim::StateDict> optimizer;
  /// The optimizer's class name ("Adam", ...), checked on load.
  std::string optimizer_name;
  /// The LR scheduler's state, when one was saved.
  std::optional<optim::SchedulerState> scheduler;
  /// The data loader's position, when one was saved.
  std::optional<data::LoaderState> loader;
  /// The process-wide generator.
  RngState rng;
  /// The run's configuration (a JSON text chosen by the caller; "{}" when none).
  std::string config = "{}";
  /// Caller-defined extra metadata (e.g. other random generators' states).
  io::Metadata extra;
  /// Reproducibility metadata filled in by write_checkpoint: seed, lamina version, git
  /// revision, device, time, host (read back by read_checkpoint).
  io::Metadata run_info;
};

/// Writes `data` to `path` atomically (temp file, fsync, rename, fsync of the directory).
void write_checkpoint(const std::string& path, const CheckpointData& data);
/// Reads a checkpoint written by write_checkpoint; FormatError naming the path when the file is
/// not a lamina checkpoint or a part of it is malformed.
CheckpointData read_checkpoint(const std::string& path, bool mmap = false);

/// When and how many checkpoints a Checkpointer keeps.
struct CheckpointerOptions {
  /// Save every this many steps (0: never by step count).
  int64_t every_steps = 0;
  /// Save when this many seconds passed since the last save (0: never by time).
  double every_seconds = 0;
  /// Keep the newest this many checkpoints (0: keep all).
  int keep_last = 3;
  /// File names are <prefix>-<step, 10 digits>.safetensors.
  std::string prefix = "checkpoint";
};

/// What a load restored.
struct CheckpointInfo {
  /// The file loaded.
  std::string path;
  /// Its step.
  int64_t step = 0;
  /// Its epoch.
  int64_t epoch = 0;
  /// Its config JSON text.
  std::string config;
  /// Its reproducibility metadata.
  io::Metadata run_info;
};

/// Saves the tracked training state every N steps or seconds into a directory, keeps the last
/// K checkpoints, and restores the newest one on resume.
class Checkpointer {
 public:
  /// Checkpoints live in `directory` (created when missing); ConfigError for negative options.
  /// Leftover temp files of interrupted saves are removed.
  explicit Checkpointer(std::string directory, CheckpointerOptions options = {});

  /// Saves and restores `model`'s state_dict (the module must outlive the Checkpointer).
  void track_model(nn::Module& model);
  /// Saves and restores a model through callbacks (for modules defined outside C++).
  void track_model(std::function<io::TensorMap()> get, std::function<void(const io::TensorMap&)> set);
  /// Saves and restores `optimizer`'s state and hyper-parameters.
  void track_optimizer(optim::Optimizer& optimizer);
  /// Saves and restores `scheduler`'s state.
  void track_scheduler(optim::LRScheduler& scheduler);
  /// Saves and restores `loader`'s epoch and position (mid-epoch resume).
  void track_loader(data::EpochRunner& loader);
  /// Saves and restores a loader position through callbacks.
  void track_loader(std::function<data::LoaderState()> get, std::function<void(const data::LoaderState&)> set);
  /// Saves and restores caller-defined metadata through callbacks.
  void track_extra(std::function<io::Metadata()> get, std::function<void(const io::Metadata&)> set);
  /// The run's configuration as JSON text (ValueError when it is not valid JSON).
  void set_config(const std::string& json);

  /// True when a save is due at `step` (step or time trigger).
  bool due(int64_t step) const;
  /// Saves when due(step); returns the path written, if any.
  std::optional<std::string> maybe_save(int64_t step, int64_t epoch = 0);
  /// Saves now and drops the oldest checkpoints beyond keep_last; returns the path.
  std::string save(int64_t step, int64_t epoch = 0);
  /// The checkpoint files in the directory, oldest (lowest step) first.
  std::vector<std::string> list() const;
  /// The newest checkpoint's path, if any.
  std::optional<std::string> latest() const;
  /// Restores the newest checkpoint into the tracked objects; nullopt when there is none.
  std::optional<CheckpointInfo> load_latest();
  /// Restores `path` into the tracked objects. Everything is read and checked before anything is
  /// changed: on an error every tracked object keeps its state.
  CheckpointInfo load(const std::string& path);
  /// The directory.
  const std::string& directory() const { return directory_; }
  /// The path a save at `step` writes.
  std::string path_for(int64_t step) const;

 private:
  CheckpointData collect(int64_t step, int64_t epoch) const;

  std::string directory_;
  CheckpointerOptions options_;
  std::function<io::TensorMap()> get_model_;
  std::function<void(const io::TensorMap&)> set_model_;
  optim::Optimizer* optimizer_ = nullptr;
  optim::LRScheduler* scheduler_ = nullptr;
  std::function<data::LoaderState()> get_loader_;
  std::function<void(const data::LoaderState&)> set_loader_;
  std::function<io::Metadata()> get_extra_;
  std::function<void(const io::Metadata&)> set_extra_;
  std::string config_ = "{}";
  int64_t last_saved_step_ = -1;
  std::chrono::steady_clock::time_point last_save_time_;
};

}  // namespace lamina::train

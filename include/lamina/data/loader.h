#pragma once
// The DataLoader: batches of a dataset in sampler order, optionally loaded ahead of the consumer
// by C++ worker threads. Batches arrive strictly in order and are the same for any worker count:
// the plan of an epoch and every random draw (sampler, sample transforms) are functions of
// (seed, epoch, position), never of scheduling.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lamina/data/dataset.h"
#include "lamina/data/sampler.h"

namespace lamina::data {

/// Where a loader stands, for checkpoints: the epoch in progress (or next) and the batches of it
/// already delivered.
struct LoaderState {
  /// The loader's seed.
  uint64_t seed = 0;
  /// The epoch in progress, or the next one.
  int64_t epoch = 0;
  /// Batches of that epoch already delivered.
  int64_t batches_consumed = 0;
};

/// The epoch, ordered-prefetch and resume logic of a loader, independent of what a batch is.
/// Batch b of an epoch is loaded into slot b % slot_count() by load_batch, on a worker thread
/// (or inline with no workers); the consumer takes batches strictly in order.
class EpochRunner {
 public:
  /// ConfigError for num_workers < 0 or prefetch_factor < 1.
  EpochRunner(int num_workers, int prefetch_factor, uint64_t seed);
  /// Joins any workers still running (derived classes must stop() first: load_batch is theirs).
  virtual ~EpochRunner();
  EpochRunner(const EpochRunner&) = delete;
  EpochRunner& operator=(const EpochRunner&) = delete;
  /// Starts the next epoch (abandoning one in progress) or the one load_state resumes; true when
  /// its first batch is ready in current_slot(). Rethrows a loading error.
  bool start();
  /// Releases the current batch and waits for the next; false at the end of the epoch.
  bool next();
  /// True while a delivered batch is current.
  bool has_current() const { return current_ >= 0; }
  /// The slot of the current batch.
  int current_slot() const { return static_cast<int>(current_ % slots_); }
  /// The number of slots (prefetched batches plus the current one).
  int slot_count() const { return slots_; }
  /// Stops and joins the workers and clears every slot; the epoch stays in progress.
  void stop();
  /// The epoch and position, for checkpoints.
  LoaderState state() const;
  /// Resumes from `state` at the next start() (stops a running epoch); ValueError when negative.
  void load_state(const LoaderState& state);
  /// The seed of every random draw.
  uint64_t seed() const { return seed_; }
  /// The epoch in progress, or the next one.
  int64_t epoch() const { return epoch_; }
  /// The number of worker threads (0: batches load on the consumer's thread).
  int num_workers() const { return num_workers_; }

 protected:
  /// Plans epoch `epoch`: its number of batches, or -1 for a stream of unknown length (then
  /// batches load in order on at most one worker). Runs on the consumer's thread.
  virtual int64_t plan_epoch(int64_t epoch) = 0;
  /// Loads batch `batch` of the planned epoch into `slot`; false when a stream has no such batch.
  /// Runs on a worker thread, concurrently with other batches.
  virtual bool load_batch(int64_t batch, int slot) = 0;
  /// Empties `slot`. Runs on the consumer's thread.
  virtual void clear_slot(int slot) = 0;

 private:
  struct Slot {
    int64_t job = -1;
    bool done = false;
    bool has_batch = false;
    std::exception_ptr error;
  };
  bool advance_to(int64_t batch);
  bool wait_for(int64_t batch);
  void worker_loop();
  void finish_epoch();

  int num_workers_;
  int64_t window_;
  int slots_;
  uint64_t seed_;
  int64_t epoch_ = 0;
  int64_t consumed_ = 0;
  int64_t current_ = -1;
  bool running_ = false;
  bool resume_ = false;

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::vector<std::thread> threads_;
  std::vector<Slot> slot_state_;
  int64_t planned_end_ = 0;  // batches in the epoch as planned (the consumer's copy)
  int64_t next_job_ = 0;
  int64_t limit_ = 0;
  int64_t end_ = 0;  // lowered by a worker when a stream runs out
  bool stop_ = false;
};

/// How a DataLoader batches, orders and loads (PyTorch's DataLoader arguments).
struct DataLoaderOptions {
  /// Examples per batch.
  int64_t batch_size = 1;
  /// A new random order each epoch (a RandomSampler).
  bool shuffle = false;
  /// Drop the last batch when it is short.
  bool drop_last = false;
  /// Worker threads loading ahead (0: load on the consumer's thread).
  int num_workers = 0;
  /// Batches in flight per worker.
  int prefetch_factor = 2;
  /// The seed of shuffling and sample transforms; 0 takes one from the global generator.
  uint64_t seed = 0;
  /// Overrides the order (exclusive with shuffle).
  std::shared_ptr<Sampler> sampler;
  /// Overrides the batching (exclusive with batch_size != 1, shuffle, sampler, drop_last).
  std::shared_ptr<BatchSampler> batch_sampler;
  /// Replaces default_collate; examples are then fetched one by one with get().
  std::function<Batch(const std::vector<Example>&)> collate;
  /// Workers copy each batch into pinned host memory (fast, asynchronous copies to a GPU); off,
  /// with a warning, when no CUDA device is usable.
  bool pin_memory = false;
};

/// Batches of a dataset: `for (const Batch& b : loader)`; each new iteration is a new epoch.
class DataLoader : public EpochRunner {
 public:
  /// A loader over a map-style dataset; ConfigError for bad or conflicting options.
  DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options = {});
  /// A loader over a stream (at most one worker reads it, in order; no sampler or shuffle).
  DataLoader(std::shared_ptr<IterableDataset> dataset, DataLoaderOptions options = {});
  /// Stops and joins the workers.
  ~DataLoader() override;

  /// Walks the batches of the running epoch.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;
    /// The current batch.
    const Batch& operator*() const;
    /// The current batch.
    const Batch* operator->() const { return &**this; }
    /// Moves to the next batch (rethrows a worker's error at its batch).
    Iterator& operator++();
    /// Equal when both are at the end.
    bool operator==(const Iterator& other) const { return at_end() == other.at_end(); }

   private:
    friend class DataLoader;
    explicit Iterator(DataLoader* loader) : loader_(loader) {}
    bool at_end() const { return loader_ == nullptr || !loader_->has_current(); }
    DataLoader* loader_;
  };

  /// Starts a new epoch (or resumes the loaded state) and returns its first batch.
  Iterator begin();
  /// The end of the epoch.
  Iterator end() { return Iterator(nullptr); }
  /// Batches per epoch; NotImplementedError for a stream of unknown length.
  int64_t size() const;
  /// The current batch of the running epoch (IndexError when none is).
  const Batch& current() const;
  /// The batch sampler (null for an IterableDataset).
  const std::shared_ptr<BatchSampler>& batch_sampler() const { return batch_sampler_; }

 protected:
  /// Draws the epoch's batches from the batch sampler, or opens a new stream.
  int64_t plan_epoch(int64_t epoch) override;
  /// get_batch (or get + collate) inside the batch's SampleRngScope; a stream reads in order.
  bool load_batch(int64_t batch, int slot) override;
  /// Drops the slot's tensors.
  void clear_slot(int slot) override;

 private:
  bool load_stream_batch(int64_t batch, int slot);
  void pin(Batch& batch) const;

  std::shared_ptr<Dataset> dataset_;
  std::shared_ptr<IterableDataset> iterable_;
  DataLoaderOptions options_;
  std::shared_ptr<BatchSampler> batch_sampler_;
  std::vector<Batch> slots_;
  int64_t planned_epoch_ = 0;
  std::vector<std::vector<int64_t>> plan_;
  std::vector<int64_t> first_position_;
  std::unique_ptr<ExampleStream> stream_;
  int64_t stream_batch_ = 0;
  bool pin_ = false;  // options_.pin_memory where a CUDA device is usable
};

/// A seed from the global generator (reproducible after manual_seed), never 0.
uint64_t seed_from_global_generator();

}  // namespace lamina::data

#include "lamina/data/loader.h"

#include "lamina/runtime/parallel.h"

#include <limits>
#include <utility>

#include "lamina/core/error.h"
#include "lamina/data/sample_rng.h"
#include "lamina/runtime/config.h"
#include "lamina/runtime/generator.h"

namespace lamina::data {
namespace {

constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::max();
// The Philox sub-stream of loader seeds drawn from the global generator (tensor ops use 0 and 1).
constexpr uint64_t kLoaderSeedStream = 0x10ade5eedull;

}  // namespace

uint64_t seed_from_global_generator() {
  auto& gen = runtime::default_generator();
  uint32_t r[4];
  runtime::Philox::block(gen.current_seed(), gen.reserve(1), kLoaderSeedStream, r);
  const uint64_t seed = uint64_t{r[0]} << 32 | r[1];
  return seed == 0 ? 1 : seed;
}

// ---- EpochRunner ----

EpochRunner::EpochRunner(int num_workers, int prefetch_factor, uint64_t seed)
    : num_workers_(num_workers), seed_(seed) {
  LAMINA_CHECK(num_workers >= 0, ConfigError, "DataLoader", "num_workers option should be non-negative, got ",
               num_workers);
  LAMINA_CHECK(prefetch_factor >= 1, ConfigError, "DataLoader", "prefetch_factor option should be positive, got ",
               prefetch_factor);
  window_ = num_workers == 0 ? 0 : int64_t{num_workers} * prefetch_factor;
  slots_ = static_cast<int>(window_ + 1);
  slot_state_.resize(static_cast<size_t>(slots_));
}

EpochRunner::~EpochRunner() {
  // Derived classes stop in their own destructors (load_batch is theirs); joining here only
  // keeps a derived class that forgot from destroying joinable threads.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

LoaderState EpochRunner::state() const { return {seed_, epoch_, consumed_}; }

void EpochRunner::load_state(const LoaderState& state) {
  LAMINA_CHECK(state.epoch >= 0 && state.batches_consumed >= 0, ValueError, "DataLoader.load_state",
               "epoch and batches_consumed must be non-negative, got ", state.epoch, " and ", state.batches_consumed);
  stop();
  current_ = -1;
  running_ = false;
  resume_ = true;
  seed_ = state.seed == 0 ? seed_ : state.seed;
  epoch_ = state.epoch;
  consumed_ = state.batches_consumed;
}

bool EpochRunner::start() {
  stop();
  current_ = -1;
  if (running_ && !resume_) {  // the epoch in progress is abandoned
    ++epoch_;
    consumed_ = 0;
  }
  if (!resume_) consumed_ = 0;
  resume_ = false;
  const int64_t planned = plan_epoch(epoch_);
  planned_end_ = planned < 0 ? kUnbounded : planned;
  if (consumed_ >= planned_end_ && planned_end_ > 0) {  // resumed at the very end of an epoch: start the next
    ++epoch_;
    consumed_ = 0;
    const int64_t again = plan_epoch(epoch_);
    planned_end_ = again < 0 ? kUnbounded : again;
  }
  end_ = planned_end_;
  running_ = true;
  next_job_ = consumed_;
  limit_ = consumed_ + window_;
  stop_ = false;
  for (Slot& s : slot_state_) s = Slot{};
  const int threads = planned < 0 ? std::min(num_workers_, 1) : num_workers_;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { worker_loop(); });
  return advance_to(consumed_);
}

bool EpochRunner::next() {
  if (current_ < 0) return false;
  clear_slot(current_slot());
  const int64_t following = current_ + 1;
  current_ = -1;
  return advance_to(following);
}

bool EpochRunner::advance_to(int64_t batch) {
  if (batch >= planned_end_) {
    finish_epoch();
    return false;
  }
  bool has_batch = false;
  try {
    has_batch = wait_for(batch);
  } catch (...) {
    stop();  // the epoch stays in progress: the next start() begins a new one
    throw;
  }
  if (!has_batch) {
    finish_epoch();
    return false;
  }
  current_ = batch;
  consumed_ = batch + 1;
  return true;
}

bool EpochRunner::wait_for(int64_t batch) {
  const int slot = static_cast<int>(batch % slots_);
  if (threads_.empty()) return load_batch(batch, slot);
  std::unique_lock<std::mutex> lock(mutex_);
  Slot& s = slot_state_[static_cast<size_t>(slot)];
  done_cv_.wait(lock, [&] { return (s.job == batch && s.done) || batch >= end_; });
  if (s.job != batch || !s.done) return false;  // the stream ended before this batch
  limit_ = batch + 1 + window_;
  work_cv_.notify_all();
  if (s.error) std::rethrow_exception(s.error);
  return s.has_batch;
}

void EpochRunner::worker_loop() {
  runtime::InlineParallelScope inline_ops;  // the pool stays with the training thread
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || (next_job_ < limit_ && next_job_ < end_); });
    if (stop_) return;
    const int64_t job = next_job_++;
    Slot& s = slot_state_[static_cast<size_t>(job % slots_)];
    s = Slot{job, false, false, nullptr};
    lock.unlock();
    bool has_batch = false;
    std::exception_ptr error;
    try {
      has_batch = load_batch(job, static_cast<int>(job % slots_));
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    s.done = true;
    s.has_batch = has_batch;
    s.error = error;
    if (!has_batch && !error && job < end_) end_ = job;  // a stream ran out
    done_cv_.notify_all();
  }
}

void EpochRunner::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  for (Slot& s : slot_state_) s = Slot{};
  for (int slot = 0; slot < slots_; ++slot) clear_slot(slot);
}

void EpochRunner::finish_epoch() {
  stop();
  current_ = -1;
  running_ = false;
  ++epoch_;
  consumed_ = 0;
}

// ---- DataLoader ----

namespace {

DataLoaderOptions checked(DataLoaderOptions o, bool iterable) {
  const char* op = "DataLoader";
  LAMINA_CHECK(o.batch_size > 0, ConfigError, op, "batch_size should be a positive integer, got ", o.batch_size);
  if (o.batch_sampler) {
    LAMINA_CHECK(o.batch_size == 1 && !o.shuffle && !o.sampler && !o.drop_last, ConfigError, op,
                 "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last");
  }
  LAMINA_CHECK(!(o.sampler && o.shuffle), ConfigError, op, "sampler option is mutually exclusive with shuffle");
  LAMINA_CHECK(!iterable || (!o.sampler && !o.batch_sampler && !o.shuffle), ConfigError, op,
               "an IterableDataset has no indices: sampler, batch_sampler and shuffle cannot be used with it");
  if (o.seed == 0) o.seed = seed_from_global_generator();
  return o;
}

// Whether batches are pinned: as in PyTorch, pin_memory without a GPU only warns.
bool pin_batches(bool requested) {
  if (!requested) return false;
  if (cuda_device_count() > 0) return true;
  log(LogLevel::Warn, "DataLoader: pin_memory is set but no CUDA device is usable; batches stay in pageable memory");
  return false;
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options)
    : EpochRunner(options.num_workers, options.prefetch_factor, checked(options, false).seed),
      dataset_(std::move(dataset)),
      options_(std::move(options)) {
  LAMINA_CHECK(dataset_ != nullptr, ValueError, "DataLoader", "the dataset is null");
  options_.seed = seed();
  pin_ = pin_batches(options_.pin_memory);
  if (options_.batch_sampler) {
    batch_sampler_ = options_.batch_sampler;
  } else {
    std::shared_ptr<Sampler> sampler = options_.sampler;
    if (!sampler && options_.shuffle) sampler = std::make_shared<RandomSampler>(dataset_->size());
    if (!sampler) sampler = std::make_shared<SequentialSampler>(dataset_->size());
    batch_sampler_ = std::make_shared<BatchSampler>(sampler, options_.batch_size, options_.drop_last);
  }
  slots_.resize(static_cast<size_t>(slot_count()));
}

DataLoader::DataLoader(std::shared_ptr<IterableDataset> dataset, DataLoaderOptions options)
    : EpochRunner(options.num_workers, options.prefetch_factor, checked(options, true).seed),
      iterable_(std::move(dataset)),
      options_(std::move(options)) {
  LAMINA_CHECK(iterable_ != nullptr, ValueError, "DataLoader", "the dataset is null");
  options_.seed = seed();
  pin_ = pin_batches(options_.pin_memory);
  slots_.resize(static_cast<size_t>(slot_count()));
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::size() const {
  if (batch_sampler_) return batch_sampler_->size();
  const std::optional<int64_t> n = iterable_->size();
  LAMINA_CHECK(n.has_value(), NotImplementedError, "DataLoader", "the IterableDataset does not know its size");
  const int64_t b = options_.batch_size;
  return options_.drop_last ? *n / b : (*n + b - 1) / b;
}

int64_t DataLoader::plan_epoch(int64_t epoch) {
  planned_epoch_ = epoch;
  if (iterable_) {
    stream_ = iterable_->stream();
    stream_batch_ = 0;
    LAMINA_CHECK(stream_ != nullptr, ValueError, "DataLoader", "the IterableDataset returned a null stream");
    return -1;
  }
  plan_ = batch_sampler_->batches(seed(), static_cast<uint64_t>(epoch));
  first_position_.assign(plan_.size(), 0);
  int64_t position = 0;
  for (size_t b = 0; b < plan_.size(); ++b) {
    first_position_[b] = position;
    position += static_cast<int64_t>(plan_[b].size());
  }
  return static_cast<int64_t>(plan_.size());
}

bool DataLoader::load_batch(int64_t batch, int slot) {
  if (iterable_) return load_stream_batch(batch, slot);
  const std::vector<int64_t>& indices = plan_[static_cast<size_t>(batch)];
  const uint64_t key = SampleRng::key_for(static_cast<uint64_t>(planned_epoch_),
                                          static_cast<uint64_t>(first_position_[static_cast<size_t>(batch)]));
  Batch& out = slots_[static_cast<size_t>(slot)];
  if (!options_.collate) {
    SampleRngScope scope(seed(), key);  // Dataset::get_batch derives sample k's key as key + k
    out = dataset_->get_batch(indices);
    pin(out);
    return true;
  }
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    SampleRngScope scope(seed(), key + k);
    examples.push_back(dataset_->get(indices[k]));
  }
  out = options_.collate(examples);
  pin(out);
  return true;
}

bool DataLoader::load_stream_batch(int64_t batch, int slot) {
  const int64_t size = options_.batch_size;
  // Batches of a stream load in order; a resumed epoch first skips the delivered examples.
  for (; stream_batch_ < batch; ++stream_batch_)
    for (int64_t k = 0; k < size; ++k)
      if (!stream_->next()) return false;
  std::vector<Example> examples;
  for (int64_t k = 0; k < size; ++k) {
    SampleRngScope scope(seed(), SampleRng::key_for(static_cast<uint64_t>(planned_epoch_),
                                                    static_cast<uint64_t>(batch * size + k)));
    std::optional<Example> e = stream_->next();
    if (!e) break;
    examples.push_back(std::move(*e));
  }
  ++stream_batch_;
  if (examples.empty() || (options_.drop_last && static_cast<int64_t>(examples.size()) < size)) return false;
  slots_[static_cast<size_t>(slot)] = options_.collate ? options_.collate(examples) : default_collate(examples);
  pin(slots_[static_cast<size_t>(slot)]);
  return true;
}

void DataLoader::pin(Batch& batch) const {
  if (!pin_) return;
  for (Tensor& t : batch)
    if (t.defined() && t.device().is_cpu()) t = t.pin_memory();
}

void DataLoader::clear_slot(int slot) { slots_[static_cast<size_t>(slot)].clear(); }

const Batch& DataLoader::current() const {
  LAMINA_CHECK(has_current(), IndexError, "DataLoader", "no batch is current: the epoch has not started or has ended");
  return slots_[static_cast<size_t>(current_slot())];
}

const Batch& DataLoader::Iterator::operator*() const {
  LAMINA_CHECK(loader_ != nullptr, IndexError, "DataLoader", "dereferencing the end of the epoch");
  return loader_->current();
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  if (!at_end()) loader_->next();
  return *this;
}

DataLoader::Iterator DataLoader::begin() {
  start();
  return Iterator(this);
}

}  // namespace lamina::data

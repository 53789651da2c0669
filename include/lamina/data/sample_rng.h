#pragma once
// The random stream of one sample. Random transforms draw from current_sample_rng(); the
// DataLoader installs a stream keyed by (loader seed, epoch, position in the epoch) around each
// sample, so a seeded epoch transforms every sample identically for any worker count.
#include <cstdint>

namespace lamina::data {

/// A counter-based Philox stream: the n-th draw depends only on (seed, key, n).
class SampleRng {
 public:
  /// The stream keyed by (seed, key), starting at its first draw.
  SampleRng(uint64_t seed, uint64_t key);
  /// The key of sample `position` of epoch `epoch`: epoch << 40 | position (positions below
  /// 2^40), so sample k of a batch whose first sample has key K has key K + k.
  static uint64_t key_for(uint64_t epoch, uint64_t position);
  /// The next 32 random bits.
  uint32_t next_u32();
  /// The next 64 random bits.
  uint64_t next_u64();
  /// A double uniform in [0, 1) with 53 random bits.
  double uniform();
  /// An integer uniform in [0, n), without modulo bias; ValueError when n <= 0.
  int64_t randint(int64_t n);
  /// The seed of this stream.
  uint64_t seed() const { return seed_; }
  /// The key of this stream.
  uint64_t key() const { return key_; }

 private:
  uint64_t seed_;
  uint64_t key_;
  uint64_t counter_ = 0;
  uint32_t block_[4] = {0, 0, 0, 0};
  int used_ = 4;
};

/// The current thread's sample stream: the innermost SampleRngScope's, or outside any scope a
/// fresh stream keyed from the global generator on each call (reproducible after manual_seed).
SampleRng& current_sample_rng();

/// The innermost SampleRngScope's stream on this thread, or nullptr outside any scope.
const SampleRng* scoped_sample_rng();

/// Installs the stream (seed, key) as the current thread's for its lifetime (RAII, nestable).
class SampleRngScope {
 public:
  /// Makes SampleRng(seed, key) current until destruction.
  SampleRngScope(uint64_t seed, uint64_t key);
  /// Restores the previously current stream.
  ~SampleRngScope();
  SampleRngScope(const SampleRngScope&) = delete;
  SampleRngScope& operator=(const SampleRngScope&) = delete;

 private:
  SampleRng rng_;
  SampleRng* previous_;
};

}  // namespace lamina::data

#pragma once
// The seeded random generator: counter-based Philox4x32-10, so element i of a draw depends
// only on (seed, offset + i) — the same bits for any thread count or chunking.
#include <cstdint>
#include <mutex>

namespace lamina::runtime {

/// Philox4x32-10 keyed by a seed; yields 4 uint32 per counter value.
struct Philox {
  /// Four 32-bit random words for counter `counter` (and a sub-stream `stream`).
  static void block(uint64_t seed, uint64_t counter, uint64_t stream, uint32_t out[4]);
};

/// Global generator state: a seed plus a running offset that reserves counters per draw.
class Generator {
 public:
  /// Sets the seed and resets the offset.
  void seed(uint64_t seed);
  /// The current seed.
  uint64_t current_seed();
  /// Reserves `n` counters and returns the first one.
  uint64_t reserve(uint64_t n);
  /// Current offset (for checkpointing).
  uint64_t offset();
  /// Restores an offset.
  void set_offset(uint64_t offset);

 private:
  std::mutex mutex_;
  uint64_t seed_ = 0x5eed;
  uint64_t offset_ = 0;
};

/// The process-wide generator.
Generator& default_generator();

}  // namespace lamina::runtime

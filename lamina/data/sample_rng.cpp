#include "lamina/data/sample_rng.h"

#include "lamina/core/error.h"
#include "lamina/runtime/generator.h"

namespace lamina::data {
namespace {

// Philox sub-streams 0 and 1 belong to the tensor random ops; sample streams set the top bit
// of the stream word so they never reuse a tensor op's counters.
constexpr uint64_t kSampleStreamBit = uint64_t{1} << 63;
constexpr uint64_t kGlobalSeedTweak = 0x9e3779b97f4a7c15ull;

thread_local SampleRng* t_current = nullptr;

uint64_t stream_word(uint64_t key) { return key | kSampleStreamBit; }

}  // namespace

SampleRng::SampleRng(uint64_t seed, uint64_t key) : seed_(seed), key_(key) {}

uint64_t SampleRng::key_for(uint64_t epoch, uint64_t position) {
  return epoch << 40 | (position & ((uint64_t{1} << 40) - 1));
}

uint32_t SampleRng::next_u32() {
  if (used_ == 4) {
    runtime::Philox::block(seed_, counter_++, stream_word(key_), block_);
    used_ = 0;
  }
  return block_[used_++];
}

uint64_t SampleRng::next_u64() {
  const uint64_t hi = next_u32();
  return hi << 32 | next_u32();
}

double SampleRng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

int64_t SampleRng::randint(int64_t n) {
  LAMINA_CHECK(n > 0, ValueError, "SampleRng.randint", "the upper bound must be positive, got ", n);
  const uint64_t range = static_cast<uint64_t>(n);
  // Rejection keeps every value equally likely: draws at or above the largest multiple of
  // `range` are redrawn (at most half of them, so the loop ends fast).
  const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t x = next_u64();
  while (x >= limit) x = next_u64();
  return static_cast<int64_t>(x % range);
}

SampleRng& current_sample_rng() {
  if (t_current) return *t_current;
  thread_local SampleRng fallback(0, 0);
  auto& gen = runtime::default_generator();
  fallback = SampleRng(gen.current_seed() ^ kGlobalSeedTweak, gen.reserve(1));
  return fallback;
}

const SampleRng* scoped_sample_rng() { return t_current; }

SampleRngScope::SampleRngScope(uint64_t seed, uint64_t key) : rng_(seed, key), previous_(t_current) {
  t_current = &rng_;
}

SampleRngScope::~SampleRngScope() { t_current = previous_; }

}  // namespace lamina::data

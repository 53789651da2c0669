#include "lamina/train/seed.h"

#include <atomic>
#include <cstdlib>
#include <random>

#include "lamina/ops/creation.h"

namespace lamina::train {

namespace {
std::atomic<bool> g_seeded{false};
std::atomic<uint64_t> g_seed{0};
}  // namespace

uint64_t seed_everything(std::optional<uint64_t> seed) {
  uint64_t s = 0;
  if (seed) {
    s = *seed;
  } else {
    std::random_device rd;
    s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  manual_seed(s);
  // C's rand() takes 32 bits; fold the high half in so seeds differing only there differ too.
  std::srand(static_cast<unsigned>(s ^ (s >> 32)));
  g_seed.store(s);
  g_seeded.store(true);
  return s;
}

std::optional<uint64_t> recorded_seed() {
  if (!g_seeded.load()) return std::nullopt;
  return g_seed.load();
}

}  // namespace lamina::train

#pragma once
// Seeding for reproducible runs: one call seeds lamina's global generator (random ops, weight
// init, dropout, DataLoader shuffling and sample streams derive from it) and records the seed
// so checkpoints and logs can report it.
#include <cstdint>
#include <optional>

namespace lamina::train {

/// Seeds lamina's global generator and C's rand() with `seed` (a fresh random seed when none is
/// given) and records it; returns the seed used.
uint64_t seed_everything(std::optional<uint64_t> seed = std::nullopt);

/// The seed of the last seed_everything call, or nullopt if it was never called.
std::optional<uint64_t> recorded_seed();

}  // namespace lamina::train

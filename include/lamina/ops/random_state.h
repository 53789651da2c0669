#pragma once
// The global generator's state as a tensor (torch.get_rng_state / set_rng_state).
#include "lamina/core/tensor.h"

namespace lamina {

/// The generator's state: 16 bytes (seed, then draw offset, little-endian) as a uint8 tensor.
Tensor get_rng_state();
/// Restores a state get_rng_state() returned; ValueError for any other tensor.
void set_rng_state(const Tensor& state);

}  // namespace lamina

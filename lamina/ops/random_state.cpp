#include "lamina/ops/random_state.h"

#include <cstring>

#include "lamina/core/error.h"
#include "lamina/runtime/generator.h"

namespace lamina {

namespace {
constexpr int64_t kStateBytes = 16;
}

Tensor get_rng_state() {
  runtime::Generator& gen = runtime::default_generator();
  const uint64_t words[2] = {gen.current_seed(), gen.offset()};
  Tensor state = Tensor::empty({kStateBytes}, Dtype::UInt8);
  std::memcpy(state.data_ptr(), words, sizeof(words));  // little-endian hosts only (x86-64, aarch64)
  return state;
}

void set_rng_state(const Tensor& state) {
  LAMINA_CHECK(
      state.dtype() == Dtype::UInt8 && state.dim() == 1 && state.numel() == kStateBytes && state.device().is_cpu(),
      ValueError, "set_rng_state", "expected the 16-byte uint8 CPU tensor get_rng_state() returns, got ",
      describe(state));
  uint64_t words[2];
  std::memcpy(words, state.contiguous().data_ptr(), sizeof(words));
  runtime::Generator& gen = runtime::default_generator();
  gen.seed(words[0]);
  gen.set_offset(words[1]);
}

}  // namespace lamina

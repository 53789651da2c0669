#include "lamina/runtime/generator.h"

#include "lamina/kernels/random_math.h"

namespace lamina::runtime {

void Philox::block(uint64_t seed, uint64_t counter, uint64_t stream, uint32_t out[4]) {
  kernels::philox(seed, counter, stream, out);
}

void Generator::seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  seed_ = seed;
  offset_ = 0;
}

uint64_t Generator::current_seed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return seed_;
}

uint64_t Generator::reserve(uint64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t first = offset_;
  offset_ += n;
  return first;
}

uint64_t Generator::offset() {
  std::lock_guard<std::mutex> lock(mutex_);
  return offset_;
}

void Generator::set_offset(uint64_t offset) {
  std::lock_guard<std::mutex> lock(mutex_);
  offset_ = offset;
}

Generator& default_generator() {
  static Generator g;
  return g;
}

}  // namespace lamina::runtime

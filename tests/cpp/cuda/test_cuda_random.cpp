// The device random draws (lamina/kernels/cuda/random_math.cuh), run on the CPU, against the CPU
// generator and kernels: the same Philox words, and the same elements for the same seed and
// counter, bit for bit, in every dtype and for strided outputs.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "lamina/kernels/cuda/random_math.cuh"
#include "lamina/lamina.h"
#include "lamina/runtime/generator.h"

using namespace lamina;
namespace rm = lamina::kernels::cuda::random_math;

namespace {

// Expects that the CPU fill `t` (drawn with `seed` from counter `first`, row-major over t) holds
// draw<T>(seed, first + k) at element k.
template <class Draw>
void expect_same(const Tensor& t, uint64_t seed, uint64_t first, Draw draw, const std::string& what) {
  const Tensor c = t.contiguous();
  kernels::cuda::visit_storage(t.dtype(), [&](auto s) {
    using T = decltype(s);
    const T* got = reinterpret_cast<const T*>(c.data_ptr());
    for (int64_t k = 0; k < c.numel(); ++k) {
      const T want = draw(T{}, seed, first + static_cast<uint64_t>(k));
      ASSERT_EQ(std::memcmp(&want, got + k, sizeof(T)), 0) << what << " " << dtype_name(t.dtype()) << " element " << k;
    }
  });
}

}  // namespace

TEST(CudaRandomMath, PhiloxMatchesRuntime) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const uint64_t seed = rng(), counter = i < 1000 ? uint64_t(i) : rng(), stream = i % 3 == 0 ? rng() : i % 2;
    uint32_t a[4], b[4];
    runtime::Philox::block(seed, counter, stream, a);
    rm::philox(seed, counter, stream, b);
    for (int w = 0; w < 4; ++w) ASSERT_EQ(a[w], b[w]) << "seed " << seed << " counter " << counter;
  }
}

TEST(CudaRandomMath, UniformMatchesCpuKernel) {
  const std::pair<double, double> ranges[] = {{0.0, 1.0}, {-3.5, 2.25}, {1.0, 1.0 + 1e-3}, {-1e6, 1e6}, {2.0, 2.0}};
  for (Dtype dt : {Dtype::Float32, Dtype::Float64, Dtype::Float16, Dtype::BFloat16}) {
    for (auto [lo, hi] : ranges) {
      manual_seed(99);
      Tensor t = empty({3001}, {dt});
      const uint64_t seed = initial_seed(), first = runtime::default_generator().offset();
      uniform_(t, lo, hi);
      expect_same(
          t, seed, first,
          [&](auto s, uint64_t sd, uint64_t k) { return rm::uniform_element<decltype(s)>(sd, k, lo, hi); },
          "uniform [" + std::to_string(lo) + ", " + std::to_string(hi) + ")");
    }
  }
}

// Half-precision uniforms near the top of [0, 1) round up to 1; the clamp back to lo must agree.
TEST(CudaRandomMath, UniformUpperBoundClampMatches) {
  manual_seed(5);
  Tensor t = empty({20000}, {Dtype::BFloat16});
  const uint64_t seed = initial_seed(), first = runtime::default_generator().offset();
  uniform_(t, 0.0, 1.0);
  expect_same(
      t, seed, first, [](auto s, uint64_t sd, uint64_t k) { return rm::uniform_element<decltype(s)>(sd, k, 0.0, 1.0); },
      "uniform bf16");
}

TEST(CudaRandomMath, NormalMatchesCpuKernel) {
  for (Dtype dt : {Dtype::Float32, Dtype::Float64, Dtype::Float16, Dtype::BFloat16}) {
    manual_seed(2024);
    runtime::default_generator().reserve(12345);  // a non-zero starting counter
    Tensor t = empty({4099}, {dt});
    const uint64_t seed = initial_seed(), first = runtime::default_generator().offset();
    normal_(t, 0.5, 2.0);
    expect_same(
        t, seed, first,
        [](auto s, uint64_t sd, uint64_t k) { return rm::normal_element<decltype(s)>(sd, k, 0.5, 2.0); }, "normal");
  }
}

TEST(CudaRandomMath, RandintMatchesCpuKernel) {
  const std::pair<int64_t, int64_t> ranges[] = {{0, 10}, {-5, 5}, {0, 2}, {-100, 27}};
  for (Dtype dt : {Dtype::Int64, Dtype::Int32, Dtype::Int8, Dtype::UInt8, Dtype::Float32, Dtype::Float16}) {
    for (auto [lo, hi] : ranges) {
      if (dt == Dtype::UInt8 && lo < 0) continue;
      manual_seed(31337);
      const uint64_t seed = initial_seed(), first = runtime::default_generator().offset();
      Tensor t = randint(lo, hi, {513}, dt);
      expect_same(
          t, seed, first,
          [&](auto s, uint64_t sd, uint64_t k) { return rm::randint_element<decltype(s)>(sd, k, lo, hi); }, "randint");
    }
  }
  manual_seed(1);
  const uint64_t seed = initial_seed(), first = runtime::default_generator().offset();
  const int64_t lo = std::numeric_limits<int64_t>::min() / 2, hi = std::numeric_limits<int64_t>::max() / 2;
  Tensor wide = randint(lo, hi, {257}, Dtype::Int64);
  expect_same(
      wide, seed, first,
      [&](auto s, uint64_t sd, uint64_t k) { return rm::randint_element<decltype(s)>(sd, k, lo, hi); }, "randint wide");
}

// A strided output is numbered row-major over its own shape, as the device kernel numbers it.
TEST(CudaRandomMath, StridedOutputNumbering) {
  manual_seed(3);
  Tensor base = zeros({8, 6});
  Tensor view = base.transpose(0, 1).slice(0, 1, 6, 2);  // (3, 8), non-contiguous
  const uint64_t seed = initial_seed(), first = runtime::default_generator().offset();
  uniform_(view, -1.0, 1.0);
  expect_same(
      view, seed, first,
      [](auto s, uint64_t sd, uint64_t k) { return rm::uniform_element<decltype(s)>(sd, k, -1.0, 1.0); },
      "uniform strided");
}

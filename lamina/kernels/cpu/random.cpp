// Random fills from the counter-based generator: element k of a draw uses counter
// (params.i + k) under seed params.j, so results do not depend on how work is split.
#include <cmath>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/runtime/generator.h"

namespace lamina::kernels::cpu {
namespace {

double uniform01(uint32_t hi, uint32_t lo) {
  // 53 random bits -> [0, 1).
  uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// Writes draw(random words) to each element; integer draws are stored exactly.
template <class T, class Draw>
void fill_random(const StridedLoop& loop, const KernelParams& params, Draw draw) {
  const uint64_t seed = static_cast<uint64_t>(params.j);
  uint64_t k = static_cast<uint64_t>(params.i);
  for_each_row<1>(loop, [&](char** p, const int64_t* s, int64_t n) {
    for (int64_t e = 0; e < n; ++e, ++k) {
      uint32_t r[4];
      runtime::Philox::block(seed, k, 0, r);
      const auto v = draw(r);
      if constexpr (std::is_integral_v<T>) *reinterpret_cast<T*>(p[0] + e * s[0]) = static_cast<T>(v);
      else *reinterpret_cast<T*>(p[0] + e * s[0]) = T(static_cast<compute_t<T>>(v));
    }
  });
}

// U(params.a, params.b).
template <class T>
struct UniformKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    const double lo = params.a, width = params.b - params.a;
    fill_random<T>(loop, params, [&](const uint32_t* r) {
      double v = lo + width * uniform01(r[0], r[1]);
      // Rounding to a narrow float may reach the upper bound; keep the interval half-open.
      compute_t<T> c = static_cast<compute_t<T>>(v);
      if (static_cast<double>(static_cast<compute_t<T>>(T(c))) >= params.b && width > 0) v = lo;
      return v;
    });
  }
};

// N(params.a, params.b) by Box-Muller.
template <class T>
struct NormalKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    fill_random<T>(loop, params, [&](const uint32_t* r) {
      double u1 = 1.0 - uniform01(r[0], r[1]);  // (0, 1]
      double u2 = uniform01(r[2], r[3]);
      return params.a + params.b * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    });
  }
};

// Integers in [params.lo, params.hi) (the op layer guarantees hi > lo without overflow);
// modulo bias is below 2^-32 for spans under 2^32.
template <class T>
struct RandintKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    const uint64_t span = static_cast<uint64_t>(params.hi) - static_cast<uint64_t>(params.lo);
    fill_random<T>(loop, params, [&](const uint32_t* r) {
      const uint64_t bits = (static_cast<uint64_t>(r[0]) << 32) | r[1];
      return static_cast<int64_t>(static_cast<uint64_t>(params.lo) + bits % span);
    });
  }
};

}  // namespace

void register_random_kernels() {
  register_each<UniformKernel, LAMINA_FLOAT_TYPES>("uniform");
  register_each<NormalKernel, LAMINA_FLOAT_TYPES>("normal");
  register_each<RandintKernel, LAMINA_INT_TYPES, LAMINA_FLOAT_TYPES>("randint");
}

}  // namespace lamina::kernels::cpu

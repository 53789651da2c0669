// Random fills from the counter-based generator: element k of a draw uses counter
// (params.i + k) under seed params.j, so results do not depend on how work is split.
#include <cmath>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/random_math.h"

namespace lamina::kernels::cpu {
namespace {

// Writes draw(counter) to each element; integer draws are stored exactly.
template <class T, class Draw>
void fill_random(const StridedLoop& loop, const KernelParams& params, Draw draw) {
  uint64_t k = static_cast<uint64_t>(params.i);
  for_each_row<1>(loop, [&](char** p, const int64_t* s, int64_t n) {
    for (int64_t e = 0; e < n; ++e, ++k) {
      const auto v = draw(k);
      if constexpr (std::is_integral_v<T>)
        *reinterpret_cast<T*>(p[0] + e * s[0]) = static_cast<T>(v);
      else
        *reinterpret_cast<T*>(p[0] + e * s[0]) = T(static_cast<compute_t<T>>(v));
    }
  });
}

// U(params.a, params.b) under seed params.j.
template <class T>
struct UniformKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    const uint64_t seed = static_cast<uint64_t>(params.j);
    const auto round_trip = [](double v) {
      return static_cast<double>(static_cast<compute_t<T>>(T(static_cast<compute_t<T>>(v))));
    };
    fill_random<T>(loop, params, [&](uint64_t k) { return uniform_value(seed, k, params.a, params.b, round_trip); });
  }
};

// N(params.a, params.b).
template <class T>
struct NormalKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    const uint64_t seed = static_cast<uint64_t>(params.j);
    fill_random<T>(loop, params, [&](uint64_t k) { return normal_value(seed, k, params.a, params.b); });
  }
};

// Integers in [params.lo, params.hi) (the op layer guarantees hi > lo without overflow).
template <class T>
struct RandintKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    const uint64_t seed = static_cast<uint64_t>(params.j);
    fill_random<T>(loop, params, [&](uint64_t k) { return randint_value(seed, k, params.lo, params.hi); });
  }
};

}  // namespace

void register_random_kernels() {
  register_each<UniformKernel, LAMINA_FLOAT_TYPES>(Op::uniform);
  register_each<NormalKernel, LAMINA_FLOAT_TYPES>(Op::normal);
  register_each<RandintKernel, LAMINA_INT_TYPES, LAMINA_FLOAT_TYPES>(Op::randint);
}

}  // namespace lamina::kernels::cpu

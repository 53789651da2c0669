#pragma once
// The counter-based random draws, one definition for every backend (the CPU kernels, the CUDA
// kernels, the runtime's generator and the data loader's per-sample streams): Philox4x32-10, the
// 53-bit uniform, and the uniform / normal / randint transforms of one element. Element k of a
// draw uses counter (offset + k) under the seed, so any split of the work, on any device, gives
// the same numbers. Double arithmetic goes through dmul / dadd, explicitly rounded on a CUDA
// device (no FMA contraction), so uniform and randint are bit-exact across devices; normal uses
// the platform's log and cos (glibc on the host, libdevice on a GPU, within 1 and 2 ulp in
// double), so a double can differ in its last bit.
#include <cmath>
#include <cstdint>

#include "lamina/kernels/host_device.h"

namespace lamina::kernels {

/// Philox4x32-10: four random words for (seed, counter, stream).
LAMINA_HD inline void philox(uint64_t seed, uint64_t counter, uint64_t stream, uint32_t out[4]) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n1 = static_cast<uint32_t>(p1);
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    const uint32_t n3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += kW0;
    k1 += kW1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/// 53 random bits from two words mapped to [0, 1).
LAMINA_HD inline double uniform01(uint32_t hi, uint32_t lo) {
  const uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/// a * b rounded once (never fused into an FMA).
LAMINA_HD inline double dmul(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

/// a + b rounded once.
LAMINA_HD inline double dadd(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

/// The value of element `counter` of a U(lo, hi) draw; `round_trip(v)` is v stored in the
/// output dtype and read back, so a value that rounds up to hi is replaced by lo.
template <class RoundTrip>
LAMINA_HD inline double uniform_value(uint64_t seed, uint64_t counter, double lo, double hi, RoundTrip round_trip) {
  uint32_t r[4];
  philox(seed, counter, 0, r);
  const double width = hi - lo;
  const double v = dadd(lo, dmul(width, uniform01(r[0], r[1])));
  return round_trip(v) >= hi && width > 0 ? lo : v;
}

/// The value of element `counter` of an N(mean, std) draw, by Box-Muller.
LAMINA_HD inline double normal_value(uint64_t seed, uint64_t counter, double mean, double std) {
  uint32_t r[4];
  philox(seed, counter, 0, r);
  const double u1 = dadd(1.0, -uniform01(r[0], r[1]));  // (0, 1]
  const double u2 = uniform01(r[2], r[3]);
  const double radius = std::sqrt(dmul(-2.0, std::log(u1)));
  const double angle = std::cos(dmul(6.283185307179586, u2));
  return dadd(mean, dmul(dmul(std, radius), angle));
}

/// Element `counter` of an integer draw in [lo, hi) (hi > lo, the span fits uint64); the modulo
/// bias is below 2^-32 for spans under 2^32.
LAMINA_HD inline int64_t randint_value(uint64_t seed, uint64_t counter, int64_t lo, int64_t hi) {
  uint32_t r[4];
  philox(seed, counter, 0, r);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  const uint64_t bits = (static_cast<uint64_t>(r[0]) << 32) | r[1];
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + bits % span);
}

}  // namespace lamina::kernels

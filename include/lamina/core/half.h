#pragma once
// 16-bit floating-point storage types (IEEE half and bfloat16) with float conversion.
#include <cstdint>
#include <cstring>

namespace lamina {

namespace detail {
inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace detail

/// IEEE 754 binary16, stored as raw bits; arithmetic happens in float.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  /// Converts from float with round-to-nearest-even.
  Half(float f) : bits(from_float(f)) {}  // NOLINT(google-explicit-constructor)
  /// Converts to float exactly.
  operator float() const { return to_float(bits); }  // NOLINT

  /// Rounds a float to the nearest half, ties to even; overflow gives infinity.
  static uint16_t from_float(float f) {
    uint32_t x = detail::float_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520
    if (abs < 0x38800000u) {  // subnormal half (or zero)
      // Adding 0.5 in float aligns the mantissa so the hardware rounds for us.
      float v = detail::bits_float(abs) + 0.5f;
      return static_cast<uint16_t>(sign | (detail::float_bits(v) - 0x3f000000u));
    }
    uint32_t mant_odd = (abs >> 13) & 1u;
    abs += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round to nearest even
    return static_cast<uint16_t>(sign | (abs >> 13));
  }
  /// Widens half bits to float.
  static float to_float(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) return detail::bits_float(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
      float v = static_cast<float>(mant) * (1.0f / 16777216.0f);  // mant * 2^-24
      return sign ? -v : v;
    }
    return detail::bits_float(sign | ((exp + 112) << 23) | (mant << 13));
  }
};

/// bfloat16 (the top half of a float32), stored as raw bits.
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  /// Converts from float with round-to-nearest-even; NaN stays NaN.
  BFloat16(float f) : bits(from_float(f)) {}  // NOLINT(google-explicit-constructor)
  /// Converts to float exactly.
  operator float() const { return detail::bits_float(static_cast<uint32_t>(bits) << 16); }  // NOLINT

  /// Rounds a float to bfloat16, ties to even.
  static uint16_t from_float(float f) {
    uint32_t x = detail::float_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return static_cast<uint16_t>(x >> 16);
  }
};

}  // namespace lamina

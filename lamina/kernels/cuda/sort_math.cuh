#pragma once
// Radix keys for the device sort (sort.cu): an unsigned integer per element whose ascending
// order is the CPU sort's total order (lamina/kernels/cpu/sort.cpp): NaN largest (all NaNs
// equal), -0 equal to +0, and for descending sorts the bitwise complement, so that a stable sort
// by key keeps equal values in their original order in both directions, as the CPU does.
// Compiles with the host compiler too (tests).
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/loops.h"

namespace lamina::kernels::cuda::sort_math {

/// The key type of storage type T: 64 bits for 8-byte values, else 32.
template <class T>
using key_t = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;

/// The order-preserving key of one value (complemented when descending).
template <class T>
LAMINA_HD inline key_t<T> sort_key(T v, bool descending) {
  using K = key_t<T>;
  constexpr K kSign = K{1} << (sizeof(K) * 8 - 1);
  K key;
  if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) {
    key = static_cast<K>(v);
  } else if constexpr (std::is_integral_v<T>) {
    using S = std::make_signed_t<K>;
    key = static_cast<K>(static_cast<S>(v)) ^ kSign;
  } else {
    using C = compute_t<T>;
    static_assert(sizeof(C) == sizeof(K));
    C c = to_compute(v);
    if (c != c) {
      key = ~K{0};
    } else {
      if (c == C(0)) c = C(0);  // -0 sorts as +0
      K bits;
      memcpy(&bits, &c, sizeof(K));
      key = (bits & kSign) ? ~bits : (bits | kSign);
    }
  }
  return descending ? ~key : key;
}

/// Byte offsets of line o's first element in the input and both outputs.
LAMINA_HD inline void line_offsets(const kernels::LineLoop& loop, int64_t o, int64_t& in, int64_t& out, int64_t& out2) {
  in = out = out2 = 0;
  for (int d = loop.outer_ndim - 1; d >= 0; --d) {
    const int64_t i = o % loop.outer_shape[d];
    o /= loop.outer_shape[d];
    in += i * loop.in_outer[d];
    out += i * loop.out_outer[d];
    out2 += i * loop.out2_outer[d];
  }
}

}  // namespace lamina::kernels::cuda::sort_math

// Indexing kernels: take / put through an index operand (gather, scatter and advanced
// indexing), index-to-byte-offset conversion, and mask walks (mask offsets, nonzero).
// Every index and mask was range- and shape-checked by the op layer.
#include <cstring>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/loops.h"

namespace lamina::kernels::cpu {

using kernels::MaskLoop;
/// Signature of the mask-walking kernels.
using MaskKernel = void (*)(const MaskLoop&, const KernelParams&);

namespace {

// Operands: out, index (int64), source base. out = *(source + index * params.i), so params.i
// is the byte stride of the gathered dim (gather) or 1 when the index holds byte offsets.
template <class T>
struct TakeKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    const int64_t scale = params.i;
    for_each_row<3>(loop, [&](char** p, const int64_t* s, int64_t n) {
      if (s[1] == 0) {  // one index for the whole row (advanced indexing's trailing dims): a strided copy
        const char* src = p[2] + *reinterpret_cast<const int64_t*>(p[1]) * scale;
        if (s[0] == sizeof(T) && s[2] == sizeof(T)) {
          std::memcpy(p[0], src, static_cast<size_t>(n) * sizeof(T));
        } else {
          for (int64_t i = 0; i < n; ++i)
            *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(src + i * s[2]);
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        const int64_t j = *reinterpret_cast<const int64_t*>(p[1] + i * s[1]);
        *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(p[2] + i * s[2] + j * scale);
      }
    });
  }
};

template <class T>
T combine(T dst, T v, int64_t mode) {
  if constexpr (std::is_same_v<T, bool>) {
    return mode == 1 ? (dst || v) : (dst && v);
  } else {
    using C = compute_t<T>;
    return T(
        static_cast<C>(mode == 1 ? static_cast<C>(dst) + static_cast<C>(v) : static_cast<C>(dst) * static_cast<C>(v)));
  }
}

// Operands: destination base, index (int64), values. *(destination + index * params.i) = value;
// params.j: 0 assigns, 1 adds, 2 multiplies. Elements are visited in row-major order, so with
// repeated indices the last assignment wins and accumulations are deterministic.
template <class T>
struct PutKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    const int64_t scale = params.i, mode = params.j;
    for_each_row<3>(loop, [&](char** p, const int64_t* s, int64_t n) {
      if (s[1] == 0 && mode == 0) {  // one index for the whole row: a strided copy
        char* dst = p[0] + *reinterpret_cast<const int64_t*>(p[1]) * scale;
        for (int64_t i = 0; i < n; ++i)
          *reinterpret_cast<T*>(dst + i * s[0]) = *reinterpret_cast<const T*>(p[2] + i * s[2]);
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        const int64_t j = *reinterpret_cast<const int64_t*>(p[1] + i * s[1]);
        T* dst = reinterpret_cast<T*>(p[0] + i * s[0] + j * scale);
        const T v = *reinterpret_cast<const T*>(p[2] + i * s[2]);
        *dst = mode == 0 ? v : combine(*dst, v, mode);
      }
    });
  }
};

// Operands: out (int64 byte offsets), index (integer type I). out (+)= wrap(index) * params.j,
// where wrap adds params.i to negative indices when params.i > 0; params.lo == 1 accumulates.
template <class I>
struct IndexOffsetsKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    const int64_t size = params.i, stride = params.j;
    const bool accumulate = params.lo == 1;
    for_each_row<2>(loop, [&](char** p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = static_cast<int64_t>(*reinterpret_cast<const I*>(p[1] + i * s[1]));
        if (v < 0 && size > 0) v += size;
        int64_t* o = reinterpret_cast<int64_t*>(p[0] + i * s[0]);
        *o = accumulate ? *o + v * stride : v * stride;
      }
    });
  }
};

// Calls f(coords, byte_offset_of_mask_element) for each element of the mask, row-major.
// Calls row(idx, mask_row, n, stride) for each innermost row of the mask, idx holding the
// coordinates of the row's outer dims (a 0-d mask is one row of one element).
template <class F>
void for_each_mask_row(const MaskLoop& loop, F&& row) {
  if (loop.numel == 0) return;
  int64_t idx[kMaxDims] = {0};
  if (loop.ndim == 0) {
    row(idx, loop.mask, int64_t{1}, int64_t{0});
    return;
  }
  const int inner = loop.ndim - 1;
  const int64_t n = loop.shape[inner], s = loop.strides[inner];
  const char* m = loop.mask;
  for (int64_t r = 0; r < loop.numel / n; ++r) {
    row(idx, m, n, s);
    for (int d = inner - 1; d >= 0; --d) {
      m += loop.strides[d];
      if (++idx[d] < loop.shape[d]) break;
      m -= loop.strides[d] * loop.shape[d];
      idx[d] = 0;
    }
  }
}

// Writes one int64 per true element without a data-dependent branch: every element writes
// its slot and only true ones advance, so each slot ends up holding its true element.
template <class T>
struct MaskOffsetsKernel {
  static void run(const MaskLoop& loop, const KernelParams&) {
    int64_t* out = loop.out;
    int64_t k = 0;
    const int inner = loop.ndim - 1;
    const int64_t w = loop.ndim > 0 ? loop.weights[inner] : 0;
    for_each_mask_row(loop, [&](const int64_t* idx, const char* m, int64_t n, int64_t s) {
      int64_t base = 0;
      for (int d = 0; d < inner; ++d) base += idx[d] * loop.weights[d];
      for (int64_t i = 0; i < n; ++i) {
        const int64_t take = *reinterpret_cast<const bool*>(m + i * s) ? 1 : 0;
        if (k < loop.count) out[k] = base + i * w;
        k += take;
      }
    });
  }
};

template <class T>
struct NonzeroKernel {
  static void run(const MaskLoop& loop, const KernelParams&) {
    int64_t* out = loop.out;
    const int nd = loop.ndim, inner = nd - 1;
    for_each_mask_row(loop, [&](const int64_t* idx, const char* m, int64_t n, int64_t s) {
      for (int64_t i = 0; i < n; ++i) {
        if (!*reinterpret_cast<const bool*>(m + i * s)) continue;
        for (int d = 0; d < inner; ++d) *out++ = idx[d];
        if (nd > 0) *out++ = i;
      }
    });
  }
};

// Writes the number of true elements to out[0].
template <class T>
struct MaskCountKernel {
  static void run(const MaskLoop& loop, const KernelParams&) {
    int64_t count = 0;
    for_each_mask_row(loop, [&](const int64_t*, const char* m, int64_t n, int64_t s) {
      if (s == 1) {
        const uint8_t* b = reinterpret_cast<const uint8_t*>(m);
        int64_t c = 0;
        for (int64_t i = 0; i < n; ++i) c += b[i] != 0;
        count += c;
      } else {
        for (int64_t i = 0; i < n; ++i) count += *reinterpret_cast<const bool*>(m + i * s) ? 1 : 0;
      }
    });
    loop.out[0] = count;
  }
};

}  // namespace

void register_index_kernels() {
  register_each<TakeKernel, LAMINA_ALL_TYPES>(Op::gather);
  register_each<PutKernel, LAMINA_ALL_TYPES>(Op::scatter);
  register_each<IndexOffsetsKernel, uint8_t, int8_t, int32_t, int64_t>(Op::index_offsets);
  register_each<MaskOffsetsKernel, bool>(Op::mask_offsets);
  register_each<NonzeroKernel, bool>(Op::nonzero);
  register_each<MaskCountKernel, bool>(Op::mask_count);
}

}  // namespace lamina::kernels::cpu

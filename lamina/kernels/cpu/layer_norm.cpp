// Fused layer norm kernels (see layer_norm.h). Sums run in lane_sum's interleaved accumulators in
// a fixed pattern, so a row's statistics are the same on every run and thread count.
#include "lamina/kernels/layer_norm.h"

#include <algorithm>
#include <cmath>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {
namespace {

template <class T>
struct LayerNormForward {
  static void run(const LayerNormArgs& a, const void* xv, const void* wv, const void* bv, void* yv, void* meanv,
                  void* rstdv, int64_t begin, int64_t end) {
    using C = compute_t<T>;
    const T* w = static_cast<const T*>(wv);
    const T* b = static_cast<const T*>(bv);
    for (int64_t r = begin; r < end; ++r) {
      const T* x = static_cast<const T*>(xv) + r * a.d;
      T* y = static_cast<T*>(yv) + r * a.d;
      if (a.residual) {
        const T* __restrict res = static_cast<const T*>(a.residual) + r * a.d;
        T* __restrict s = static_cast<T*>(a.sum) + r * a.d;
        for (int64_t i = 0; i < a.d; ++i) s[i] = static_cast<T>(static_cast<C>(x[i]) + static_cast<C>(res[i]));
        x = s;
      }
      const C mean = lane_sum<C>(a.d, [&](int64_t i) { return static_cast<C>(x[i]); }) / static_cast<C>(a.d);
      const C var = lane_sum<C>(a.d,
                                [&](int64_t i) {
                                  const C c = static_cast<C>(x[i]) - mean;
                                  return c * c;
                                }) /
                    static_cast<C>(a.d);
      const C rstd = C(1) / std::sqrt(var + static_cast<C>(a.eps));
      static_cast<C*>(meanv)[r] = mean;
      static_cast<C*>(rstdv)[r] = rstd;
      for (int64_t i = 0; i < a.d; ++i) {
        C v = (static_cast<C>(x[i]) - mean) * rstd;
        if (a.has_weight) v *= static_cast<C>(w[i]);
        if (a.has_bias) v += static_cast<C>(b[i]);
        y[i] = static_cast<T>(v);
      }
    }
  }
};

// The weight test is hoisted out of the row loops (HasWeight) and each row is three plain
// passes over restrict pointers, which the compiler vectorizes.
template <class T, bool HasWeight>
void layer_norm_backward_chunk(const LayerNormArgs& a, int64_t r_begin, int64_t r_end, const T* __restrict dyv,
                               const T* __restrict xv, const T* __restrict w, const compute_t<T>* means,
                               const compute_t<T>* rstds, T* __restrict dxv, compute_t<T>* __restrict dw,
                               compute_t<T>* __restrict db) {
  using C = compute_t<T>;
  const int64_t d = a.d;
  const C inv_d = C(1) / static_cast<C>(d);
  for (int64_t i = 0; i < d; ++i) dw[i] = db[i] = C(0);
  for (int64_t r = r_begin; r < r_end; ++r) {
    const T* __restrict x = xv + r * d;
    const T* __restrict dy = dyv + r * d;
    T* __restrict dx = dxv + r * d;
    const C mean = means[r], rstd = rstds[r];
    auto wdy = [&](int64_t i) {
      if constexpr (HasWeight)
        return static_cast<C>(dy[i]) * static_cast<C>(w[i]);
      else
        return static_cast<C>(dy[i]);
    };
    const C c1 = lane_sum<C>(d, [&](int64_t i) { return wdy(i) * ((static_cast<C>(x[i]) - mean) * rstd); }) * inv_d;
    const C c2 = lane_sum<C>(d, wdy) * inv_d;
    for (int64_t i = 0; i < d; ++i) {
      const C xh = (static_cast<C>(x[i]) - mean) * rstd, g = static_cast<C>(dy[i]);
      dx[i] = static_cast<T>(rstd * (wdy(i) - xh * c1 - c2));
      dw[i] += g * xh;
      db[i] += g;
    }
  }
}

template <class T>
struct LayerNormBackward {
  static void run(const LayerNormArgs& a, int64_t rows, const void* dyv, const void* xv, const void* wv,
                  const void* meanv, const void* rstdv, void* dxv, void* dwv, void* dbv, int64_t begin, int64_t end) {
    using C = compute_t<T>;
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      const int64_t r_begin = chunk * kLayerNormChunk, r_end = std::min(rows, (chunk + 1) * kLayerNormChunk);
      auto* dw = static_cast<C*>(dwv) + chunk * a.d;
      auto* db = static_cast<C*>(dbv) + chunk * a.d;
      auto* dy = static_cast<const T*>(dyv);
      auto* x = static_cast<const T*>(xv);
      auto* w = static_cast<const T*>(wv);
      auto* m = static_cast<const C*>(meanv);
      auto* rs = static_cast<const C*>(rstdv);
      auto* dx = static_cast<T*>(dxv);
      if (a.has_weight)
        layer_norm_backward_chunk<T, true>(a, r_begin, r_end, dy, x, w, m, rs, dx, dw, db);
      else
        layer_norm_backward_chunk<T, false>(a, r_begin, r_end, dy, x, w, m, rs, dx, dw, db);
    }
  }
};

}  // namespace

void register_layer_norm_kernels() {
  register_each<LayerNormForward, LAMINA_FLOAT_TYPES>(Op::layer_norm);
  register_each<LayerNormBackward, LAMINA_FLOAT_TYPES>(Op::layer_norm_backward);
}

}  // namespace lamina::kernels::cpu

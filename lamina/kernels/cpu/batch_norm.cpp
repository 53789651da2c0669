// Fused batch norm kernels (see batch_norm.h). A plane's sums run in lane_sum's interleaved
// accumulators of the compute type and the planes of a channel add up in double, in a fixed
// order, so the statistics do not depend on the thread count and stay accurate over large batches.
#include "lamina/kernels/batch_norm.h"

#include <cmath>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {
namespace {

template <class T>
struct BatchNormForward {
  static void run(const BatchNormArgs& a, const void* xv, const void* wv, const void* bv, void* meanv, void* varv,
                  void* rstdv, void* yv, int64_t begin, int64_t end) {
    using C = compute_t<T>;
    const int64_t plane = a.s, stride = a.c * a.s;
    const double count = static_cast<double>(a.n) * static_cast<double>(a.s);
    for (int64_t ch = begin; ch < end; ++ch) {
      const T* x0 = static_cast<const T*>(xv) + ch * plane;
      T* y0 = static_cast<T*>(yv) + ch * plane;
      C mean, rstd;
      if (a.batch_stats) {
        double total = 0;
        for (int64_t b = 0; b < a.n; ++b) {
          const T* __restrict x = x0 + b * stride;
          total += lane_sum<C>(plane, [&](int64_t i) { return static_cast<C>(x[i]); });
        }
        mean = static_cast<C>(total / count);
        double squares = 0;
        for (int64_t b = 0; b < a.n; ++b) {
          const T* __restrict x = x0 + b * stride;
          squares += lane_sum<C>(plane, [&](int64_t i) {
            const C d = static_cast<C>(x[i]) - mean;
            return d * d;
          });
        }
        const double var = squares / count;
        rstd = static_cast<C>(1.0 / std::sqrt(var + a.eps));
        static_cast<C*>(meanv)[ch] = mean;
        static_cast<C*>(varv)[ch] = static_cast<C>(var);
        static_cast<C*>(rstdv)[ch] = rstd;
      } else {
        mean = static_cast<const C*>(meanv)[ch];
        rstd = static_cast<const C*>(rstdv)[ch];
      }
      const C scale = a.has_weight ? rstd * static_cast<C>(static_cast<const T*>(wv)[ch]) : rstd;
      const C shift = (a.has_bias ? static_cast<C>(static_cast<const T*>(bv)[ch]) : C(0)) - mean * scale;
      for (int64_t b = 0; b < a.n; ++b) {
        const T* __restrict x = x0 + b * stride;
        T* __restrict y = y0 + b * stride;
        for (int64_t i = 0; i < plane; ++i) y[i] = static_cast<T>(static_cast<C>(x[i]) * scale + shift);
      }
    }
  }
};

template <class T>
struct BatchNormBackward {
  static void run(const BatchNormArgs& a, const void* dyv, const void* xv, const void* wv, const void* meanv,
                  const void* rstdv, void* dxv, void* dwv, void* dbv, int64_t begin, int64_t end) {
    using C = compute_t<T>;
    const int64_t plane = a.s, stride = a.c * a.s;
    const double count = static_cast<double>(a.n) * static_cast<double>(a.s);
    for (int64_t ch = begin; ch < end; ++ch) {
      const T* x0 = static_cast<const T*>(xv) + ch * plane;
      const T* dy0 = static_cast<const T*>(dyv) + ch * plane;
      T* dx0 = static_cast<T*>(dxv) + ch * plane;
      const C mean = static_cast<const C*>(meanv)[ch], rstd = static_cast<const C*>(rstdv)[ch];
      double sum_dy = 0, sum_dy_xc = 0;  // sums of dy and of dy (x - mean)
      for (int64_t b = 0; b < a.n; ++b) {
        const T* __restrict x = x0 + b * stride;
        const T* __restrict dy = dy0 + b * stride;
        sum_dy += lane_sum<C>(plane, [&](int64_t i) { return static_cast<C>(dy[i]); });
        sum_dy_xc +=
            lane_sum<C>(plane, [&](int64_t i) { return static_cast<C>(dy[i]) * (static_cast<C>(x[i]) - mean); });
      }
      static_cast<C*>(dwv)[ch] = static_cast<C>(sum_dy_xc * static_cast<double>(rstd));
      static_cast<C*>(dbv)[ch] = static_cast<C>(sum_dy);
      const C w = a.has_weight ? static_cast<C>(static_cast<const T*>(wv)[ch]) : C(1);
      const C scale = w * rstd;
      // Training: dx = w rstd (dy - mean(dy) - xhat mean(dy xhat)), written dy * scale + x * k + shift.
      const C k = a.batch_stats ? static_cast<C>(-static_cast<double>(scale) * static_cast<double>(rstd) *
                                                 static_cast<double>(rstd) * sum_dy_xc / count)
                                : C(0);
      const C shift = a.batch_stats ? static_cast<C>(-static_cast<double>(scale) * sum_dy / count) - mean * k : C(0);
      for (int64_t b = 0; b < a.n; ++b) {
        const T* __restrict x = x0 + b * stride;
        const T* __restrict dy = dy0 + b * stride;
        T* __restrict dx = dx0 + b * stride;
        for (int64_t i = 0; i < plane; ++i)
          dx[i] = static_cast<T>(static_cast<C>(dy[i]) * scale + static_cast<C>(x[i]) * k + shift);
      }
    }
  }
};

}  // namespace

void register_batch_norm_kernels() {
  register_each<BatchNormForward, LAMINA_FLOAT_TYPES>(Op::batch_norm);
  register_each<BatchNormBackward, LAMINA_FLOAT_TYPES>(Op::batch_norm_backward);
}

}  // namespace lamina::kernels::cpu

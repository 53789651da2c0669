// Fused, numerically stable softmax / log_softmax along lines: one pass for the max, one for
// the sum of exp(x - max) (kLanes interleaved accumulators in a fixed pattern, so the result is
// reproducible), one to write. float16/bfloat16/float32 compute in float, float64 in double.
// A NaN or +inf in a line, or a line of only -inf, gives NaN like PyTorch: x - max is NaN there.
// The cpu_simd kernel (float32/float64) runs contiguous lines through simd_reduce.cpp.
#include "lamina/kernels/softmax.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/cpu/simd.h"
#include "lamina/runtime/loops.h"

namespace lamina::kernels::cpu {
namespace {

using kernels::LineLoop;

constexpr int kLanes = 8;

// One line of n elements at element strides si (input) and so (output); kContiguous fixes
// both to 1 so the compiler sees unit strides.
template <class T, bool kContiguous>
void softmax_line(const T* x, T* y, int64_t n, int64_t si, int64_t so, bool log_form) {
  using C = compute_t<T>;
  if constexpr (kContiguous) si = so = 1;
  C m = -std::numeric_limits<C>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    const C v = static_cast<C>(x[i * si]);
    m = (v > m || std::isnan(v)) && !std::isnan(m) ? v : m;
  }
  // float32/float64 softmax keeps exp(x - max) in the output between passes; the 16-bit
  // types would round it there, so they compute it again in the last pass.
  constexpr bool kKeep = std::is_same_v<T, C>;
  const bool keep = kKeep && !log_form;
  C acc[kLanes] = {};
  auto term = [&](int64_t j) {
    const C e = std::exp(static_cast<C>(x[j * si]) - m);
    if (keep) y[j * so] = static_cast<T>(e);
    return e;
  };
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += term(i + l);
  for (int l = 0; i + l < n; ++l) acc[l] += term(i + l);
  const C sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  if (log_form) {
    const C log_sum = std::log(sum);  // (x - m) - log_sum, not x - (m + log_sum), which would round
    for (int64_t j = 0; j < n; ++j) y[j * so] = static_cast<T>((static_cast<C>(x[j * si]) - m) - log_sum);
  } else if (keep) {
    const C inv = C(1) / sum;
    for (int64_t j = 0; j < n; ++j) y[j * so] = static_cast<T>(static_cast<C>(y[j * so]) * inv);
  } else {
    const C inv = C(1) / sum;
    for (int64_t j = 0; j < n; ++j) y[j * so] = static_cast<T>(std::exp(static_cast<C>(x[j * si]) - m) * inv);
  }
}

// params.i == 1 selects log_softmax.
template <class T>
struct SoftmaxKernel {
  static void run(const LineLoop& loop, const KernelParams& params) {
    const bool log_form = params.i == 1;
    const int64_t si = loop.in_stride / static_cast<int64_t>(sizeof(T));
    const int64_t so = loop.out_stride / static_cast<int64_t>(sizeof(T));
    const bool contiguous = (si == 1 && so == 1) || loop.n == 1;
    kernels::for_each_line(loop, [&](const char* in, char* out, char*) {
      const T* x = reinterpret_cast<const T*>(in);
      T* y = reinterpret_cast<T*>(out);
      if (contiguous)
        softmax_line<T, true>(x, y, loop.n, 1, 1, log_form);
      else
        softmax_line<T, false>(x, y, loop.n, si, so, log_form);
    });
  }
};

// cpu_simd (float32/float64): every line through simd::softmax_line (vector max, exp, sum and
// scaling; exp within 1 ulp of libm's); a strided line is gathered into a scratch line first,
// so a line gives the same bits whatever its layout.
template <class T>
struct SoftmaxSimdKernel {
  static void run(const LineLoop& loop, const KernelParams& params) {
    const bool log_form = params.i == 1;
    const int64_t si = loop.in_stride / static_cast<int64_t>(sizeof(T));
    const int64_t so = loop.out_stride / static_cast<int64_t>(sizeof(T));
    const bool contiguous = (si == 1 && so == 1) || loop.n == 1;
    std::vector<T> scratch(contiguous ? 0 : static_cast<size_t>(loop.n));
    kernels::for_each_line(loop, [&](const char* in, char* out, char*) {
      const T* x = reinterpret_cast<const T*>(in);
      T* y = reinterpret_cast<T*>(out);
      if (contiguous) return simd::softmax_line(x, y, loop.n, log_form);
      for (int64_t j = 0; j < loop.n; ++j) scratch[j] = x[j * si];
      simd::softmax_line(scratch.data(), scratch.data(), loop.n, log_form);
      for (int64_t j = 0; j < loop.n; ++j) y[j * so] = scratch[j];
    });
  }
};

template <class T>
struct SoftmaxBackward {
  static void run(const void* gv, const void* yv, void* outv, int64_t n, bool log_form, int64_t begin, int64_t end) {
    using C = compute_t<T>;
    for (int64_t r = begin; r < end; ++r) {
      const T* g = static_cast<const T*>(gv) + r * n;
      const T* y = static_cast<const T*>(yv) + r * n;
      T* out = static_cast<T*>(outv) + r * n;
      C acc[kLanes] = {};
      int64_t i = 0;
      for (; i + kLanes <= n; i += kLanes)
        for (int l = 0; l < kLanes; ++l)
          acc[l] += log_form ? static_cast<C>(g[i + l]) : static_cast<C>(g[i + l]) * static_cast<C>(y[i + l]);
      for (int l = 0; i + l < n; ++l)
        acc[l] += log_form ? static_cast<C>(g[i + l]) : static_cast<C>(g[i + l]) * static_cast<C>(y[i + l]);
      const C s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      if (log_form) {
        for (int64_t j = 0; j < n; ++j)
          out[j] = static_cast<T>(static_cast<C>(g[j]) - std::exp(static_cast<C>(y[j])) * s);
      } else {
        for (int64_t j = 0; j < n; ++j) out[j] = static_cast<T>(static_cast<C>(y[j]) * (static_cast<C>(g[j]) - s));
      }
    }
  }
};

}  // namespace

void register_softmax_kernels() {
  register_each<SoftmaxBackward, LAMINA_FLOAT_TYPES>(Op::softmax_backward);
  register_each<SoftmaxKernel, LAMINA_FLOAT_TYPES>(Op::softmax);
  register_each<SoftmaxSimdKernel, float, double>(Op::softmax, runtime::Backend::CpuSimd);
}

}  // namespace lamina::kernels::cpu

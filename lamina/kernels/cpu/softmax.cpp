// Fused, numerically stable softmax / log_softmax over contiguous rows: one pass for the
// max, one for the sum of exp(x - max), one to write. Accumulates in double.
#include <cmath>
#include <limits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {
namespace {

// params.i == 1 selects log_softmax.
template <class T>
struct SoftmaxKernel {
  static void run(const RowLoop& loop, const KernelParams& params) {
    using C = compute_t<T>;
    const bool log_form = params.i == 1;
    const T* in = reinterpret_cast<const T*>(loop.in);
    T* out = reinterpret_cast<T*>(loop.out);
    for (int64_t r = 0; r < loop.rows; ++r) {
      const T* x = in + r * loop.n;
      T* y = out + r * loop.n;
      C m = -std::numeric_limits<C>::infinity();
      for (int64_t i = 0; i < loop.n; ++i) m = std::max(m, static_cast<C>(x[i]));
      if (std::isinf(m) && m < 0) m = 0;  // an all -inf row gives NaN like PyTorch via 0/0
      double sum = 0.0;
      for (int64_t i = 0; i < loop.n; ++i) sum += std::exp(static_cast<double>(static_cast<C>(x[i]) - m));
      if (log_form) {
        const C lse = static_cast<C>(std::log(sum));
        for (int64_t i = 0; i < loop.n; ++i) y[i] = T(static_cast<C>(x[i]) - m - lse);
      } else {
        const double inv = 1.0 / sum;
        for (int64_t i = 0; i < loop.n; ++i) y[i] = T(static_cast<C>(std::exp(static_cast<double>(static_cast<C>(x[i]) - m)) * inv));
      }
    }
  }
};

}  // namespace

void register_softmax_kernels() { register_each<SoftmaxKernel, LAMINA_FLOAT_TYPES>("softmax"); }

}  // namespace lamina::kernels::cpu

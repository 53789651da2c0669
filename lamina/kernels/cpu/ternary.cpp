// Three-operand elementwise kernels: where(cond, a, b), clamp(x, lo, hi).
#include <cmath>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {
namespace {

// Operands: out, cond (bool), a, b.
template <class T>
struct WhereKernel {
  static void run(const StridedLoop& loop, const KernelParams&) {
    for_each_row<4>(loop, [](char** p, const int64_t* s, int64_t n) {
      constexpr int64_t sz = sizeof(T);
      if (s[0] == sz && s[1] == 1 && (s[2] == sz || s[2] == 0) && (s[3] == sz || s[3] == 0)) {
        // Contiguous rows (a value operand may be one broadcast element): selects the compiler
        // can vectorize (masked_fill and its gradient run here).
        T* out = reinterpret_cast<T*>(p[0]);
        const bool* c = reinterpret_cast<const bool*>(p[1]);
        const T* a = reinterpret_cast<const T*>(p[2]);
        const T* b = reinterpret_cast<const T*>(p[3]);
        if (s[2] == 0 && s[3] == sz) {
          const T a0 = a[0];
          for (int64_t i = 0; i < n; ++i) out[i] = c[i] ? a0 : b[i];
        } else if (s[2] == sz && s[3] == 0) {
          const T b0 = b[0];
          for (int64_t i = 0; i < n; ++i) out[i] = c[i] ? a[i] : b0;
        } else if (s[2] == sz && s[3] == sz) {
          for (int64_t i = 0; i < n; ++i) out[i] = c[i] ? a[i] : b[i];
        } else {
          for (int64_t i = 0; i < n; ++i) out[i] = c[i] ? a[0] : b[0];
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        const bool c = *reinterpret_cast<const bool*>(p[1] + i * s[1]);
        *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(c ? p[2] + i * s[2] : p[3] + i * s[3]);
      }
    });
  }
};

// Operands: out, x, lo, hi (each already broadcast and of dtype T). NaN in x propagates.
template <class T>
struct ClampKernel {
  static void run(const StridedLoop& loop, const KernelParams&) {
    using C = compute_t<T>;
    for_each_row<4>(loop, [](char** p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        C x = static_cast<C>(*reinterpret_cast<const T*>(p[1] + i * s[1]));
        const C lo = static_cast<C>(*reinterpret_cast<const T*>(p[2] + i * s[2]));
        const C hi = static_cast<C>(*reinterpret_cast<const T*>(p[3] + i * s[3]));
        if constexpr (std::is_floating_point_v<C>) {
          if (!std::isnan(x)) x = x < lo ? lo : x;
          if (!std::isnan(x)) x = x > hi ? hi : x;
          if (std::isnan(lo) || std::isnan(hi)) x = std::isnan(lo) ? lo : hi;
        } else {
          x = x < lo ? lo : x;
          x = x > hi ? hi : x;
        }
        *reinterpret_cast<T*>(p[0] + i * s[0]) = T(x);
      }
    });
  }
};

}  // namespace

void register_ternary_kernels() {
  register_each<WhereKernel, LAMINA_ALL_TYPES>(Op::where);
  register_each<ClampKernel, LAMINA_NUMERIC_TYPES>(Op::clamp);
}

}  // namespace lamina::kernels::cpu

// Sorting rows: stable sort of indices with NaN ordered as the largest value (PyTorch).
// The int64 index output doubles as the scratch permutation, so the kernel allocates nothing.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {
namespace {

template <class C>
bool nan_of(C v) {
  if constexpr (std::is_floating_point_v<C>) return std::isnan(v);
  else return false;
}

// params.i == 1 sorts descending. Rows of values and indices are both n long.
template <class T>
struct SortKernel {
  static void run(const RowLoop& loop, const KernelParams& params) {
    using C = compute_t<T>;
    const bool descending = params.i == 1;
    const T* in = reinterpret_cast<const T*>(loop.in);
    T* values = reinterpret_cast<T*>(loop.out);
    int64_t* indices = reinterpret_cast<int64_t*>(loop.out2);
    for (int64_t r = 0; r < loop.rows; ++r) {
      const T* x = in + r * loop.n;
      int64_t* order = indices + r * loop.n;
      std::iota(order, order + loop.n, int64_t{0});
      auto less = [&](int64_t a, int64_t b) {
        C va = static_cast<C>(x[a]), vb = static_cast<C>(x[b]);
        if (nan_of(va) || nan_of(vb)) return !nan_of(va) && nan_of(vb);
        return va < vb;
      };
      // Ties broken by position make std::sort stable without the scratch buffer that
      // std::stable_sort would allocate.
      if (descending) {
        std::sort(order, order + loop.n, [&](int64_t a, int64_t b) { return less(b, a) || (!less(a, b) && a < b); });
      } else {
        std::sort(order, order + loop.n, [&](int64_t a, int64_t b) { return less(a, b) || (!less(b, a) && a < b); });
      }
      for (int64_t i = 0; i < loop.n; ++i) values[r * loop.n + i] = x[order[i]];
    }
  }
};

}  // namespace

void register_sort_kernels() { register_each<SortKernel, LAMINA_ALL_TYPES>("sort"); }

}  // namespace lamina::kernels::cpu

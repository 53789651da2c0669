// Sorting along lines (sort, argsort, topk) in one total order: NaN is the largest value (as in
// PyTorch), and equal values keep their original order (stable), in both directions. The int64
// index line of the output is the working permutation, so the kernels allocate nothing; the
// runtime hands them index lines that are contiguous.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/runtime/loops.h"

namespace lamina::kernels::cpu {
namespace {

using kernels::LineLoop;

template <class C>
inline bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>)
    return std::isnan(v);
  else
    return false;
}

// "a comes before b" for indices into one line: by value (NaN largest), ties by position.
template <class T>
struct LineOrder {
  using C = compute_t<T>;
  const char* x;
  int64_t stride;
  bool descending;

  C at(int64_t i) const { return static_cast<C>(*reinterpret_cast<const T*>(x + i * stride)); }
  bool operator()(int64_t a, int64_t b) const {
    const C va = at(a), vb = at(b);
    const bool na = is_nan(va), nb = is_nan(vb);
    if (na || nb) {
      if (na && nb) return a < b;
      return descending ? na : nb;
    }
    if (va == vb) return a < b;
    return descending ? va > vb : va < vb;
  }
};

// params.i == 1 sorts descending; out gets the sorted values, out2 their int64 positions.
template <class T>
struct SortKernel {
  static void run(const LineLoop& loop, const KernelParams& params) {
    const bool descending = params.i == 1;
    kernels::for_each_line(loop, [&](const char* in, char* out, char* out2) {
      int64_t* order = reinterpret_cast<int64_t*>(out2);
      for (int64_t j = 0; j < loop.n; ++j) order[j] = j;
      const LineOrder<T> before{in, loop.in_stride, descending};
      // The order is total (ties broken by position), so std::sort is stable here without the
      // buffer std::stable_sort would allocate.
      std::sort(order, order + loop.n, before);
      for (int64_t j = 0; j < loop.n; ++j)
        *reinterpret_cast<T*>(out + j * loop.out_stride) = *reinterpret_cast<const T*>(in + order[j] * loop.in_stride);
    });
  }
};

// The first k elements of the same order as SortKernel (params.i == 1: largest first), found
// with a heap of k positions kept in out2: O(n log k).
template <class T>
struct TopkKernel {
  static void run(const LineLoop& loop, const KernelParams& params) {
    const bool largest = params.i == 1;
    const int64_t k = loop.k;
    kernels::for_each_line(loop, [&](const char* in, char* out, char* out2) {
      if (k == 0) return;
      int64_t* heap = reinterpret_cast<int64_t*>(out2);
      const LineOrder<T> before{in, loop.in_stride, largest};
      // A max-heap under `before`: its top is the worst of the k kept so far.
      for (int64_t j = 0; j < k; ++j) heap[j] = j;
      std::make_heap(heap, heap + k, before);
      for (int64_t j = k; j < loop.n; ++j) {
        if (before(j, heap[0])) {
          std::pop_heap(heap, heap + k, before);
          heap[k - 1] = j;
          std::push_heap(heap, heap + k, before);
        }
      }
      std::sort_heap(heap, heap + k, before);
      for (int64_t j = 0; j < k; ++j)
        *reinterpret_cast<T*>(out + j * loop.out_stride) = *reinterpret_cast<const T*>(in + heap[j] * loop.in_stride);
    });
  }
};

}  // namespace

void register_sort_kernels() {
  register_each<SortKernel, LAMINA_ALL_TYPES>(Op::sort);
  register_each<TopkKernel, LAMINA_ALL_TYPES>(Op::topk);
}

}  // namespace lamina::kernels::cpu

// Strided copy with dtype conversion (the workhorse of contiguous(), to(), assignment),
// and fill with a scalar.
#include <cstring>

#include "lamina/kernels/cpu/convert.h"
#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {
namespace {

template <class To, class From>
void copy_typed(const StridedLoop& loop) {
  for_each_row<2>(loop, [](char** p, const int64_t* s, int64_t n) {
    if constexpr (std::is_same_v<To, From>) {
      if (s[0] == sizeof(To) && s[1] == sizeof(From)) {
        std::memcpy(p[0], p[1], static_cast<size_t>(n) * sizeof(To));
        return;
      }
    }
    if (s[0] == sizeof(To) && s[1] == sizeof(From)) {
      To* o = reinterpret_cast<To*>(p[0]);
      const From* a = reinterpret_cast<const From*>(p[1]);
      for (int64_t i = 0; i < n; ++i) o[i] = convert<To>(a[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<To*>(p[0] + i * s[0]) = convert<To>(*reinterpret_cast<const From*>(p[1] + i * s[1]));
    }
  });
}

// Registered per destination dtype; params.i carries the source dtype.
template <class To>
struct CopyKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    visit_dtype(static_cast<Dtype>(params.i), [&](auto from) { copy_typed<To, decltype(from)>(loop); });
  }
};

// Fills operand 0 with params.a (floats) or params.i (integers and bool).
template <class T>
struct FillKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    T value;
    if constexpr (std::is_integral_v<T>) value = static_cast<T>(params.i);
    else value = T(static_cast<compute_t<T>>(params.a));
    for_each_row<1>(loop, [&](char** p, const int64_t* s, int64_t n) {
      if (s[0] == sizeof(T)) {
        T* o = reinterpret_cast<T*>(p[0]);
        for (int64_t i = 0; i < n; ++i) o[i] = value;
      } else {
        for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = value;
      }
    });
  }
};

}  // namespace

void register_copy_kernels() {
  register_each<CopyKernel, LAMINA_ALL_TYPES>(Op::copy);
  register_each<FillKernel, LAMINA_ALL_TYPES>(Op::fill);
}

}  // namespace lamina::kernels::cpu

// SIMD kernels with Highway's run-time dispatch: this file is compiled once per target ISA
// (AVX-512, AVX2, SSE4, NEON, ... as Highway decides) and the best one for the running CPU
// is picked on first call. Registered under Backend::CpuSimd; rows that are not contiguous
// fall back to scalar code inside the same kernel. The tail of a row is computed with a full
// padded vector so every element gets the same arithmetic wherever it sits in the row.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lamina/kernels/cpu/simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

HWY_BEFORE_NAMESPACE();
namespace lamina::kernels::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Op codes shared with the dispatch side below.
enum BinaryOp { kAdd, kSub, kMul, kDiv };
enum UnaryOp { kNeg, kAbs, kSqrt, kRelu, kExp, kLog, kTanh, kSigmoid };

template <class D, class V>
HWY_INLINE V apply_binary(D, int op, V a, V b) {
  switch (op) {
    case kAdd: return hn::Add(a, b);
    case kSub: return hn::Sub(a, b);
    case kMul: return hn::Mul(a, b);
    default: return hn::Div(a, b);
  }
}

template <class D, class V>
HWY_INLINE V apply_unary_raw(D d, int op, V x) {
  const V zero = hn::Zero(d);
  switch (op) {
    case kNeg: return hn::Neg(x);
    case kAbs: return hn::Abs(x);
    case kSqrt: return hn::Sqrt(x);
    case kRelu: return hn::IfThenElse(hn::Gt(x, zero), x, zero);
    case kExp: return hn::Exp(d, x);
    case kLog: return hn::Log(d, x);
    case kTanh: return hn::Tanh(d, x);
    default: {
      const V one = hn::Set(d, 1);
      return hn::Div(one, hn::Add(one, hn::Exp(d, hn::Neg(x))));
    }
  }
}

// Highway's polynomial math does not propagate NaN; the scalar kernels (and PyTorch) do.
template <class D, class V>
HWY_INLINE V apply_unary(D d, int op, V x) {
  const V r = apply_unary_raw(d, op, x);
  return op >= kExp ? hn::IfThenElse(hn::IsNaN(x), x, r) : r;
}

template <class T>
HWY_INLINE void binary_row(int op, const T* a, const T* b, bool b_scalar, T* out, int64_t n) {
  const hn::ScalableTag<T> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto bs = hn::Set(d, b_scalar ? b[0] : T(0));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto vb = b_scalar ? bs : hn::LoadU(d, b + i);
    hn::StoreU(apply_binary(d, op, hn::LoadU(d, a + i), vb), d, out + i);
  }
  if (i < n) {
    HWY_ALIGN T ta[HWY_MAX_BYTES / sizeof(T)] = {}, tb[HWY_MAX_BYTES / sizeof(T)] = {}, to[HWY_MAX_BYTES / sizeof(T)];
    for (int64_t k = 0; k < lanes; ++k) tb[k] = T(1);  // keeps unused lanes of a division finite
    std::memcpy(ta, a + i, static_cast<size_t>(n - i) * sizeof(T));
    if (!b_scalar) std::memcpy(tb, b + i, static_cast<size_t>(n - i) * sizeof(T));
    const auto vb = b_scalar ? bs : hn::Load(d, tb);
    hn::Store(apply_binary(d, op, hn::Load(d, ta), vb), d, to);
    std::memcpy(out + i, to, static_cast<size_t>(n - i) * sizeof(T));
  }
}

template <class T>
HWY_INLINE void unary_row(int op, const T* in, T* out, int64_t n) {
  const hn::ScalableTag<T> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(apply_unary(d, op, hn::LoadU(d, in + i)), d, out + i);
  if (i < n) {
    HWY_ALIGN T ti[HWY_MAX_BYTES / sizeof(T)], to[HWY_MAX_BYTES / sizeof(T)];
    for (int64_t k = 0; k < lanes; ++k) ti[k] = T(1);  // a benign value for log/sqrt in unused lanes
    std::memcpy(ti, in + i, static_cast<size_t>(n - i) * sizeof(T));
    hn::Store(apply_unary(d, op, hn::Load(d, ti)), d, to);
    std::memcpy(out + i, to, static_cast<size_t>(n - i) * sizeof(T));
  }
}

void BinaryF32(int op, const float* a, const float* b, bool b_scalar, float* out, int64_t n) {
  binary_row(op, a, b, b_scalar, out, n);
}
void BinaryF64(int op, const double* a, const double* b, bool b_scalar, double* out, int64_t n) {
  binary_row(op, a, b, b_scalar, out, n);
}
void UnaryF32(int op, const float* in, float* out, int64_t n) { unary_row(op, in, out, n); }
void UnaryF64(int op, const double* in, double* out, int64_t n) { unary_row(op, in, out, n); }
const char* Target() { return hwy::TargetName(HWY_TARGET); }

}  // namespace lamina::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/runtime/blas.h"

namespace lamina::kernels::cpu {

HWY_EXPORT(BinaryF32);
HWY_EXPORT(BinaryF64);
HWY_EXPORT(UnaryF32);
HWY_EXPORT(UnaryF64);
HWY_EXPORT(Target);

namespace {

void simd_binary(const double* a, const double* b, bool s, double* o, int64_t n, int op) {
  HWY_DYNAMIC_DISPATCH(BinaryF64)(op, a, b, s, o, n);
}
void simd_binary(const float* a, const float* b, bool s, float* o, int64_t n, int op) {
  HWY_DYNAMIC_DISPATCH(BinaryF32)(op, a, b, s, o, n);
}
void simd_unary(const double* in, double* o, int64_t n, int op) { HWY_DYNAMIC_DISPATCH(UnaryF64)(op, in, o, n); }
void simd_unary(const float* in, float* o, int64_t n, int op) { HWY_DYNAMIC_DISPATCH(UnaryF32)(op, in, o, n); }

template <class T>
T scalar_binary(int op, T a, T b) {
  switch (op) {
    case HWY_NAMESPACE::kAdd: return a + b;
    case HWY_NAMESPACE::kSub: return a - b;
    case HWY_NAMESPACE::kMul: return a * b;
    default: return a / b;
  }
}

template <class T>
T scalar_unary(int op, T x) {
  switch (op) {
    case HWY_NAMESPACE::kNeg: return -x;
    case HWY_NAMESPACE::kAbs: return std::fabs(x);
    case HWY_NAMESPACE::kSqrt: return std::sqrt(x);
    case HWY_NAMESPACE::kRelu: return x > T(0) ? x : T(0);
    case HWY_NAMESPACE::kExp: return std::exp(x);
    case HWY_NAMESPACE::kLog: return std::log(x);
    case HWY_NAMESPACE::kTanh: return std::tanh(x);
    default: return T(1) / (T(1) + std::exp(-x));
  }
}

template <int Op>
struct BinarySimd {
  template <class T>
  struct K {
    static void run(const StridedLoop& loop, const KernelParams&) {
      for_each_row<3>(loop, [](char** p, const int64_t* s, int64_t n) {
        const T* a = reinterpret_cast<const T*>(p[1]);
        const T* b = reinterpret_cast<const T*>(p[2]);
        T* o = reinterpret_cast<T*>(p[0]);
        const int64_t sz = sizeof(T);
        if (s[0] == sz && s[1] == sz && (s[2] == sz || s[2] == 0)) {
          simd_binary(a, b, s[2] == 0, o, n, Op);
        } else {
          for (int64_t i = 0; i < n; ++i)
            *reinterpret_cast<T*>(p[0] + i * s[0]) = scalar_binary(Op, *reinterpret_cast<const T*>(p[1] + i * s[1]),
                                                                   *reinterpret_cast<const T*>(p[2] + i * s[2]));
        }
      });
    }
  };
};

template <int Op>
struct UnarySimd {
  template <class T>
  struct K {
    static void run(const StridedLoop& loop, const KernelParams&) {
      for_each_row<2>(loop, [](char** p, const int64_t* s, int64_t n) {
        if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
          simd_unary(reinterpret_cast<const T*>(p[1]), reinterpret_cast<T*>(p[0]), n, Op);
        } else {
          for (int64_t i = 0; i < n; ++i)
            *reinterpret_cast<T*>(p[0] + i * s[0]) = scalar_unary(Op, *reinterpret_cast<const T*>(p[1] + i * s[1]));
        }
      });
    }
  };
};

}  // namespace

void register_simd_kernels() {
  using runtime::Backend;
  namespace ops = HWY_NAMESPACE;
  register_each<BinarySimd<ops::kAdd>::K, float, double>("add", Backend::CpuSimd);
  register_each<BinarySimd<ops::kSub>::K, float, double>("sub", Backend::CpuSimd);
  register_each<BinarySimd<ops::kMul>::K, float, double>("mul", Backend::CpuSimd);
  register_each<BinarySimd<ops::kDiv>::K, float, double>("div", Backend::CpuSimd);
  register_each<UnarySimd<ops::kNeg>::K, float, double>("neg", Backend::CpuSimd);
  register_each<UnarySimd<ops::kAbs>::K, float, double>("abs", Backend::CpuSimd);
  register_each<UnarySimd<ops::kSqrt>::K, float, double>("sqrt", Backend::CpuSimd);
  register_each<UnarySimd<ops::kRelu>::K, float, double>("relu", Backend::CpuSimd);
  register_each<UnarySimd<ops::kExp>::K, float, double>("exp", Backend::CpuSimd);
  register_each<UnarySimd<ops::kLog>::K, float, double>("log", Backend::CpuSimd);
  register_each<UnarySimd<ops::kTanh>::K, float, double>("tanh", Backend::CpuSimd);
  register_each<UnarySimd<ops::kSigmoid>::K, float, double>("sigmoid", Backend::CpuSimd);
}

}  // namespace lamina::kernels::cpu

namespace lamina::runtime {
std::string simd_target_name() { return HWY_DYNAMIC_DISPATCH(kernels::cpu::Target)(); }
}  // namespace lamina::runtime
#endif  // HWY_ONCE

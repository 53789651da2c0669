// SIMD kernels with Highway's run-time dispatch: this file is compiled once per target ISA
// (AVX-512, AVX2, SSE4, NEON, ... as Highway decides) and the best one for the running CPU
// is picked on first call, so a binary built here runs, vectorized, on any x86-64 or Arm CPU.
// Registered under Backend::CpuSimd for float32/float64; the dispatcher falls back to the
// cpu_scalar kernels for every other (op, dtype).
//
// Every element gets the same arithmetic wherever it sits: the tail of a row is computed as a
// full vector padded with ones, and strided rows are gathered into a contiguous chunk, run
// through the same vector code and scattered back. So x.t().exp() equals x.exp().t() bit for bit.
// add/sub/mul/div/maximum/minimum/neg/abs/sqrt/relu give the scalar kernels' values exactly;
// exp/log/tanh/sigmoid (Highway's polynomials) stay within 1-4 ulp of glibc's.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lamina/kernels/cpu/simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/cache_control.h>
#include <hwy/contrib/math/math-inl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#ifndef LAMINA_KERNELS_CPU_SIMD_OPS
#define LAMINA_KERNELS_CPU_SIMD_OPS
namespace lamina::kernels::cpu::simd {
// Op codes shared by every target's copy of the code and the registration below.
enum BinaryOp : int { kAdd, kSub, kMul, kDiv, kMax, kMin };
enum UnaryOp : int { kNeg, kAbs, kSqrt, kRelu, kExp, kLog, kTanh, kSigmoid };
// How a binary row reads its inputs: both contiguous, or one a single broadcast element.
enum Broadcast : int { kNone, kScalarB, kScalarA };
}  // namespace lamina::kernels::cpu::simd
#endif

HWY_BEFORE_NAMESPACE();
namespace lamina::kernels::cpu::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D>
using Vec = decltype(hn::Zero(D()));

template <int Op, class D, class V = Vec<D>>
HWY_INLINE V binary_op(D d, V a, V b) {
  using T = hn::TFromD<D>;
  if constexpr (Op == kAdd) {
    return hn::Add(a, b);
  } else if constexpr (Op == kSub) {
    return hn::Sub(a, b);
  } else if constexpr (Op == kMul) {
    return hn::Mul(a, b);
  } else if constexpr (Op == kDiv) {
    return hn::Div(a, b);
  } else {
    // The scalar kernels' `a > b ? a : b` (and `<` for min) written out, so signed zeros
    // come out the same on every ISA; NaN on either side gives NaN (PyTorch's maximum).
    const auto take_a = Op == kMax ? hn::Gt(a, b) : hn::Lt(a, b);
    const auto any_nan = hn::Or(hn::IsNaN(a), hn::IsNaN(b));
    return hn::IfThenElse(any_nan, hn::Set(d, std::numeric_limits<T>::quiet_NaN()), hn::IfThenElse(take_a, a, b));
  }
}

// exp overflows above 88.73 (float) / 709.79 (double). Highway documents its Exp up to 104 /
// 706 only, but its two-step 2^q scaling is accurate right up to the overflow point (the
// dense sweeps in test_simd.cpp check it); past the cut-off the answer is inf.
template <class D, class V = Vec<D>>
HWY_INLINE V exp_full(D d, V x) {
  using T = hn::TFromD<D>;
  const V limit = hn::Set(d, sizeof(T) == 4 ? T(88.8) : T(709.8));
  return hn::IfThenElse(hn::Gt(x, limit), hn::Set(d, std::numeric_limits<T>::infinity()), hn::Exp(d, x));
}

// Highway's Log is defined on (0, max]; the rest follows C: log(0) = -inf, log(x<0) = nan.
template <class D, class V = Vec<D>>
HWY_INLINE V log_full(D d, V x) {
  using T = hn::TFromD<D>;
  const V zero = hn::Zero(d);
  const V inf = hn::Set(d, std::numeric_limits<T>::infinity());
  V r = hn::Log(d, x);
  r = hn::IfThenElse(hn::Eq(x, zero), hn::Neg(inf), r);
  r = hn::IfThenElse(hn::Lt(x, zero), hn::Set(d, std::numeric_limits<T>::quiet_NaN()), r);
  return hn::IfThenElse(hn::Eq(x, inf), inf, r);
}

// The scalar kernel's stable form: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below, with e = e^-|x|.
template <class D, class V = Vec<D>>
HWY_INLINE V sigmoid(D d, V x) {
  const V one = hn::Set(d, hn::TFromD<D>(1));
  const V e = hn::Exp(d, hn::Neg(hn::Abs(x)));
  const V den = hn::Add(one, e);
  return hn::IfThenElse(hn::Ge(x, hn::Zero(d)), hn::Div(one, den), hn::Div(e, den));
}

template <int Op, class D, class V = Vec<D>>
HWY_INLINE V unary_op(D d, V x) {
  if constexpr (Op == kNeg) {
    return hn::Neg(x);
  } else if constexpr (Op == kAbs) {
    return hn::Abs(x);
  } else if constexpr (Op == kSqrt) {
    return hn::Sqrt(x);
  } else if constexpr (Op == kRelu) {
    return hn::IfThenElse(hn::Gt(x, hn::Zero(d)), x, hn::Zero(d));
  } else {
    V r;
    if constexpr (Op == kExp) r = exp_full(d, x);
    else if constexpr (Op == kLog) r = log_full(d, x);
    else if constexpr (Op == kTanh) r = hn::Tanh(d, x);
    else r = sigmoid(d, x);
    // Highway's polynomial math does not propagate NaN; the scalar kernels (and PyTorch) do.
    return hn::IfThenElse(hn::IsNaN(x), x, r);
  }
}

template <class T>
inline constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(T);

// Rows that write at least this much use streaming (cache-bypassing) stores: an output this
// big cannot stay cached for the next op anyway, and skipping the read-for-ownership of every
// output line cuts memory traffic by a quarter (add) to a third (exp).
inline constexpr int64_t kStreamBytes = int64_t{16} << 20;

// Drives one contiguous row: full vectors in the middle, padded partial vectors at the ends
// (an unaligned head when streaming, and the tail). Row::apply(d, i) gives the vector at i;
// Row::apply_padded(d, i, count) the same for `count` < lanes elements via padded buffers.
template <class T, class Row>
HWY_INLINE void drive_row(const Row& row, T* out, int64_t n) {
  const hn::ScalableTag<T> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  if (n * static_cast<int64_t>(sizeof(T)) >= kStreamBytes) {
    const int64_t misaligned = static_cast<int64_t>(reinterpret_cast<uintptr_t>(out) / sizeof(T)) % lanes;
    const int64_t head = misaligned == 0 ? 0 : lanes - misaligned;
    if (head > 0) row.apply_padded(d, 0, head, out);
    for (i = head; i + lanes <= n; i += lanes) hn::Stream(row.apply(d, i), d, out + i);
    hwy::FlushStream();
  } else {
    for (; i + lanes <= n; i += lanes) hn::StoreU(row.apply(d, i), d, out + i);
  }
  if (i < n) row.apply_padded(d, i, n - i, out);
}

// out[i] = a[i] op b[i]; with a broadcast input, a[0] (b[0]) serves every i. `out` may alias an input.
template <int Op, int Bc, class T>
struct BinaryRow {
  const T* a;
  const T* b;

  template <class D>
  HWY_INLINE Vec<D> apply(D d, int64_t i) const {
    const auto va = Bc == kScalarA ? hn::Set(d, a[0]) : hn::LoadU(d, a + i);
    const auto vb = Bc == kScalarB ? hn::Set(d, b[0]) : hn::LoadU(d, b + i);
    return binary_op<Op>(d, va, vb);
  }

  // Unused lanes hold ones so nothing traps, overflows or goes subnormal.
  template <class D>
  HWY_INLINE void apply_padded(D d, int64_t i, int64_t count, T* out) const {
    HWY_ALIGN T ta[kMaxLanes<T>], tb[kMaxLanes<T>], to[kMaxLanes<T>];
    std::fill(ta, ta + kMaxLanes<T>, T(1));
    std::fill(tb, tb + kMaxLanes<T>, T(1));
    const size_t bytes = static_cast<size_t>(count) * sizeof(T);
    if (Bc != kScalarA) std::memcpy(ta, a + i, bytes);
    if (Bc != kScalarB) std::memcpy(tb, b + i, bytes);
    const auto va = Bc == kScalarA ? hn::Set(d, a[0]) : hn::Load(d, ta);
    const auto vb = Bc == kScalarB ? hn::Set(d, b[0]) : hn::Load(d, tb);
    hn::Store(binary_op<Op>(d, va, vb), d, to);
    std::memcpy(out + i, to, bytes);
  }
};

template <int Op, class T>
struct UnaryRow {
  const T* in;

  template <class D>
  HWY_INLINE Vec<D> apply(D d, int64_t i) const {
    return unary_op<Op>(d, hn::LoadU(d, in + i));
  }

  template <class D>
  HWY_INLINE void apply_padded(D d, int64_t i, int64_t count, T* out) const {
    HWY_ALIGN T ti[kMaxLanes<T>], to[kMaxLanes<T>];
    std::fill(ti, ti + kMaxLanes<T>, T(1));  // benign for log and sqrt
    const size_t bytes = static_cast<size_t>(count) * sizeof(T);
    std::memcpy(ti, in + i, bytes);
    hn::Store(unary_op<Op>(d, hn::Load(d, ti)), d, to);
    std::memcpy(out + i, to, bytes);
  }
};

template <int Op, int Bc, class T>
HWY_INLINE void binary_row(const T* a, const T* b, T* out, int64_t n) {
  drive_row(BinaryRow<Op, Bc, T>{a, b}, out, n);
}

template <int Op, class T>
HWY_INLINE void unary_row(const T* in, T* out, int64_t n) {
  drive_row(UnaryRow<Op, T>{in}, out, n);
}

template <int Op, class T>
HWY_INLINE void binary_broadcast(int bc, const T* a, const T* b, T* out, int64_t n) {
  if (bc == kScalarB) binary_row<Op, kScalarB>(a, b, out, n);
  else if (bc == kScalarA) binary_row<Op, kScalarA>(a, b, out, n);
  else binary_row<Op, kNone>(a, b, out, n);
}

// The op is chosen once per row, outside the vector loop.
template <class T>
HWY_INLINE void binary_any(int op, int bc, const T* a, const T* b, T* out, int64_t n) {
  switch (op) {
    case kAdd: return binary_broadcast<kAdd>(bc, a, b, out, n);
    case kSub: return binary_broadcast<kSub>(bc, a, b, out, n);
    case kMul: return binary_broadcast<kMul>(bc, a, b, out, n);
    case kDiv: return binary_broadcast<kDiv>(bc, a, b, out, n);
    case kMax: return binary_broadcast<kMax>(bc, a, b, out, n);
    default: return binary_broadcast<kMin>(bc, a, b, out, n);
  }
}

template <class T>
HWY_INLINE void unary_any(int op, const T* in, T* out, int64_t n) {
  switch (op) {
    case kNeg: return unary_row<kNeg>(in, out, n);
    case kAbs: return unary_row<kAbs>(in, out, n);
    case kSqrt: return unary_row<kSqrt>(in, out, n);
    case kRelu: return unary_row<kRelu>(in, out, n);
    case kExp: return unary_row<kExp>(in, out, n);
    case kLog: return unary_row<kLog>(in, out, n);
    case kTanh: return unary_row<kTanh>(in, out, n);
    default: return unary_row<kSigmoid>(in, out, n);
  }
}

void BinaryF32(int op, int bc, const float* a, const float* b, float* out, int64_t n) {
  binary_any(op, bc, a, b, out, n);
}
void BinaryF64(int op, int bc, const double* a, const double* b, double* out, int64_t n) {
  binary_any(op, bc, a, b, out, n);
}
void UnaryF32(int op, const float* in, float* out, int64_t n) { unary_any(op, in, out, n); }
void UnaryF64(int op, const double* in, double* out, int64_t n) { unary_any(op, in, out, n); }
const char* Target() { return hwy::TargetName(HWY_TARGET); }

}  // namespace lamina::kernels::cpu::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <string>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/runtime/blas.h"

namespace lamina::kernels::cpu {
namespace simd {
HWY_EXPORT(BinaryF32);
HWY_EXPORT(BinaryF64);
HWY_EXPORT(UnaryF32);
HWY_EXPORT(UnaryF64);
HWY_EXPORT(Target);
}  // namespace simd

namespace {

void run_binary(int op, int bc, const float* a, const float* b, float* out, int64_t n) {
  HWY_DYNAMIC_DISPATCH(simd::BinaryF32)(op, bc, a, b, out, n);
}
void run_binary(int op, int bc, const double* a, const double* b, double* out, int64_t n) {
  HWY_DYNAMIC_DISPATCH(simd::BinaryF64)(op, bc, a, b, out, n);
}
void run_unary(int op, const float* in, float* out, int64_t n) { HWY_DYNAMIC_DISPATCH(simd::UnaryF32)(op, in, out, n); }
void run_unary(int op, const double* in, double* out, int64_t n) {
  HWY_DYNAMIC_DISPATCH(simd::UnaryF64)(op, in, out, n);
}

// Elements per gathered chunk of a strided row (fits comfortably in L1 and on the stack).
constexpr int64_t kChunk = 256;

// Elements [i0, i0 + m) of a strided operand, contiguous: in place when the operand already
// is, else gathered into `buf`.
template <class T>
const T* contiguous_chunk(const char* base, int64_t stride, int64_t i0, int64_t m, T* buf) {
  if (stride == static_cast<int64_t>(sizeof(T))) return reinterpret_cast<const T*>(base) + i0;
  for (int64_t k = 0; k < m; ++k) buf[k] = *reinterpret_cast<const T*>(base + (i0 + k) * stride);
  return buf;
}

// Writes a computed chunk to a strided output (nothing to do when it was computed in place).
template <class T>
void scatter_chunk(const T* chunk, char* base, int64_t stride, int64_t i0, int64_t m) {
  if (stride == static_cast<int64_t>(sizeof(T))) return;
  for (int64_t k = 0; k < m; ++k) *reinterpret_cast<T*>(base + (i0 + k) * stride) = chunk[k];
}

// A row with a strided operand: chunk by chunk, make each operand contiguous, run the
// contiguous vector code, write back.
template <class T>
void strided_binary(int op, char** p, const int64_t* s, int64_t n) {
  alignas(64) T a[kChunk], b[kChunk], o[kChunk];
  const bool out_contiguous = s[0] == static_cast<int64_t>(sizeof(T));
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = std::min(kChunk, n - i0);
    T* out = out_contiguous ? reinterpret_cast<T*>(p[0]) + i0 : o;
    run_binary(op, simd::kNone, contiguous_chunk(p[1], s[1], i0, m, a), contiguous_chunk(p[2], s[2], i0, m, b), out, m);
    scatter_chunk(out, p[0], s[0], i0, m);
  }
}

template <class T>
void strided_unary(int op, char** p, const int64_t* s, int64_t n) {
  alignas(64) T a[kChunk], o[kChunk];
  const bool out_contiguous = s[0] == static_cast<int64_t>(sizeof(T));
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = std::min(kChunk, n - i0);
    T* out = out_contiguous ? reinterpret_cast<T*>(p[0]) + i0 : o;
    run_unary(op, contiguous_chunk(p[1], s[1], i0, m, a), out, m);
    scatter_chunk(out, p[0], s[0], i0, m);
  }
}

template <int Op>
struct BinarySimd {
  template <class T>
  struct K {
    static void run(const StridedLoop& loop, const KernelParams&) {
      for_each_row<3>(loop, [](char** p, const int64_t* s, int64_t n) {
        constexpr int64_t sz = sizeof(T);
        T* out = reinterpret_cast<T*>(p[0]);
        const T* a = reinterpret_cast<const T*>(p[1]);
        const T* b = reinterpret_cast<const T*>(p[2]);
        if (s[0] == sz && s[1] == sz && s[2] == sz) return run_binary(Op, simd::kNone, a, b, out, n);
        if (s[0] == sz && s[1] == sz && s[2] == 0) return run_binary(Op, simd::kScalarB, a, b, out, n);
        if (s[0] == sz && s[1] == 0 && s[2] == sz) return run_binary(Op, simd::kScalarA, a, b, out, n);
        strided_binary<T>(Op, p, s, n);
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
        if (s[0] == sizeof(T) && s[1] == sizeof(T))
          return run_unary(Op, reinterpret_cast<const T*>(p[1]), reinterpret_cast<T*>(p[0]), n);
        strided_unary<T>(Op, p, s, n);
      });
    }
  };
};

}  // namespace

void register_simd_kernels() {
  using runtime::Backend;
  register_each<BinarySimd<simd::kAdd>::K, float, double>("add", Backend::CpuSimd);
  register_each<BinarySimd<simd::kSub>::K, float, double>("sub", Backend::CpuSimd);
  register_each<BinarySimd<simd::kMul>::K, float, double>("mul", Backend::CpuSimd);
  register_each<BinarySimd<simd::kDiv>::K, float, double>("div", Backend::CpuSimd);
  register_each<BinarySimd<simd::kMax>::K, float, double>("maximum", Backend::CpuSimd);
  register_each<BinarySimd<simd::kMin>::K, float, double>("minimum", Backend::CpuSimd);
  register_each<UnarySimd<simd::kNeg>::K, float, double>("neg", Backend::CpuSimd);
  register_each<UnarySimd<simd::kAbs>::K, float, double>("abs", Backend::CpuSimd);
  register_each<UnarySimd<simd::kSqrt>::K, float, double>("sqrt", Backend::CpuSimd);
  register_each<UnarySimd<simd::kRelu>::K, float, double>("relu", Backend::CpuSimd);
  register_each<UnarySimd<simd::kExp>::K, float, double>("exp", Backend::CpuSimd);
  register_each<UnarySimd<simd::kLog>::K, float, double>("log", Backend::CpuSimd);
  register_each<UnarySimd<simd::kTanh>::K, float, double>("tanh", Backend::CpuSimd);
  register_each<UnarySimd<simd::kSigmoid>::K, float, double>("sigmoid", Backend::CpuSimd);
}

}  // namespace lamina::kernels::cpu

namespace lamina::runtime {

std::string simd_target_name() { return HWY_DYNAMIC_DISPATCH(kernels::cpu::simd::Target)(); }

namespace {
int64_t g_forced_target = 0;  // a Highway target bit, or 0 for Highway's own choice
}  // namespace

std::vector<std::string> simd_targets() {
  hwy::SetSupportedTargetsForTest(0);
  std::vector<std::string> names;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) names.emplace_back(hwy::TargetName(t));
  hwy::SetSupportedTargetsForTest(g_forced_target);
  return names;
}

void set_simd_target(const std::string& name) {
  int64_t target = 0;
  hwy::SetSupportedTargetsForTest(0);
  for (int64_t t : hwy::SupportedAndGeneratedTargets())
    if (name == hwy::TargetName(t)) target = t;
  hwy::SetSupportedTargetsForTest(g_forced_target);
  if (name.empty() || target != 0) {
    g_forced_target = target;
    hwy::SetSupportedTargetsForTest(target);
    return;
  }
  std::string known;
  for (const std::string& n : simd_targets()) known += (known.empty() ? "" : ", ") + n;
  LAMINA_THROW(ConfigError, "set_simd_target", "'", name, "' is not a SIMD target of this build and CPU; choose one of ",
               known, " (or \"\" for the best)");
}

}  // namespace lamina::runtime
#endif  // HWY_ONCE

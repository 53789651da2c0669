// Vector inner loops of the reductions and softmax, with Highway's run-time dispatch (compiled
// once per SIMD target; see simd.h for what each computes). The walks over tensors, the
// pairwise joining of blocks and every strided case stay in reduce.cpp / softmax.cpp, so the
// order of additions stays the one documented there.
//
// Why the sums are bit-identical to the scalar cascade on every target: a block's 8
// accumulators are held as 8 / L vectors of L = min(8, lanes) lanes (CappedTag), so lane l
// sees exactly the elements j = l (mod 8), in order; only Add/Mul are used (nothing the
// compiler could fuse into an FMA); the partial last group combines the unused lanes with the
// identity (acc + 0 and acc * 1 are exact: acc starts at +0 and so is never -0). The scalar
// cascade already auto-vectorizes well for plain sums; the gain here is in the wider targets
// and in the folds with a map (exp for logsumexp), which the compiler cannot vectorize.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lamina/kernels/cpu/simd_reduce.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
// (after highway.h, which it needs per target)
#include <hwy/contrib/math/math-inl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "lamina/kernels/cpu/simd.h"

HWY_BEFORE_NAMESPACE();
namespace lamina::kernels::cpu::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D>
using Vec = decltype(hn::Zero(D()));

// exp with C's edges: inf past the overflow point, NaN kept (Highway's Exp maps NaN to 0).
template <class D, class V = Vec<D>>
HWY_INLINE V exp_nan(D d, V x) {
  using T = hn::TFromD<D>;
  const V limit = hn::Set(d, sizeof(T) == 4 ? T(88.8) : T(709.8));
  const V r = hn::IfThenElse(hn::Gt(x, limit), hn::Set(d, std::numeric_limits<T>::infinity()), hn::Exp(d, x));
  return hn::IfThenElse(hn::IsNaN(x), x, r);
}

template <int Kind, class D, class V = Vec<D>>
HWY_INLINE V block_map(D d, V x, V c) {
  if constexpr (Kind == kBlockSumExp) return exp_nan(d, hn::Sub(x, c));
  else return x;
}

template <int Kind, class V>
HWY_INLINE V block_combine(V a, V b) {
  if constexpr (Kind == kBlockProd) return hn::Mul(a, b);
  else return hn::Add(a, b);
}

template <int Kind, class T>
HWY_INLINE T scalar_combine(T a, T b) {
  if constexpr (Kind == kBlockProd) return a * b;
  else return a + b;
}

// Joins a block's accumulators as reduce.cpp's join_lanes does: a balanced tree of halves.
template <int Kind, int N, class T>
HWY_INLINE T join_tree(const T* a) {
  if constexpr (N == 1) return a[0];
  else return scalar_combine<Kind>(join_tree<Kind, N / 2>(a), join_tree<Kind, N / 2>(a + N / 2));
}
template <int Kind, class T>
HWY_INLINE T join8(const T* a) {
  return join_tree<Kind, kSumLanes>(a);
}

template <int Kind, class T>
void reduce_blocks_kind(const T* HWY_RESTRICT p, int64_t n, T c, T* HWY_RESTRICT out) {
  const hn::CappedTag<T, kSumLanes> d;
  constexpr size_t L = hn::MaxLanes(d);
  constexpr int K = kSumLanes / static_cast<int>(L);
  static_assert(K * L == kSumLanes, "vector lanes must divide the accumulators");
  // Blocks folded side by side. 4 doubles the in-cache speed (four dependency chains) but
  // halves the speed from DRAM here (interleaved 1 KiB streams within a page starve the
  // hardware prefetcher: 6 vs 14 GB/s on this machine), so one block at a time, as the
  // out-of-order core overlaps neighbouring blocks' chains anyway.
  constexpr int kMulti = 1;
  const Vec<decltype(d)> identity = hn::Set(d, Kind == kBlockProd ? T(1) : T(0));
  const Vec<decltype(d)> vc = hn::Set(d, c);
  HWY_ALIGN T lanes[kSumLanes];
  int64_t b = 0;
  const int64_t full = n / kSumBlock;
  for (; b + kMulti <= full; b += kMulti) {
    Vec<decltype(d)> acc[kMulti][K];
    for (int m = 0; m < kMulti; ++m)
      for (int k = 0; k < K; ++k) acc[m][k] = identity;
    const T* q = p + b * kSumBlock;
    for (int64_t j = 0; j < kSumBlock; j += kSumLanes) {
      for (int m = 0; m < kMulti; ++m)
        for (int k = 0; k < K; ++k)
          acc[m][k] = block_combine<Kind>(acc[m][k], block_map<Kind>(d, hn::LoadU(d, q + m * kSumBlock + j + k * L), vc));
    }
    for (int m = 0; m < kMulti; ++m) {
      for (int k = 0; k < K; ++k) hn::Store(acc[m][k], d, lanes + k * L);
      out[b + m] = join8<Kind>(lanes);
    }
  }
  for (; b * kSumBlock < n; ++b) {
    const T* q = p + b * kSumBlock;
    const int64_t m = std::min(kSumBlock, n - b * kSumBlock);
    Vec<decltype(d)> acc[K];
    for (int k = 0; k < K; ++k) acc[k] = identity;
    int64_t j = 0;
    for (; j + kSumLanes <= m; j += kSumLanes)
      for (int k = 0; k < K; ++k)
        acc[k] = block_combine<Kind>(acc[k], block_map<Kind>(d, hn::LoadU(d, q + j + k * L), vc));
    if (j < m) {  // the last, partial group: unused lanes take the identity
      HWY_ALIGN T buf[kSumLanes];
      std::fill(buf, buf + kSumLanes, T(0));
      std::memcpy(buf, q + j, static_cast<size_t>(m - j) * sizeof(T));
      for (int k = 0; k < K; ++k) {
        const int64_t used = std::clamp<int64_t>(m - j - k * static_cast<int64_t>(L), 0, L);
        const auto v = block_map<Kind>(d, hn::Load(d, buf + k * L), vc);
        acc[k] = block_combine<Kind>(acc[k], hn::IfThenElse(hn::FirstN(d, static_cast<size_t>(used)), v, identity));
      }
    }
    for (int k = 0; k < K; ++k) hn::Store(acc[k], d, lanes + k * L);
    out[b] = join8<Kind>(lanes);
  }
}

template <class T>
void reduce_blocks_any(int kind, const T* p, int64_t n, T c, T* out) {
  if (kind == kBlockProd) reduce_blocks_kind<kBlockProd>(p, n, c, out);
  else if (kind == kBlockSumExp) reduce_blocks_kind<kBlockSumExp>(p, n, c, out);
  else reduce_blocks_kind<kBlockSum>(p, n, c, out);
}

// Max/min over a contiguous run, four accumulators; NaN tracked on the side with IsNaN (Max/Min's
// own NaN behaviour differs between ISAs, and Highway's Ne(v, v) is false for NaN on AVX2). Exact, so any order gives the same value (a +0/-0 tie
// may come out either way).
template <bool kMax, class T>
T extreme_kind(const T* HWY_RESTRICT p, int64_t n, bool* nan) {
  const hn::ScalableTag<T> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  using V = Vec<decltype(d)>;
  const T start = kMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  auto better = [](V a, V b) { return kMax ? hn::Max(a, b) : hn::Min(a, b); };
  V a0 = hn::Set(d, start), a1 = a0, a2 = a0, a3 = a0;
  auto any_nan = hn::Lt(a0, a0);  // all false
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const V v0 = hn::LoadU(d, p + i), v1 = hn::LoadU(d, p + i + N), v2 = hn::LoadU(d, p + i + 2 * N),
            v3 = hn::LoadU(d, p + i + 3 * N);
    a0 = better(a0, v0);
    a1 = better(a1, v1);
    a2 = better(a2, v2);
    a3 = better(a3, v3);
    any_nan = hn::Or(any_nan, hn::Or(hn::Or(hn::IsNaN(v0), hn::IsNaN(v1)), hn::Or(hn::IsNaN(v2), hn::IsNaN(v3))));
  }
  for (; i + N <= n; i += N) {
    const V v = hn::LoadU(d, p + i);
    a0 = better(a0, v);
    any_nan = hn::Or(any_nan, hn::IsNaN(v));
  }
  a0 = better(better(a0, a1), better(a2, a3));
  HWY_ALIGN T lanes[hn::MaxLanes(d)];
  hn::Store(a0, d, lanes);
  bool found_nan = !hn::AllFalse(d, any_nan);
  T r = start;
  for (int64_t l = 0; l < N; ++l) r = (kMax ? lanes[l] > r : lanes[l] < r) ? lanes[l] : r;
  for (; i < n; ++i) {
    found_nan |= p[i] != p[i];
    r = (kMax ? p[i] > r : p[i] < r) ? p[i] : r;
  }
  *nan = found_nan;
  return r;
}

template <class T>
T extreme_any(bool is_max, const T* p, int64_t n, bool* nan) {
  return is_max ? extreme_kind<true>(p, n, nan) : extreme_kind<false>(p, n, nan);
}

template <class T>
int64_t find_first_any(const T* HWY_RESTRICT p, int64_t n, T target) {
  const hn::ScalableTag<T> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const bool want_nan = target != target;
  const auto vt = hn::Set(d, target);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(d, p + i);
    const auto hit = want_nan ? hn::IsNaN(v) : hn::Eq(v, vt);
    if (!hn::AllFalse(d, hit)) return i + static_cast<int64_t>(hn::FindFirstTrue(d, hit));
  }
  for (; i < n; ++i)
    if (want_nan ? p[i] != p[i] : p[i] == target) return i;
  return -1;
}

// Three passes over a line that is usually still in L1/L2 after the first: the max, then
// e = exp(x - max) (kept in y for softmax) summed in four accumulators, then the scaling.
// With `lse`, the line's logsumexp max + log(sum) goes there too (NaN where the result is).
template <class T>
void softmax_line_any(const T* x, T* y, int64_t n, bool log_form, T* lse) {
  const hn::ScalableTag<T> d;
  using V = Vec<decltype(d)>;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  bool nan = false;
  const T m = extreme_kind<true>(x, n, &nan);
  if (nan || !(m > -std::numeric_limits<T>::infinity() && m < std::numeric_limits<T>::infinity())) {
    std::fill(y, y + n, std::numeric_limits<T>::quiet_NaN());  // x - max is NaN somewhere
    if (lse) *lse = std::numeric_limits<T>::quiet_NaN();
    return;
  }
  const V vm = hn::Set(d, m);
  V s0 = hn::Zero(d), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const V e0 = exp_nan(d, hn::Sub(hn::LoadU(d, x + i), vm));
    const V e1 = exp_nan(d, hn::Sub(hn::LoadU(d, x + i + N), vm));
    const V e2 = exp_nan(d, hn::Sub(hn::LoadU(d, x + i + 2 * N), vm));
    const V e3 = exp_nan(d, hn::Sub(hn::LoadU(d, x + i + 3 * N), vm));
    if (!log_form) {
      hn::StoreU(e0, d, y + i);
      hn::StoreU(e1, d, y + i + N);
      hn::StoreU(e2, d, y + i + 2 * N);
      hn::StoreU(e3, d, y + i + 3 * N);
    }
    s0 = hn::Add(s0, e0);
    s1 = hn::Add(s1, e1);
    s2 = hn::Add(s2, e2);
    s3 = hn::Add(s3, e3);
  }
  for (; i < n; i += N) {
    const int64_t count = std::min(N, n - i);
    HWY_ALIGN T buf[hn::MaxLanes(d)];
    std::fill(buf, buf + N, -std::numeric_limits<T>::infinity());  // exp(-inf) = 0 adds nothing
    std::memcpy(buf, x + i, static_cast<size_t>(count) * sizeof(T));
    const V e = exp_nan(d, hn::Sub(hn::Load(d, buf), vm));
    if (!log_form) {
      hn::Store(e, d, buf);
      std::memcpy(y + i, buf, static_cast<size_t>(count) * sizeof(T));
    }
    s0 = hn::Add(s0, e);
  }
  const V total = hn::Add(hn::Add(s0, s1), hn::Add(s2, s3));
  HWY_ALIGN T lanes[hn::MaxLanes(d)];
  hn::Store(total, d, lanes);
  T sum = 0;
  for (int64_t l = 0; l < N; ++l) sum += lanes[l];
  if (lse) *lse = m + std::log(sum);
  i = 0;
  if (log_form) {
    // (x - m) - log(sum), not x - (m + log(sum)), which would round
    const V log_sum = hn::Set(d, static_cast<T>(hn::GetLane(hn::Log(d, hn::Set(d, sum)))));
    for (; i + N <= n; i += N) hn::StoreU(hn::Sub(hn::Sub(hn::LoadU(d, x + i), vm), log_sum), d, y + i);
    for (; i < n; ++i) y[i] = (x[i] - m) - hn::GetLane(log_sum);
  } else {
    const V inv = hn::Set(d, T(1) / sum);
    for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, y + i), inv), d, y + i);
    for (; i < n; ++i) y[i] *= hn::GetLane(inv);
  }
}

void ReduceBlocksF32(int kind, const float* p, int64_t n, float c, float* out) { reduce_blocks_any(kind, p, n, c, out); }
void ReduceBlocksF64(int kind, const double* p, int64_t n, double c, double* out) {
  reduce_blocks_any(kind, p, n, c, out);
}
float ExtremeF32(bool is_max, const float* p, int64_t n, bool* nan) { return extreme_any(is_max, p, n, nan); }
double ExtremeF64(bool is_max, const double* p, int64_t n, bool* nan) { return extreme_any(is_max, p, n, nan); }
int64_t FindF32(const float* p, int64_t n, float t) { return find_first_any(p, n, t); }
int64_t FindF64(const double* p, int64_t n, double t) { return find_first_any(p, n, t); }
void SoftmaxF32(const float* x, float* y, int64_t n, bool log_form, float* lse) {
  softmax_line_any(x, y, n, log_form, lse);
}
void SoftmaxF64(const double* x, double* y, int64_t n, bool log_form, double* lse) {
  softmax_line_any(x, y, n, log_form, lse);
}

}  // namespace lamina::kernels::cpu::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lamina::kernels::cpu::simd {
HWY_EXPORT(ReduceBlocksF32);
HWY_EXPORT(ReduceBlocksF64);
HWY_EXPORT(ExtremeF32);
HWY_EXPORT(ExtremeF64);
HWY_EXPORT(FindF32);
HWY_EXPORT(FindF64);
HWY_EXPORT(SoftmaxF32);
HWY_EXPORT(SoftmaxF64);

void reduce_blocks(int kind, const float* p, int64_t n, float c, float* out) {
  HWY_DYNAMIC_DISPATCH(ReduceBlocksF32)(kind, p, n, c, out);
}
void reduce_blocks(int kind, const double* p, int64_t n, double c, double* out) {
  HWY_DYNAMIC_DISPATCH(ReduceBlocksF64)(kind, p, n, c, out);
}
float extreme_row(bool is_max, const float* p, int64_t n, bool* nan) {
  return HWY_DYNAMIC_DISPATCH(ExtremeF32)(is_max, p, n, nan);
}
double extreme_row(bool is_max, const double* p, int64_t n, bool* nan) {
  return HWY_DYNAMIC_DISPATCH(ExtremeF64)(is_max, p, n, nan);
}
int64_t find_first(const float* p, int64_t n, float target) { return HWY_DYNAMIC_DISPATCH(FindF32)(p, n, target); }
int64_t find_first(const double* p, int64_t n, double target) { return HWY_DYNAMIC_DISPATCH(FindF64)(p, n, target); }
void softmax_line(const float* x, float* y, int64_t n, bool log_form, float* lse) {
  HWY_DYNAMIC_DISPATCH(SoftmaxF32)(x, y, n, log_form, lse);
}
void softmax_line(const double* x, double* y, int64_t n, bool log_form, double* lse) {
  HWY_DYNAMIC_DISPATCH(SoftmaxF64)(x, y, n, log_form, lse);
}
}  // namespace lamina::kernels::cpu::simd
#endif  // HWY_ONCE

#pragma once
// The per-element and combine math of the CUDA reductions, softmax, norms and cross-entropy:
// LAMINA_HD functions only (no kernels, no warp intrinsics), so the host compiler builds them too
// and tests/cpp/cuda/ checks them against the CPU kernels. Every combine is applied in a fixed
// tree order by the kernels, so results do not change from run to run.
#include <cstdint>
#include <limits>
#include <type_traits>

#include "lamina/kernels/cuda/common.cuh"

namespace lamina::kernels::cuda {

/// exp in the accumulator's precision (expf for float).
LAMINA_HD inline float math_exp(float x) { return ::expf(x); }
/// exp in double.
LAMINA_HD inline double math_exp(double x) { return ::exp(x); }
/// log in float.
LAMINA_HD inline float math_log(float x) { return ::logf(x); }
/// log in double.
LAMINA_HD inline double math_log(double x) { return ::log(x); }
/// sqrt in float.
LAMINA_HD inline float math_sqrt(float x) { return ::sqrtf(x); }
/// sqrt in double.
LAMINA_HD inline double math_sqrt(double x) { return ::sqrt(x); }
/// pow in float.
LAMINA_HD inline float math_pow(float x, float y) { return ::powf(x, y); }
/// pow in double.
LAMINA_HD inline double math_pow(double x, double y) { return ::pow(x, y); }
/// |x| in float.
LAMINA_HD inline float math_abs(float x) { return ::fabsf(x); }
/// |x| in double.
LAMINA_HD inline double math_abs(double x) { return ::fabs(x); }

/// True for a NaN (always false for integer and bool values).
template <class C>
LAMINA_HD inline bool is_nan_value(C v) {
  if constexpr (std::is_floating_point_v<C>)
    return v != v;
  else
    return false;
}

/// +infinity of a floating type.
template <class C>
LAMINA_HD inline C inf_value() {
  return std::numeric_limits<C>::infinity();
}

/// A quiet NaN of a floating type.
template <class C>
LAMINA_HD inline C nan_value() {
  return std::numeric_limits<C>::quiet_NaN();
}

// ---- max / min with the index of the first extreme element ----

/// A candidate extreme: its value and its position among the reduced elements.
template <class C>
struct ArgExtreme {
  C value;
  int64_t index;
};

/// The start of a max (kMax) or min search: loses against every element.
template <class C, bool kMax>
LAMINA_HD inline ArgExtreme<C> extreme_identity() {
  using L = std::numeric_limits<C>;
  C v;
  if constexpr (L::has_infinity)
    v = kMax ? -L::infinity() : L::infinity();
  else
    v = kMax ? L::lowest() : L::max();
  return {v, std::numeric_limits<int64_t>::max()};
}

/// The better of two candidates: a NaN wins (the first NaN among NaNs), then the larger (kMax) or
/// smaller value, ties going to the smaller index. Associative and commutative, so the result is
/// the CPU kernel's (value, first index) whatever the combine order.
template <class C, bool kMax>
LAMINA_HD inline ArgExtreme<C> extreme_combine(ArgExtreme<C> a, ArgExtreme<C> b) {
  const bool na = is_nan_value(a.value), nb = is_nan_value(b.value);
  if (na || nb) {
    if (na && nb) return a.index <= b.index ? a : b;
    return na ? a : b;
  }
  if (a.value == b.value) return a.index <= b.index ? a : b;
  const bool b_better = kMax ? b.value > a.value : b.value < a.value;
  return b_better ? b : a;
}

// ---- mean and variance (Chan's parallel Welford) ----

/// Count, mean and sum of squared deviations of a set of values.
template <class A>
struct Welford {
  int64_t n;
  A mean;
  A m2;
};

/// The statistics of one value.
template <class A>
LAMINA_HD inline Welford<A> welford_of(A x) {
  return {1, x, A(0)};
}

/// The statistics of the union of two disjoint sets.
template <class A>
LAMINA_HD inline Welford<A> welford_combine(Welford<A> a, Welford<A> b) {
  if (b.n == 0) return a;
  if (a.n == 0) return b;
  const int64_t n = a.n + b.n;
  const A delta = b.mean - a.mean;
  const A fb = static_cast<A>(b.n) / static_cast<A>(n);
  return {n, a.mean + delta * fb, a.m2 + b.m2 + delta * delta * static_cast<A>(a.n) * fb};
}

/// var (or std when take_sqrt) with divisor max(n - correction, 0), as the CPU kernel.
template <class A>
LAMINA_HD inline A welford_finish(Welford<A> w, double correction, bool take_sqrt) {
  const double n = static_cast<double>(w.n);
  const double divisor = n > correction ? n - correction : 0.0;
  const A var = static_cast<A>(static_cast<double>(w.m2) / divisor);
  return take_sqrt ? math_sqrt(var) : var;
}

// ---- online (max, sum of exp) for logsumexp and softmax ----

/// A running maximum m and the sum s of exp(x - m) over the values seen.
template <class A>
struct MaxSum {
  A m;
  A s;
};

/// Nothing seen yet.
template <class A>
LAMINA_HD inline MaxSum<A> maxsum_identity() {
  return {-inf_value<A>(), A(0)};
}

/// One value.
template <class A>
LAMINA_HD inline MaxSum<A> maxsum_of(A x) {
  return {x, A(1)};
}

/// Both sets together: the sums rescaled to the larger maximum. A NaN maximum wins; an
/// all -inf set stays at (-inf, 0); a +inf maximum keeps its own count.
template <class A>
LAMINA_HD inline MaxSum<A> maxsum_combine(MaxSum<A> a, MaxSum<A> b) {
  if (is_nan_value(a.m) || is_nan_value(b.m)) return {nan_value<A>(), A(0)};
  const A m = a.m > b.m ? a.m : b.m;
  if (m == -inf_value<A>()) return {m, A(0)};
  auto term = [m](MaxSum<A> v) { return v.s == A(0) ? A(0) : v.m == m ? v.s : v.s * math_exp(v.m - m); };
  return {m, term(a) + term(b)};
}

/// log(sum(exp(x))) of the set: the maximum itself when it is not finite (all -inf, a +inf or a
/// NaN), as the CPU kernel.
template <class A>
LAMINA_HD inline A maxsum_logsumexp(MaxSum<A> v) {
  const bool finite = !is_nan_value(v.m) && v.m != inf_value<A>() && v.m != -inf_value<A>();
  return finite ? v.m + math_log(v.s) : v.m;
}

/// True when a softmax line with these statistics is all NaN (the CPU rule: x - max is NaN for
/// some element or the sum is, i.e. the maximum is not finite).
template <class A>
LAMINA_HD inline bool maxsum_degenerate(MaxSum<A> v) {
  return is_nan_value(v.m) || v.m == inf_value<A>() || v.m == -inf_value<A>();
}

/// softmax (log_form false) or log_softmax of x in a line with statistics v (not degenerate).
template <class A>
LAMINA_HD inline A softmax_value(A x, MaxSum<A> v, bool log_form) {
  return log_form ? (x - v.m) - math_log(v.s) : math_exp(x - v.m) / v.s;
}

// ---- p-norm ----

/// |x|^p's summand for the finite p the norm kernel sums (0: count of nonzeros, 1, 2, other).
template <class A>
LAMINA_HD inline A norm_term(A x, double p) {
  if (p == 0) return x != A(0) ? A(1) : A(0);
  if (p == 1) return math_abs(x);
  if (p == 2) return x * x;
  return math_pow(math_abs(x), static_cast<A>(p));
}

/// The norm from the sum of norm_term.
template <class A>
LAMINA_HD inline A norm_finish(A sum, double p) {
  if (p == 0 || p == 1) return sum;
  if (p == 2) return math_sqrt(sum);
  return math_pow(sum, A(1) / static_cast<A>(p));
}

// ---- cross-entropy on one row of logits ----

/// What the fused cross-entropy needs per row beyond the logits: the target, whether it is
/// ignore_index, its class weight (0 when ignored), the logsumexp, sum_c w_c x_c and sum_c w_c
/// (w_c = 1 without class weights).
template <class A>
struct CrossEntropyRow {
  int64_t target;
  bool ignored;
  A w_target;
  A lse;
  A sum_wx;
  A sum_w;
};

/// The row's loss: (1 - eps) * -w_t * log p_t + eps / C * -sum_c w_c log p_c, 0 when ignored
/// (ignored), as the composite cross_entropy with label smoothing eps.
template <class A>
LAMINA_HD inline A cross_entropy_loss(const CrossEntropyRow<A>& r, A x_target, double eps, int64_t classes) {
  if (r.ignored) return A(0);
  const A nll = -r.w_target * (x_target - r.lse);
  if (eps == 0) return nll;
  const A smooth = -(r.sum_wx - r.lse * r.sum_w);
  return static_cast<A>(1.0 - eps) * nll + static_cast<A>(eps / static_cast<double>(classes)) * smooth;
}

/// d loss / d x_c for logit x_c of class c with class weight w_c:
/// (1 - eps) w_t (p_c - [c == t]) + eps / C (sum_w p_c - w_c), 0 for an ignored row.
template <class A>
LAMINA_HD inline A cross_entropy_grad(const CrossEntropyRow<A>& r, A x, A w_c, int64_t c, double eps, int64_t classes) {
  if (r.ignored) return A(0);
  const A p = math_exp(x - r.lse);
  A g = r.w_target * (p - (c == r.target ? A(1) : A(0)));
  if (eps == 0) return g;
  g = static_cast<A>(1.0 - eps) * g;
  return g + static_cast<A>(eps / static_cast<double>(classes)) * (r.sum_w * p - w_c);
}

// ---- layer norm / RMS norm on one row ----

/// Layer norm's input gradient for one element: rstd (w dy - xhat c1 - c2), with c1 = mean(w dy
/// xhat) and c2 = mean(w dy) over the row.
template <class A>
LAMINA_HD inline A layer_norm_dx(A wdy, A xhat, A rstd, A c1, A c2) {
  return rstd * (wdy - xhat * c1 - c2);
}

/// 1 / sqrt(mean(x^2) + eps) from the row's sum of squares.
template <class A>
LAMINA_HD inline A rms_rstd(A sum_sq, int64_t d, double eps) {
  return A(1) / math_sqrt(sum_sq / static_cast<A>(d) + static_cast<A>(eps));
}

/// RMS norm's input gradient for one element: rstd (w dy - x rstd^2 c), c = mean(w dy x) over the row.
template <class A>
LAMINA_HD inline A rms_norm_dx(A wdy, A x, A rstd, A c) {
  return rstd * (wdy - x * rstd * rstd * c);
}

// ---- geometry ----

/// The byte offset of linear index i (row-major over shape) for the given byte strides.
LAMINA_HD inline int64_t offset_of(int64_t i, int ndim, const int64_t* shape, const int64_t* strides) {
  int64_t off = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    const int64_t q = i / shape[d];
    off += (i - q * shape[d]) * strides[d];
    i = q;
  }
  return off;
}

}  // namespace lamina::kernels::cuda

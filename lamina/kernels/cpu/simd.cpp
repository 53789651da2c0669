// SIMD kernels with Highway's run-time dispatch: this file is compiled once per target ISA
// (AVX-512, AVX2, SSE4, NEON, ... as Highway decides) and the best one for the running CPU
// is picked on first call, so a binary built here runs, vectorized, on any x86-64 or Arm CPU.
// Registered under Backend::CpuSimd for float32/float64; the dispatcher falls back to the
// cpu_scalar kernels for every other (op, dtype).
//
// Every element gets the same arithmetic wherever it sits: the tail of a row is computed as a
// full vector padded with ones, and strided rows are gathered into a contiguous chunk, run
// through the same vector code and scattered back. So x.t().exp() equals x.exp().t() bit for bit.
// add/sub/mul/div/maximum/minimum/neg/abs/sqrt/relu/square/reciprocal/rsqrt give the scalar
// kernels' values exactly; exp/log/tanh/sigmoid/silu/expm1/log1p (Highway's polynomials) stay
// within a few ulp of the exact result (test_simd_math.cpp measures them against long double).
// gelu is the erf form (PyTorch's approximate='none'), computed as 0.5 x erfc(-x/sqrt 2) with
// fdlibm's erf/erfc rational approximations, so its negative tail keeps full relative accuracy
// (the textbook 0.5 x (1 + erf(x/sqrt 2)) cancels to 0 below x = -6); float32 evaluates it in
// double. Specials follow the scalar kernels (gelu(-inf) is NaN there, as in PyTorch).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lamina/kernels/cpu/simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/cache_control.h>
#include <hwy/contrib/math/math-inl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>

#ifndef LAMINA_KERNELS_CPU_SIMD_OPS
#define LAMINA_KERNELS_CPU_SIMD_OPS
namespace lamina::kernels::cpu::simd {
// Op codes shared by every target's copy of the code and the registration below.
enum BinaryOp : int { kAdd, kSub, kMul, kDiv, kMax, kMin };
enum UnaryOp : int {
  kNeg, kAbs, kSqrt, kRelu, kExp, kLog, kTanh, kSigmoid,
  kSquare, kReciprocal, kRsqrt, kSilu, kGelu, kExpm1, kLog1p
};
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

// gelu(x) = 0.5 x (1 + erf(z)), z = x / sqrt(2), for double lanes. The method and
// coefficients are fdlibm's s_erf.c (Copyright (C) 1993 by Sun Microsystems, Inc. All rights
// reserved. Developed at SunPro, a Sun Microsystems, Inc. business. Permission to use, copy,
// modify, and distribute this software is freely granted, provided that this notice is
// preserved.), rearranged for gelu:
//   |z| < 0.84375:  erf(z) = z + z R(z^2)            (1 + erf written as an erfc where z < -1/4)
//   |z| < 1.25:     erf(|z|) = erx + P(|z|-1)/Q(|z|-1)
//   |z| >= 1.25:    erfc(|z|) = exp(-z^2 - 0.5625 + R(1/z^2)/S(1/z^2)) / |z|, so
//                   gelu = x - r / sqrt(2) for x > 0 and -r / sqrt(2) for x < 0, r = the exp;
//                   -z^2 = -x^2/2 is split exactly as -s^2/2 + (s-x)(s+x)/2 with s = x cut to
//                   21 bits, so the large exponent carries no rounding error.
// z itself is rounded; the first-order term erf'(z) z_lo (z_lo the exact rounding error of
// x * (1/sqrt 2)) removes that error where it matters, below |z| = 1.25.
template <class D, class V = Vec<D>>
HWY_INLINE V gelu_f64(D d, V x) {
  static_assert(sizeof(hn::TFromD<D>) == 8, "gelu_f64 takes double lanes");
  const V one = hn::Set(d, 1.0), half = hn::Set(d, 0.5);
  const V c_hi = hn::Set(d, 0.7071067811865476), c_lo = hn::Set(d, -4.833646656726457e-17);
  const V z = hn::Mul(x, c_hi);
#if HWY_NATIVE_FMA
  const V z_err = hn::MulSub(x, c_hi, z);  // exact: x * c_hi - z
#else
  // Dekker's exact product (no FMA on this target, so the compiler cannot fuse these either).
  const V split = hn::Set(d, 134217729.0);
  const V xt = hn::Mul(x, split), ct = hn::Mul(c_hi, split);
  const V x1 = hn::Sub(xt, hn::Sub(xt, x)), x2 = hn::Sub(x, x1);
  const V c1 = hn::Sub(ct, hn::Sub(ct, c_hi)), c2 = hn::Sub(c_hi, c1);
  const V z_err = hn::Add(hn::Add(hn::Add(hn::Sub(hn::Mul(x1, c1), z), hn::Mul(x1, c2)), hn::Mul(x2, c1)),
                          hn::Mul(x2, c2));
#endif
  const V z_lo = hn::MulAdd(x, c_lo, z_err);
  const V a = hn::Abs(z);
  const auto near = hn::Lt(a, hn::Set(d, 1.25));
  auto poly = [&](V t, std::initializer_list<double> c) {  // c[0] + t (c[1] + t (...))
    const double* p = c.end();
    V r = hn::Set(d, *--p);
    while (p != c.begin()) r = hn::MulAdd(r, t, hn::Set(d, *--p));
    return r;
  };
  V result = hn::Zero(d);
  if (!hn::AllFalse(d, near)) {
    // g = 1 + erf(z) = erfc(-z), gelu = 0.5 x g.
    const V zz = hn::Mul(z, z);
    const V r1 = poly(zz, {1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
                           -5.77027029648944159157e-03, -2.37630166566501626084e-05});
    const V s1 = poly(zz, {1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
                           1.32494738004321644526e-04, -3.96022827877536812320e-06});
    const V zy = hn::Mul(z, hn::Div(r1, s1));
    const V g1_up = hn::Add(one, hn::Add(z, zy));                              // z >= -1/4
    const V g1_down = hn::Add(half, hn::Add(hn::Add(z, half), zy));            // z < -1/4: erfc(-z)
    const V g1 = hn::IfThenElse(hn::Lt(z, hn::Set(d, -0.25)), g1_down, g1_up);
    const V s = hn::Sub(a, one);
    const V p2 = poly(s, {-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
                          3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
                          -2.16637559486879084300e-03});
    const V q2 = poly(s, {1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
                          1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02});
    const V pq = hn::Div(p2, q2);
    const V erx = hn::Set(d, 8.45062911510467529297e-01);
    const V g2 = hn::IfThenElse(hn::Lt(z, hn::Zero(d)), hn::Sub(hn::Sub(one, erx), pq), hn::Add(one, hn::Add(erx, pq)));
    V g = hn::IfThenElse(hn::Lt(a, hn::Set(d, 0.84375)), g1, g2);
    // + erf'(z) z_lo, erf'(z) = 2/sqrt(pi) exp(-z^2)
    g = hn::MulAdd(hn::Mul(hn::Set(d, 1.1283791670955126), hn::Exp(d, hn::Neg(zz))), z_lo, g);
    result = hn::Mul(hn::Mul(half, x), g);
  }
  if (!hn::AllTrue(d, near)) {
    const V ax = hn::Abs(x);
    const V t = hn::Div(hn::Set(d, 2.0), hn::Mul(x, x));  // 1 / z^2
    const auto mid = hn::Lt(a, hn::Set(d, 2.857142857142857));  // 1 / 0.35
    // Coefficients of [1.25, 1/0.35) (ra, sa) or [1/0.35, inf) (rb, sb), chosen per lane.
    const double ra[8] = {-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
                          -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
                          -8.12874355063065934246e+01, -9.81432934416914548592e+00};
    const double rb[8] = {-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
                          -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
                          -4.83519191608651397019e+02, 0.0};
    const double sa[9] = {1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
                          6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
                          6.57024977031928170135e+00, -6.04244152148580987438e-02};
    const double sb[9] = {1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
                          3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
                          -2.24409524465858183362e+01, 0.0};
    V r = hn::IfThenElse(mid, hn::Set(d, ra[7]), hn::Set(d, rb[7]));
    for (int k = 6; k >= 0; --k) r = hn::MulAdd(r, t, hn::IfThenElse(mid, hn::Set(d, ra[k]), hn::Set(d, rb[k])));
    V s = hn::IfThenElse(mid, hn::Set(d, sa[8]), hn::Set(d, sb[8]));
    for (int k = 7; k >= 0; --k) s = hn::MulAdd(s, t, hn::IfThenElse(mid, hn::Set(d, sa[k]), hn::Set(d, sb[k])));
    const hn::RebindToUnsigned<D> du;
    const V cut = hn::And(ax, hn::BitCast(d, hn::Set(du, 0xFFFFFFFF00000000ull)));  // 21 significant bits
    const V e1 = hn::Exp(d, hn::Sub(hn::Mul(hn::Mul(cut, cut), hn::Set(d, -0.5)), hn::Set(d, 0.5625)));
    const V e2 = hn::Exp(d, hn::MulAdd(hn::Mul(hn::Sub(cut, ax), hn::Add(cut, ax)), half, hn::Div(r, s)));
    const V tail = hn::Mul(hn::Mul(e1, e2), c_hi);  // x erfc(|z|) / 2 in magnitude
    const V far = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Neg(tail), hn::Sub(x, tail));
    result = hn::IfThenElse(near, result, far);
  }
  // gelu(-inf) = -inf * 0: NaN, as the scalar kernel and PyTorch give.
  const V inf = hn::Set(d, std::numeric_limits<double>::infinity());
  result = hn::IfThenElse(hn::Eq(x, hn::Neg(inf)), hn::Set(d, std::numeric_limits<double>::quiet_NaN()), result);
  return hn::IfThenElse(hn::Eq(x, inf), x, result);
}

template <class D, class V = Vec<D>>
HWY_INLINE V gelu_demoted(D d, V x) {
  if constexpr (sizeof(hn::TFromD<D>) == 8) {
    return gelu_f64(d, x);
  } else {
#if HWY_TARGET == HWY_SCALAR
    const hn::Rebind<double, D> dd;
    return hn::DemoteTo(d, gelu_f64(dd, hn::PromoteTo(dd, x)));
#else
    const hn::Half<D> dh;
    const hn::Rebind<double, decltype(dh)> dd;
    const auto lo = hn::DemoteTo(dh, gelu_f64(dd, hn::PromoteTo(dd, hn::LowerHalf(dh, x))));
    const auto hi = hn::DemoteTo(dh, gelu_f64(dd, hn::PromoteTo(dd, hn::UpperHalf(dh, x))));
    return hn::Combine(d, hi, lo);
#endif
  }
}

// gelu for any lane type: double directly, float through two double halves (|gelu(x)| <= |x|,
// so only +inf, which some targets' DemoteTo clamps, needs putting back).
template <class D, class V = Vec<D>>
HWY_INLINE V gelu(D d, V x) {
  const V r = gelu_demoted(d, x);
  return hn::IfThenElse(hn::Eq(x, hn::Set(d, std::numeric_limits<hn::TFromD<D>>::infinity())), x, r);
}

// expm1 with C's edges: inf past the overflow point, -1 at -inf (Highway's Expm1 already
// saturates there).
template <class D, class V = Vec<D>>
HWY_INLINE V expm1_full(D d, V x) {
  using T = hn::TFromD<D>;
  const V limit = hn::Set(d, sizeof(T) == 4 ? T(88.8) : T(709.8));
  return hn::IfThenElse(hn::Gt(x, limit), hn::Set(d, std::numeric_limits<T>::infinity()), hn::Expm1(d, x));
}

// log1p with C's edges: log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(inf) = inf.
template <class D, class V = Vec<D>>
HWY_INLINE V log1p_full(D d, V x) {
  using T = hn::TFromD<D>;
  const V inf = hn::Set(d, std::numeric_limits<T>::infinity());
  const V minus_one = hn::Set(d, T(-1));
  V r = hn::Log1p(d, hn::IfThenElse(hn::Eq(x, inf), hn::Zero(d), x));
  r = hn::IfThenElse(hn::Eq(x, minus_one), hn::Neg(inf), r);
  r = hn::IfThenElse(hn::Lt(x, minus_one), hn::Set(d, std::numeric_limits<T>::quiet_NaN()), r);
  return hn::IfThenElse(hn::Eq(x, inf), inf, r);
}

// silu = x sigmoid(x) = x / (1 + e) for x >= 0 and x e / (1 + e) below, e = e^-|x|. e is
// formed as h * h with h = e^(-|x|/2) and the product taken as (x h) h, so a subnormal e (x
// below -87 / -708) does not lose the digits that the factor x brings back into range.
template <class D, class V = Vec<D>>
HWY_INLINE V silu(D d, V x) {
  const V one = hn::Set(d, hn::TFromD<D>(1));
  const V h = hn::Exp(d, hn::Mul(hn::Abs(x), hn::Set(d, hn::TFromD<D>(-0.5))));
  const V den = hn::Add(one, hn::Mul(h, h));
  const V num = hn::IfThenElse(hn::Ge(x, hn::Zero(d)), x, hn::Mul(hn::Mul(x, h), h));
  return hn::Div(num, den);
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
  } else if constexpr (Op == kSquare) {
    return hn::Mul(x, x);
  } else if constexpr (Op == kReciprocal) {
    return hn::Div(hn::Set(d, hn::TFromD<D>(1)), x);
  } else if constexpr (Op == kRsqrt) {
    return hn::Div(hn::Set(d, hn::TFromD<D>(1)), hn::Sqrt(x));  // not ApproximateReciprocalSqrt: exact as scalar
  } else {
    V r;
    if constexpr (Op == kExp) r = exp_full(d, x);
    else if constexpr (Op == kLog) r = log_full(d, x);
    else if constexpr (Op == kTanh) r = hn::Tanh(d, x);
    else if constexpr (Op == kSigmoid) r = sigmoid(d, x);
    else if constexpr (Op == kSilu) r = silu(d, x);
    else if constexpr (Op == kGelu) r = gelu(d, x);
    else if constexpr (Op == kExpm1) r = expm1_full(d, x);
    else r = log1p_full(d, x);
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
    case kSigmoid: return unary_row<kSigmoid>(in, out, n);
    case kSquare: return unary_row<kSquare>(in, out, n);
    case kReciprocal: return unary_row<kReciprocal>(in, out, n);
    case kRsqrt: return unary_row<kRsqrt>(in, out, n);
    case kSilu: return unary_row<kSilu>(in, out, n);
    case kGelu: return unary_row<kGelu>(in, out, n);
    case kExpm1: return unary_row<kExpm1>(in, out, n);
    default: return unary_row<kLog1p>(in, out, n);
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
  register_each<UnarySimd<simd::kSquare>::K, float, double>("square", Backend::CpuSimd);
  register_each<UnarySimd<simd::kReciprocal>::K, float, double>("reciprocal", Backend::CpuSimd);
  register_each<UnarySimd<simd::kRsqrt>::K, float, double>("rsqrt", Backend::CpuSimd);
  register_each<UnarySimd<simd::kSilu>::K, float, double>("silu", Backend::CpuSimd);
  register_each<UnarySimd<simd::kGelu>::K, float, double>("gelu", Backend::CpuSimd);
  register_each<UnarySimd<simd::kExpm1>::K, float, double>("expm1", Backend::CpuSimd);
  register_each<UnarySimd<simd::kLog1p>::K, float, double>("log1p", Backend::CpuSimd);
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

#pragma once
// Per-element updates of the fused optimizer steps (SGD, Adam / AdamW, RMSprop, Adagrad), the
// CPU kernels' formulas (lamina/kernels/cpu/optim.cpp) operation by operation: the same
// compute type, the same order, the same intermediate roundings to the storage type. On the
// device every multiply and add is an explicitly rounded intrinsic, so nvcc cannot contract
// them into FMAs and the bits match the CPU's. Compiles with the host compiler too (tests).
#include <cmath>
#include <type_traits>

#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/optim.h"

namespace lamina::kernels::cuda::optim_math {

/// a * b rounded once (never fused with a following add).
template <class C>
LAMINA_HD inline C mul(C a, C b) {
#ifdef __CUDA_ARCH__
  if constexpr (std::is_same_v<C, float>)
    return __fmul_rn(a, b);
  else
    return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

/// a + b rounded once.
template <class C>
LAMINA_HD inline C add(C a, C b) {
#ifdef __CUDA_ARCH__
  if constexpr (std::is_same_v<C, float>)
    return __fadd_rn(a, b);
  else
    return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

/// a / b correctly rounded.
template <class C>
LAMINA_HD inline C div(C a, C b) {
#ifdef __CUDA_ARCH__
  if constexpr (std::is_same_v<C, float>)
    return __fdiv_rn(a, b);
  else
    return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}

/// sqrt(a) correctly rounded.
template <class C>
LAMINA_HD inline C sqrt_rn(C a) {
#ifdef __CUDA_ARCH__
  if constexpr (std::is_same_v<C, float>)
    return __fsqrt_rn(a);
  else
    return __dsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}

/// x rounded to the storage type T and widened back (the CPU kernels' C(T(x))).
template <class T>
LAMINA_HD inline compute_t<T> round_to(compute_t<T> x) {
  return to_compute(from_compute<T>(x));
}

/// The scalars of one step in the compute type C, converted from OptimArgs as the CPU kernels do.
template <class C>
struct Consts {
  C wd, mom, damp1, neg_lr;                           // SGD, RMSprop
  C b1, b2, om_b1, om_b2, eps, bc2, neg_step, decay;  // Adam (neg_step also Adagrad)
  C al, om_al;                                        // RMSprop
  bool nesterov, maximize, amsgrad, centered, init_buffer, decoupled;
};

/// The step's scalars for compute type C.
template <class C>
inline Consts<C> make_consts(const kernels::OptimArgs& a) {
  Consts<C> k{};
  k.wd = C(a.weight_decay);
  k.mom = C(a.momentum);
  k.damp1 = C(1.0 - a.dampening);
  k.neg_lr = C(-a.lr);
  k.b1 = C(a.beta1);
  k.b2 = C(a.beta2);
  k.om_b1 = C(1.0 - a.beta1);
  k.om_b2 = C(1.0 - a.beta2);
  k.eps = C(a.eps);
  k.bc2 = C(a.bc2_sqrt);
  k.neg_step = C(-a.step_size);
  k.decay = C(a.param_decay);
  k.al = C(a.alpha);
  k.om_al = C(1.0 - a.alpha);
  k.nesterov = a.nesterov;
  k.maximize = a.maximize;
  k.amsgrad = a.amsgrad;
  k.centered = a.centered;
  k.init_buffer = a.init_buffer;
  k.decoupled = a.param_decay != 1.0;
  return k;
}

/// The gradient term shared by all steps: maximize flips it, weight decay adds wd * p.
template <class C>
LAMINA_HD inline C decayed_grad(const Consts<C>& k, C g, C pv) {
  if (k.maximize) g = -g;
  if (k.wd != C(0)) g = add(g, mul(k.wd, pv));
  return g;
}

/// SGD with optional momentum buffer `buf` (null without momentum), dampening and Nesterov.
template <class T>
LAMINA_HD inline void sgd_update(const Consts<compute_t<T>>& k, T* p, const T* g, T* buf) {
  using C = compute_t<T>;
  const C pv = to_compute(*p);
  C d = decayed_grad(k, to_compute(*g), pv);
  if (buf) {
    C b;
    if (k.init_buffer) {
      b = d;
    } else {
      b = mul(to_compute(*buf), k.mom);
      b = add(b, mul(k.damp1, d));
    }
    *buf = from_compute<T>(b);
    d = k.nesterov ? add(d, mul(k.mom, to_compute(*buf))) : to_compute(*buf);
  }
  *p = from_compute<T>(add(pv, mul(k.neg_lr, d)));
}

/// Adam / AdamW (decoupled decay) with optional AMSGrad state `vmax`.
template <class T>
LAMINA_HD inline void adam_update(const Consts<compute_t<T>>& k, T* p, const T* g, T* m, T* v, T* vmax) {
  using C = compute_t<T>;
  C pv = to_compute(*p);
  if (k.decoupled) pv = round_to<T>(mul(pv, k.decay));
  const C gv = decayed_grad(k, to_compute(*g), pv);
  C mv = round_to<T>(mul(to_compute(*m), k.b1));
  mv = round_to<T>(add(mv, mul(k.om_b1, gv)));
  C vv = round_to<T>(mul(to_compute(*v), k.b2));
  vv = round_to<T>(add(vv, mul(mul(k.om_b2, gv), gv)));
  *m = from_compute<T>(mv);
  *v = from_compute<T>(vv);
  C den_src = vv;
  if (k.amsgrad) {
    const C mx = to_compute(*vmax);
    den_src = (mx != mx || mx > vv) ? mx : vv;  // torch.maximum propagates NaN
    if (vv != vv) den_src = vv;
    *vmax = from_compute<T>(den_src);
  }
  C denom = round_to<T>(sqrt_rn(den_src));
  denom = round_to<T>(div(denom, k.bc2));
  denom = round_to<T>(add(denom, k.eps));
  *p = from_compute<T>(add(pv, div(mul(k.neg_step, mv), denom)));
}

/// RMSprop with optional momentum buffer `buf` and centered average `gavg` (null when unused).
template <class T>
LAMINA_HD inline void rmsprop_update(const Consts<compute_t<T>>& k, T* p, const T* g, T* sq, T* buf, T* gavg) {
  using C = compute_t<T>;
  const C pv = to_compute(*p);
  const C gv = decayed_grad(k, to_compute(*g), pv);
  C s = round_to<T>(mul(to_compute(*sq), k.al));
  s = round_to<T>(add(s, mul(mul(k.om_al, gv), gv)));
  *sq = from_compute<T>(s);
  C avg;
  if (k.centered) {
    C ga = round_to<T>(mul(to_compute(*gavg), k.al));
    ga = round_to<T>(add(ga, mul(k.om_al, gv)));
    *gavg = from_compute<T>(ga);
    avg = round_to<T>(sqrt_rn(round_to<T>(add(s, mul(mul(C(-1), ga), ga)))));
  } else {
    avg = round_to<T>(sqrt_rn(s));
  }
  avg = round_to<T>(add(avg, k.eps));
  if (buf) {
    C b = round_to<T>(mul(to_compute(*buf), k.mom));
    b = round_to<T>(add(b, div(gv, avg)));
    *buf = from_compute<T>(b);
    *p = from_compute<T>(add(pv, mul(k.neg_lr, b)));
  } else {
    *p = from_compute<T>(add(pv, div(mul(k.neg_lr, gv), avg)));
  }
}

/// Adagrad: the squared-gradient sum and the step lr / (1 + (t - 1) lr_decay) in neg_step.
template <class T>
LAMINA_HD inline void adagrad_update(const Consts<compute_t<T>>& k, T* p, const T* g, T* sum) {
  using C = compute_t<T>;
  const C pv = to_compute(*p);
  const C gv = decayed_grad(k, to_compute(*g), pv);
  const C s = round_to<T>(add(to_compute(*sum), mul(gv, gv)));
  *sum = from_compute<T>(s);
  const C std_v = round_to<T>(add(round_to<T>(sqrt_rn(s)), k.eps));
  *p = from_compute<T>(add(pv, div(mul(k.neg_step, gv), std_v)));
}

}  // namespace lamina::kernels::cuda::optim_math

// Fused optimizer kernels. Each follows PyTorch 1.13's single-tensor update term by term, in
// the compute type (float for float16/bfloat16/float32, double for float64), so one step
// rounds like PyTorch's chain of in-place ops but reads and writes memory once.
#include "lamina/kernels/optim.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "lamina/core/dtype.h"
#include "lamina/core/half.h"
#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {
namespace {

template <class T>
using Compute = typename ComputeType<T>::type;

// Calls f(i, p, g, s2, s3, x0, x1) for every element, with typed pointers to the element in each
// operand (null for absent ones); extras share operand 0's layout.
template <class T, class F>
void walk(const StridedLoop& loop, const OptimArgs& a, F&& f) {
  const int n_ops = loop.num_operands;
  for_each_row<kernels::kMaxOperands>(loop, [&](char** ptrs, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      char* p0 = ptrs[0] + i * s[0];
      T* p = reinterpret_cast<T*>(p0);
      const T* g = reinterpret_cast<const T*>(ptrs[1] + i * s[1]);
      T* s2 = n_ops > 2 ? reinterpret_cast<T*>(ptrs[2] + i * s[2]) : nullptr;
      T* s3 = n_ops > 3 ? reinterpret_cast<T*>(ptrs[3] + i * s[3]) : nullptr;
      const int64_t off = p0 - a.base0;
      T* x0 = a.extra[0] ? reinterpret_cast<T*>(a.extra[0] + off) : nullptr;
      T* x1 = a.extra[1] ? reinterpret_cast<T*>(a.extra[1] + off) : nullptr;
      f(p, g, s2, s3, x0, x1);
    }
  });
}

// for_each_row reads kernels::kMaxOperands data pointers; unused ones are copies of operand 0.
StridedLoop padded(const StridedLoop& loop) {
  StridedLoop l = loop;
  for (int k = l.num_operands; k < kernels::kMaxOperands; ++k) {
    l.data[k] = l.data[0];
    for (int d = 0; d < l.ndim; ++d) l.strides[k][d] = l.strides[0][d];
  }
  return l;
}

template <class T>
struct SgdStep {
  static void run(const StridedLoop& loop, const OptimArgs& a) {
    using C = Compute<T>;
    const C wd = C(a.weight_decay), mom = C(a.momentum), damp1 = C(1.0 - a.dampening), neg_lr = C(-a.lr);
    walk<T>(padded(loop), a, [&](T* p, const T* g, T* buf, T*, T*, T*) {
      const C pv = C(*p);
      C d = C(*g);
      if (a.maximize) d = -d;
      if (wd != C(0)) d = d + wd * pv;
      if (loop.num_operands > 2) {
        C b;
        if (a.init_buffer) {
          b = d;
        } else {
          b = C(*buf) * mom;
          b = b + damp1 * d;
        }
        *buf = T(b);
        d = a.nesterov ? d + mom * C(*buf) : C(*buf);
      }
      *p = T(pv + neg_lr * d);
    });
  }
};

// Adam / AdamW over one contiguous row with the options fixed at compile time, so the compiler
// vectorizes it (sqrt and division included); the same operations in the same order as the
// general loop below, hence the same bits.
template <class T, bool kDecoupled, bool kWeightDecay>
void adam_row(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t n, T sign, T wd, T b1,
              T b2, T om_b1, T om_b2, T eps, T bc2, T neg_step, T decay) {
  for (int64_t i = 0; i < n; ++i) {
    T pv = p[i];
    if constexpr (kDecoupled) pv = pv * decay;
    T gv = g[i] * sign;
    if constexpr (kWeightDecay) gv = gv + wd * pv;
    const T mv = m[i] * b1 + om_b1 * gv;
    const T vv = v[i] * b2 + om_b2 * gv * gv;
    m[i] = mv;
    v[i] = vv;
    const T denom = std::sqrt(vv) / bc2 + eps;
    p[i] = pv + neg_step * mv / denom;
  }
}

template <class T>
struct AdamStep {
  static void run(const StridedLoop& loop, const OptimArgs& a) {
    using C = Compute<T>;
    const C wd = C(a.weight_decay), b1 = C(a.beta1), b2 = C(a.beta2), om_b1 = C(1.0 - a.beta1),
            om_b2 = C(1.0 - a.beta2), eps = C(a.eps), bc2 = C(a.bc2_sqrt), neg_step = C(-a.step_size),
            decay = C(a.param_decay);
    if constexpr (std::is_same_v<T, C>) {
      // float32 / float64 without amsgrad, every operand contiguous: the vectorized row.
      constexpr int64_t sz = sizeof(T);
      bool contiguous = !a.amsgrad && loop.num_operands == 4;
      for (int d = 0; contiguous && d < loop.ndim; ++d)
        contiguous = loop.ndim == 1 && loop.strides[0][d] == sz && loop.strides[1][d] == sz &&
                     loop.strides[2][d] == sz && loop.strides[3][d] == sz;
      if (contiguous) {
        const int64_t n = loop.ndim == 0 ? 1 : loop.shape[0];
        T* p = reinterpret_cast<T*>(loop.data[0]);
        const T* g = reinterpret_cast<const T*>(loop.data[1]);
        T* m = reinterpret_cast<T*>(loop.data[2]);
        T* v = reinterpret_cast<T*>(loop.data[3]);
        const T sign = a.maximize ? T(-1) : T(1);
        const bool decoupled = a.param_decay != 1.0, weight_decay = wd != C(0);
        auto row = decoupled ? (weight_decay ? &adam_row<T, true, true> : &adam_row<T, true, false>)
                             : (weight_decay ? &adam_row<T, false, true> : &adam_row<T, false, false>);
        row(p, g, m, v, n, sign, wd, b1, b2, om_b1, om_b2, eps, bc2, neg_step, decay);
        return;
      }
    }
    walk<T>(padded(loop), a, [&](T* p, const T* g, T* m, T* v, T* vmax, T*) {
      C pv = C(*p);
      if (a.param_decay != 1.0) pv = C(T(pv * decay));
      C gv = C(*g);
      if (a.maximize) gv = -gv;
      if (wd != C(0)) gv = gv + wd * pv;
      C mv = C(T(C(*m) * b1));
      mv = C(T(mv + om_b1 * gv));
      C vv = C(T(C(*v) * b2));
      vv = C(T(vv + om_b2 * gv * gv));
      *m = T(mv);
      *v = T(vv);
      C den_src = vv;
      if (a.amsgrad) {
        const C mx = C(*vmax);
        den_src = std::isnan(mx) || mx > vv ? mx : vv;  // torch.maximum propagates NaN
        if (std::isnan(vv)) den_src = vv;
        *vmax = T(den_src);
      }
      C denom = C(T(std::sqrt(den_src)));
      denom = C(T(denom / bc2));
      denom = C(T(denom + eps));
      *p = T(pv + neg_step * mv / denom);
    });
  }
};

template <class T>
struct RmspropStep {
  static void run(const StridedLoop& loop, const OptimArgs& a) {
    using C = Compute<T>;
    const C wd = C(a.weight_decay), al = C(a.alpha), om_al = C(1.0 - a.alpha), eps = C(a.eps), mom = C(a.momentum),
            neg_lr = C(-a.lr);
    walk<T>(padded(loop), a, [&](T* p, const T* g, T* sq, T*, T* buf, T* gavg) {
      const C pv = C(*p);
      C gv = C(*g);
      if (a.maximize) gv = -gv;
      if (wd != C(0)) gv = gv + wd * pv;
      C s = C(T(C(*sq) * al));
      s = C(T(s + om_al * gv * gv));
      *sq = T(s);
      C avg;
      if (a.centered) {
        C ga = C(T(C(*gavg) * al));
        ga = C(T(ga + om_al * gv));
        *gavg = T(ga);
        avg = C(T(std::sqrt(C(T(s + C(-1) * ga * ga)))));
      } else {
        avg = C(T(std::sqrt(s)));
      }
      avg = C(T(avg + eps));
      if (buf) {
        C b = C(T(C(*buf) * mom));
        b = C(T(b + gv / avg));
        *buf = T(b);
        *p = T(pv + neg_lr * b);
      } else {
        *p = T(pv + neg_lr * gv / avg);
      }
    });
  }
};

template <class T>
struct AdagradStep {
  static void run(const StridedLoop& loop, const OptimArgs& a) {
    using C = Compute<T>;
    const C wd = C(a.weight_decay), eps = C(a.eps), neg_clr = C(-a.step_size);
    walk<T>(padded(loop), a, [&](T* p, const T* g, T* sum, T*, T*, T*) {
      const C pv = C(*p);
      C gv = C(*g);
      if (a.maximize) gv = -gv;
      if (wd != C(0)) gv = gv + wd * pv;
      const C s = C(T(C(*sum) + gv * gv));
      *sum = T(s);
      const C std_v = C(T(C(T(std::sqrt(s))) + eps));
      *p = T(pv + neg_clr * gv / std_v);
    });
  }
};

}  // namespace

void register_optim_kernels() {
  register_each<SgdStep, float, double, Half, BFloat16>(Op::sgd_step);
  register_each<AdamStep, float, double, Half, BFloat16>(Op::adam_step);
  register_each<RmspropStep, float, double, Half, BFloat16>(Op::rmsprop_step);
  register_each<AdagradStep, float, double, Half, BFloat16>(Op::adagrad_step);
}

}  // namespace lamina::kernels::cpu

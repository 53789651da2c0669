// Reduction kernels. Every output walks its reduced elements in one fixed order, so the
// result does not depend on how the runtime later splits outputs across threads. Floats
// accumulate in double, integers in int64.
#include <cmath>
#include <limits>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {
namespace {

template <class T>
using acc_t = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double, int64_t>;

template <class T>
void store(char* out, double v) {
  *reinterpret_cast<T*>(out) = T(static_cast<compute_t<T>>(v));
}

// params.i selects: 0 sum, 1 mean, 2 prod.
template <class T>
struct SumKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    using A = acc_t<T>;
    const int64_t count = loop.reduce_numel;
    for_each_output(loop, [&](char* out, char*, const char* in) {
      A acc = params.i == 2 ? A(1) : A(0);
      if (params.i == 2) for_each_reduced<T>(loop, in, [&](T v) { acc *= static_cast<A>(static_cast<compute_t<T>>(v)); });
      else for_each_reduced<T>(loop, in, [&](T v) { acc += static_cast<A>(static_cast<compute_t<T>>(v)); });
      if constexpr (std::is_floating_point_v<A>) {
        store<T>(out, params.i == 1 ? (count ? acc / static_cast<double>(count) : std::nan("")) : acc);
      } else {
        *reinterpret_cast<T*>(out) = static_cast<T>(acc);
      }
    });
  }
};

template <class C>
bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>) return std::isnan(v);
  else return false;
}

// Max (params.i == 0) or min (1), writing values and, when out2 is set, int64 indices of the
// first extreme element (a NaN counts as the extreme, like PyTorch).
template <class T>
struct ExtremeKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    using C = compute_t<T>;
    const bool want_max = params.i == 0;
    for_each_output(loop, [&](char* out, char* out2, const char* in) {
      C best{};
      int64_t best_index = 0, i = 0;
      bool have = false, nan = false;
      for_each_reduced<T>(loop, in, [&](T raw) {
        C v = static_cast<C>(raw);
        if (!nan) {
          if (is_nan(v)) {
            best = v;
            best_index = i;
            nan = true;
          } else if (!have || (want_max ? v > best : v < best)) {
            best = v;
            best_index = i;
          }
        }
        have = true;
        ++i;
      });
      *reinterpret_cast<T*>(out) = T(best);
      if (out2) *reinterpret_cast<int64_t*>(out2) = best_index;
    });
  }
};

// Variance with correction params.a; params.i == 1 takes the square root (std).
template <class T>
struct VarKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    const double n = static_cast<double>(loop.reduce_numel);
    for_each_output(loop, [&](char* out, char*, const char* in) {
      double mean = 0.0;
      for_each_reduced<T>(loop, in, [&](T v) { mean += static_cast<double>(static_cast<compute_t<T>>(v)); });
      mean /= n;
      double ss = 0.0;
      for_each_reduced<T>(loop, in, [&](T v) {
        double d = static_cast<double>(static_cast<compute_t<T>>(v)) - mean;
        ss += d * d;
      });
      double denom = n - params.a;
      const double var = denom > 0 ? ss / denom : std::numeric_limits<double>::quiet_NaN();
      store<T>(out, params.i == 1 ? std::sqrt(var) : var);
    });
  }
};

template <class T>
struct LogSumExpKernel {
  static void run(const ReduceLoop& loop, const KernelParams&) {
    for_each_output(loop, [&](char* out, char*, const char* in) {
      double m = -std::numeric_limits<double>::infinity();
      for_each_reduced<T>(loop, in, [&](T v) {
        double d = static_cast<double>(static_cast<compute_t<T>>(v));
        if (d > m || std::isnan(d)) m = std::isnan(m) ? m : d;
      });
      if (!std::isfinite(m)) {  // all -inf, any +inf, or NaN: the max already is the answer
        store<T>(out, m);
        return;
      }
      double s = 0.0;
      for_each_reduced<T>(loop, in, [&](T v) { s += std::exp(static_cast<double>(static_cast<compute_t<T>>(v)) - m); });
      store<T>(out, m + std::log(s));
    });
  }
};

// Vector p-norm with p = params.a (inf, -inf, 0 and general p).
template <class T>
struct NormKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    const double p = params.a;
    for_each_output(loop, [&](char* out, char*, const char* in) {
      double acc = std::isinf(p) ? (p > 0 ? 0.0 : std::numeric_limits<double>::infinity()) : 0.0;
      bool nan = false;
      for_each_reduced<T>(loop, in, [&](T v) {
        double a = std::fabs(static_cast<double>(static_cast<compute_t<T>>(v)));
        if (std::isnan(a)) nan = true;
        if (std::isinf(p)) acc = p > 0 ? std::max(acc, a) : std::min(acc, a);
        else if (p == 0) acc += a != 0.0;
        else if (p == 1) acc += a;
        else if (p == 2) acc += a * a;
        else acc += std::pow(a, p);
      });
      if (!std::isinf(p) && p != 0 && p != 1) acc = p == 2 ? std::sqrt(acc) : std::pow(acc, 1.0 / p);
      if (loop.reduce_numel == 0 && std::isinf(p) && p < 0) acc = std::numeric_limits<double>::infinity();
      store<T>(out, nan ? std::nan("") : acc);
    });
  }
};

// all (params.i == 0) / any (1) on bool input.
template <class T>
struct AllAnyKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    const bool any = params.i == 1;
    for_each_output(loop, [&](char* out, char*, const char* in) {
      bool acc = !any;
      for_each_reduced<bool>(loop, in, [&](bool v) { acc = any ? (acc || v) : (acc && v); });
      *reinterpret_cast<bool*>(out) = acc;
    });
  }
};

// Inclusive scan along rows: params.i == 0 sum, 1 product.
template <class T>
struct CumulativeKernel {
  static void run(const RowLoop& loop, const KernelParams& params) {
    using A = acc_t<T>;
    const T* in = reinterpret_cast<const T*>(loop.in);
    T* out = reinterpret_cast<T*>(loop.out);
    for (int64_t r = 0; r < loop.rows; ++r) {
      A acc = params.i == 1 ? A(1) : A(0);
      for (int64_t i = 0; i < loop.n; ++i) {
        A v = static_cast<A>(static_cast<compute_t<T>>(in[r * loop.n + i]));
        acc = params.i == 1 ? acc * v : acc + v;
        if constexpr (std::is_floating_point_v<A>) out[r * loop.n + i] = T(static_cast<compute_t<T>>(acc));
        else out[r * loop.n + i] = static_cast<T>(acc);
      }
    }
  }
};

}  // namespace

void register_reduce_kernels() {
  register_each<SumKernel, LAMINA_NUMERIC_TYPES>("sum");
  register_each<ExtremeKernel, LAMINA_ALL_TYPES>("extreme");
  register_each<VarKernel, LAMINA_FLOAT_TYPES>("var");
  register_each<LogSumExpKernel, LAMINA_FLOAT_TYPES>("logsumexp");
  register_each<NormKernel, LAMINA_FLOAT_TYPES>("norm");
  register_each<AllAnyKernel, bool>("all_any");
  register_each<CumulativeKernel, LAMINA_NUMERIC_TYPES>("cumulative");
}

}  // namespace lamina::kernels::cpu

// Accuracy of the cpu_simd transcendental kernels against long double references: random
// inputs spread over each function's whole range (log-uniform magnitudes, both signs), dense
// sweeps near the overflow/underflow edges, and the specials (inf, NaN, signed zeros,
// subnormals). Every SIMD target this build has and this CPU runs is checked in turn; the
// bound asserted is the worst distance measured over all of them, in ulp of the result type.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lamina/lamina.h"

namespace lamina::runtime {
std::vector<std::string> simd_targets();
void set_simd_target(const std::string& name);
}  // namespace lamina::runtime

using namespace lamina;

namespace {

using LD = long double;

struct TargetGuard {
  ~TargetGuard() {
    runtime::set_backend("cpu_simd");
    runtime::set_simd_target("");
  }
};

// Ulp distance between a computed value and the reference rounded to T (0 for NaN/NaN, equal
// infinities and +0/-0; "huge" for a NaN or inf where the other is finite).
template <class T>
int64_t ulps(T got, T want) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want) ? 0 : INT64_MAX;
  if (got == want) return 0;
  if (std::isinf(got) || std::isinf(want)) return INT64_MAX;
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  auto ordered = [](T v) {
    I i;
    std::memcpy(&i, &v, sizeof v);
    return i < 0 ? static_cast<int64_t>(std::numeric_limits<I>::min()) - static_cast<int64_t>(i)
                 : static_cast<int64_t>(i);
  };
  const int64_t d = ordered(got) - ordered(want);
  return d < 0 ? -d : d;
}

struct MathCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<LD(LD)> ref;
  double lo, hi;        // float32 sampling range of x (log-uniform magnitudes inside it)
  double lo64, hi64;    // float64 sampling range
  int64_t bound;        // ulp bound asserted (float32 and float64)
};

LD sigmoid_ref(LD x) { return x >= 0 ? 1.0L / (1.0L + std::exp(-x)) : std::exp(x) / (1.0L + std::exp(x)); }
LD gelu_ref(LD x) {
  if (std::isinf(x)) return x > 0 ? x : std::numeric_limits<LD>::quiet_NaN();  // as the kernels
  return 0.5L * x * std::erfc(-x / std::sqrt(2.0L));
}

const std::vector<MathCase>& cases() {
  static const std::vector<MathCase> c = {
      {"exp", [](const Tensor& x) { return exp(x); }, [](LD x) { return std::exp(x); }, -110, 90, -760, 712, 2},
      {"log", [](const Tensor& x) { return log(x); }, [](LD x) { return std::log(x); }, 0, 3.4e38, 0, 1.7e308, 2},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](LD x) { return std::tanh(x); }, -30, 30, -30, 30, 4},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref, -110, 110, -760, 760, 4},
      {"silu", [](const Tensor& x) { return silu(x); }, [](LD x) { return x * sigmoid_ref(x); }, -110, 110, -760, 760, 4},
      {"gelu", [](const Tensor& x) { return gelu(x); }, gelu_ref, -20, 20, -42, 42, 4},
      {"expm1", [](const Tensor& x) { return expm1(x); }, [](LD x) { return std::expm1(x); }, -110, 90, -760, 712, 4},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](LD x) { return std::log1p(x); }, -1, 3.4e38, -1, 1.7e308,
       4},
  };
  return c;
}

template <class T>
std::vector<T> inputs(double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> v;
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const T den = std::numeric_limits<T>::denorm_min(), tiny = std::numeric_limits<T>::min();
  for (T s : {nan, -nan, inf, -inf, T(0), -T(0), den, -den, tiny, -tiny, T(1), T(-1), T(0.5), T(-0.5), T(1e-30),
              T(-1e-30), std::numeric_limits<T>::max(), std::numeric_limits<T>::lowest()})
    v.push_back(s);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double max_mag = std::max(std::fabs(lo), std::fabs(hi));
  const double min_exp = std::log2(static_cast<double>(std::numeric_limits<T>::denorm_min()));
  // log-uniform magnitudes from the smallest subnormal up to the range limit, either sign
  for (int i = 0; i < 200000; ++i) {
    const double e = min_exp + u(rng) * (std::log2(max_mag) - min_exp);
    const double m = std::exp2(e);
    const double x = (u(rng) < 0.5 ? -1 : 1) * m;
    v.push_back(static_cast<T>(x));
  }
  // uniform over the range (the interesting middle and the edges)
  for (int i = 0; i < 200000; ++i) v.push_back(static_cast<T>(lo + u(rng) * (hi - lo)));
  // dense sweeps near both ends
  for (double end : {lo, hi}) {
    T x = static_cast<T>(end);
    for (int i = 0; i < 2000; ++i) {
      v.push_back(x);
      x = std::nextafter(x, end == lo ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity());
    }
  }
  return v;
}

template <class T>
void check_case(const MathCase& c, Dtype dt) {
  const bool f32 = std::is_same_v<T, float>;
  const std::vector<T> in = inputs<T>(f32 ? c.lo : c.lo64, f32 ? c.hi : c.hi64, 42);
  const int64_t n = static_cast<int64_t>(in.size());
  Tensor x = Tensor::empty({n}, dt);
  std::memcpy(x.data_ptr(), in.data(), in.size() * sizeof(T));
  int64_t worst = 0;
  T worst_x = 0;
  for (const std::string& target : runtime::simd_targets()) {
    runtime::set_simd_target(target);
    runtime::set_backend("cpu_simd");
    const Tensor y = c.op(x).contiguous();
    for (int64_t i = 0; i < n; ++i) {
      const T want = static_cast<T>(c.ref(static_cast<LD>(in[i])));
      const int64_t d = ulps(y.template data<T>()[i], want);
      if (d > worst) {
        worst = d;
        worst_x = in[i];
      }
      if (d > c.bound) {
        ADD_FAILURE() << c.name << " " << dtype_name(dt) << " target " << target << " x=" << in[i]
                      << " (hex " << std::hexfloat << in[i] << std::defaultfloat << "): got "
                      << y.template data<T>()[i] << ", want " << want << ", " << d << " ulp";
        return;
      }
    }
  }
  std::printf("[ ulp      ] %-8s %-8s max %lld ulp (at x = %.9g)\n", c.name, std::string(dtype_name(dt)).c_str(),
              static_cast<long long>(worst), static_cast<double>(worst_x));
}

}  // namespace

TEST(SimdMath, UlpBoundsFloat32) {
  TargetGuard guard;
  for (const MathCase& c : cases()) check_case<float>(c, Dtype::Float32);
}

TEST(SimdMath, UlpBoundsFloat64) {
  TargetGuard guard;
  for (const MathCase& c : cases()) check_case<double>(c, Dtype::Float64);
}

// The exact ones: identical to the scalar kernels bit for bit, tails and specials included.
TEST(SimdMath, ExactOpsMatchScalar) {
  TargetGuard guard;
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops = {
      {"square", [](const Tensor& x) { return square(x); }},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }},
      {"neg", [](const Tensor& x) { return neg(x); }},
      {"abs", [](const Tensor& x) { return abs(x); }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }}};
  for (Dtype dt : {Dtype::Float32, Dtype::Float64}) {
    for (int64_t n : {0, 1, 7, 8, 9, 15, 16, 17, 255, 256, 257, 1000003}) {
      manual_seed(static_cast<uint64_t>(n) + 3);
      Tensor x = mul(randn({n}, {dt}), Scalar(1e3));
      if (n > 20) {
        double sp[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-310, -1e-310, 1e-40};
        for (int k = 0; k < 8; ++k) {
          if (dt == Dtype::Float32) x.data<float>()[k] = static_cast<float>(sp[k]);
          else x.data<double>()[k] = sp[k];
        }
      }
      for (auto& [name, op] : ops) {
        runtime::set_backend("cpu_scalar");
        const Tensor s = op(x).contiguous();
        for (const std::string& target : runtime::simd_targets()) {
          runtime::set_simd_target(target);
          runtime::set_backend("cpu_simd");
          const Tensor v = op(x).contiguous();
          ASSERT_EQ(v.numel(), n);
          for (int64_t i = 0; i < n; ++i) {
            const double a = dt == Dtype::Float32 ? s.data<float>()[i] : s.data<double>()[i];
            const double b = dt == Dtype::Float32 ? v.data<float>()[i] : v.data<double>()[i];
            if (std::isnan(a) && std::isnan(b)) continue;
            ASSERT_TRUE(a == b && std::signbit(a) == std::signbit(b))
                << name << " " << dtype_name(dt) << " n=" << n << " i=" << i << " target " << target << ": " << a
                << " vs " << b;
          }
        }
      }
    }
  }
}

// Every new op on tails and strided views: the strided path gathers into a chunk and runs the
// same vector code, so a transposed or stepped input gives the contiguous result bit for bit.
TEST(SimdMath, TailsAndLayouts) {
  TargetGuard guard;
  runtime::set_backend("cpu_simd");
  for (const MathCase& c : cases()) {
    for (Dtype dt : {Dtype::Float32, Dtype::Float64}) {
      for (int64_t n : {0, 1, 7, 8, 9, 15, 16, 17, 255, 256, 257}) {
        manual_seed(static_cast<uint64_t>(n) + 17);
        Tensor x = mul(randn({n, 3}, {dt}), Scalar(4.0));
        if (std::string(c.name) == "log") x = abs(x);
        const Tensor contiguous = c.op(x.t().contiguous()).contiguous();
        const Tensor strided = c.op(x.t()).contiguous();  // rows of stride 3
        ASSERT_EQ(std::memcmp(contiguous.data_ptr(), strided.data_ptr(), static_cast<size_t>(x.numel() * x.element_size())),
                  0)
            << c.name << " " << dtype_name(dt) << " n=" << n;
        const Tensor xt = x.t().contiguous();
        for (int64_t i = 0; i < x.numel(); ++i) {
          if (dt == Dtype::Float32) {
            const float v = xt.data<float>()[i];
            EXPECT_LE(ulps(contiguous.data<float>()[i], static_cast<float>(c.ref(v))), c.bound) << c.name << " x=" << v;
          } else {
            const double v = xt.data<double>()[i];
            EXPECT_LE(ulps(contiguous.data<double>()[i], static_cast<double>(c.ref(v))), c.bound) << c.name << " x=" << v;
          }
        }
      }
    }
  }
}

// float16 / bfloat16 have no cpu_simd kernels: the dispatcher falls back to cpu_scalar.
TEST(SimdMath, HalfTypesFallBack) {
  TargetGuard guard;
  manual_seed(2);
  const Tensor x = randn({100}).to(Dtype::Float16);
  runtime::set_backend("cpu_scalar");
  const Tensor s = gelu(x).to(Dtype::Float32);
  runtime::set_backend("cpu_simd");
  const Tensor v = gelu(x).to(Dtype::Float32);
  EXPECT_EQ(std::memcmp(s.data_ptr(), v.data_ptr(), 400), 0);
}

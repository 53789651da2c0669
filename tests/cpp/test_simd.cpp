// The Highway (cpu_simd) kernels agree with the portable (cpu_scalar) ones, on every SIMD
// target this build has and this CPU runs (AVX-512, AVX2, SSE4, ... each forced in turn).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "lamina/lamina.h"
#include "lamina/runtime/blas.h"

// Debug controls defined in kernels/cpu/simd.cpp (next to simd_target_name).
namespace lamina::runtime {
std::vector<std::string> simd_targets();
void set_simd_target(const std::string& name);
}  // namespace lamina::runtime

using namespace lamina;

namespace {

using UnaryFn = Tensor (*)(const Tensor&);
using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

// Restores the default backend and SIMD target however a test ends.
struct BackendGuard {
  ~BackendGuard() {
    runtime::set_backend("cpu_simd");
    runtime::set_simd_target("");
  }
};

// Runs `body` once per SIMD target, with that target forced.
void for_each_target(const std::function<void()>& body) {
  BackendGuard guard;
  for (const std::string& target : runtime::simd_targets()) {
    SCOPED_TRACE("SIMD target " + target);
    runtime::set_simd_target(target);
    body();
  }
}

// f() under cpu_scalar and under cpu_simd.
std::pair<Tensor, Tensor> both_backends(const std::function<Tensor()>& f) {
  runtime::set_backend("cpu_scalar");
  Tensor scalar = f().contiguous();
  runtime::set_backend("cpu_simd");
  Tensor simd = f().contiguous();
  return {scalar, simd};
}

// Distance in units in the last place (0 for equal values, NaN/NaN and +0/-0).
template <class T>
int64_t ulp_distance(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  if (a == b) return 0;
  if (std::isinf(a) || std::isinf(b)) return INT64_MAX;
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  auto ordered = [](T v) {
    I i;
    std::memcpy(&i, &v, sizeof v);
    return i < 0 ? static_cast<int64_t>(std::numeric_limits<I>::min()) - static_cast<int64_t>(i) : static_cast<int64_t>(i);
  };
  const int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

// Largest ulp distance between two tensors of the same shape and dtype (float32 or float64).
int64_t max_ulps(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  EXPECT_EQ(a.dtype(), b.dtype());
  int64_t worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const int64_t d = a.dtype() == Dtype::Float32 ? ulp_distance(a.data<float>()[i], b.data<float>()[i])
                                                   : ulp_distance(a.data<double>()[i], b.data<double>()[i]);
    if (d > worst) worst = d;
  }
  return worst;
}

// Bitwise equal, except that any NaN matches any NaN.
void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  const int64_t size = a.element_size();
  if (std::memcmp(a.data_ptr(), b.data_ptr(), static_cast<size_t>(a.numel() * size)) == 0) return;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.dtype() == Dtype::Float32 ? a.data<float>()[i] : a.data<double>()[i];
    const double y = b.dtype() == Dtype::Float32 ? b.data<float>()[i] : b.data<double>()[i];
    if (std::isnan(x) && std::isnan(y)) continue;
    if (std::memcmp(a.data<char>() + i * size, b.data<char>() + i * size, size) != 0) {
      ADD_FAILURE() << what << " element " << i << ": " << x << " vs " << y << " (signbits " << std::signbit(x)
                    << ", " << std::signbit(y) << ")";
      return;
    }
  }
}

// Equal values (+0 == -0), NaN matching NaN.
void expect_same_values(const Tensor& a, const Tensor& b, const std::string& what) {
  EXPECT_EQ(max_ulps(a, b), 0) << what;
}

// The specials every kernel must get right, mixed into random data.
template <class T>
std::vector<T> specials() {
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const T den = std::numeric_limits<T>::denorm_min(), tiny = std::numeric_limits<T>::min();
  const T big = std::numeric_limits<T>::max();
  return {nan, -nan, inf, -inf, T(0), -T(0), den, -den, tiny, -tiny, big, -big, T(1), T(-1), T(0.5), T(1e-30)};
}

Tensor random_with_specials(int64_t n, Dtype dt, double scale) {
  Tensor x = mul(randn({n}, {dt}), Scalar(scale));
  auto put = [&](auto tag) {
    using T = decltype(tag);
    const std::vector<T> s = specials<T>();
    for (int64_t i = 0; i < n; i += 5) x.data<T>()[i] = s[(i / 5) % s.size()];
  };
  if (dt == Dtype::Float32) put(float{});
  else put(double{});
  return x;
}

// lo + step * (i % 977): varied values, filled far faster than rand() for millions of elements.
Tensor sawtooth(int64_t n, Dtype dt, double lo, double step) {
  Tensor t = Tensor::empty({n}, dt);
  for (int64_t i = 0; i < n; ++i) {
    const double v = lo + step * static_cast<double>(i % 977);
    if (dt == Dtype::Float32) t.data<float>()[i] = static_cast<float>(v);
    else t.data<double>()[i] = v;
  }
  return t;
}

const std::vector<std::pair<const char*, BinaryFn>>& binary_ops() {
  static const std::vector<std::pair<const char*, BinaryFn>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }}};
  return ops;
}

struct UnaryCase {
  const char* name;
  UnaryFn fn;
  int64_t ulps;  // allowed distance from the scalar (libm) result; 0 means exact
};

const std::vector<UnaryCase>& unary_ops() {
  static const std::vector<UnaryCase> ops = {
      {"neg", [](const Tensor& x) { return neg(x); }, 0},   {"abs", [](const Tensor& x) { return abs(x); }, 0},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, 0}, {"relu", [](const Tensor& x) { return relu(x); }, 0},
      {"exp", [](const Tensor& x) { return exp(x); }, 2},   {"log", [](const Tensor& x) { return log(x); }, 2},
      {"tanh", [](const Tensor& x) { return tanh(x); }, 4}, {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, 3}};
  return ops;
}

const int64_t kLengths[] = {1, 7, 33, 1003};
const Dtype kDtypes[] = {Dtype::Float32, Dtype::Float64};

}  // namespace

TEST(Simd, ReportsTargets) {
  BackendGuard guard;
  const std::vector<std::string> targets = runtime::simd_targets();
  ASSERT_FALSE(targets.empty());
  EXPECT_EQ(runtime::simd_target_name(), targets.front());  // the best one by default
  for (const std::string& t : targets) {
    runtime::set_simd_target(t);
    EXPECT_EQ(runtime::simd_target_name(), t);
  }
  runtime::set_simd_target("");
  EXPECT_EQ(runtime::simd_target_name(), targets.front());
  EXPECT_THROW(runtime::set_simd_target("AVX9000"), ConfigError);
  EXPECT_EQ(runtime::simd_target_name(), targets.front());  // a rejected name changes nothing
}

TEST(Simd, BinaryMatchesScalarExactly) {
  for_each_target([] {
    for (int64_t n : kLengths) {
      for (Dtype dt : kDtypes) {
        manual_seed(static_cast<uint64_t>(n));
        Tensor a = random_with_specials(n, dt, 3.0), b = add(rand({n}, {dt}), Scalar(0.5));
        for (auto& [name, op] : binary_ops()) {
          const std::string what = std::string(name) + " n=" + std::to_string(n) + " " + std::string(dtype_name(dt));
          auto [s, v] = both_backends([&] { return op(a, b); });
          expect_identical(s, v, what);
          auto [s2, v2] = both_backends([&] { return op(b, a); });
          expect_identical(s2, v2, what + " swapped");
        }
      }
    }
  });
}

TEST(Simd, ScalarOperandBothSides) {
  for_each_target([] {
    for (int64_t n : kLengths) {
      for (Dtype dt : kDtypes) {
        manual_seed(static_cast<uint64_t>(n) + 1);
        Tensor a = random_with_specials(n, dt, 2.0);
        for (double c : {1.25, -0.0, std::numeric_limits<double>::quiet_NaN()}) {
          const Tensor sc = scalar_tensor(Scalar(c), dt);
          for (auto& [name, op] : binary_ops()) {
            const std::string what = std::string(name) + " c=" + std::to_string(c) + " n=" + std::to_string(n);
            auto [s, v] = both_backends([&] { return op(a, sc); });  // tensor op scalar: stride 0 second
            expect_identical(s, v, what);
            auto [s2, v2] = both_backends([&] { return op(sc, a); });  // scalar op tensor: stride 0 first
            expect_identical(s2, v2, what + " (scalar first)");
          }
        }
        auto [s3, v3] = both_backends([&] { return Scalar(2.0) / a; });
        expect_identical(s3, v3, "rdiv");
      }
    }
  });
}

TEST(Simd, StridedAndBroadcastRows) {
  for_each_target([] {
    for (Dtype dt : kDtypes) {
      manual_seed(7);
      Tensor m = randn({33, 17}, {dt});
      Tensor t = m.t();                          // non-contiguous rows
      Tensor stepped = randn({1003 * 3}, {dt}).slice(0, 0, 1003 * 3, 3);
      Tensor col = randn({17, 1}, {dt}), row = randn({1, 33}, {dt});
      Tensor wide = randn({300, 260}, {dt});      // rows longer than one gathered chunk
      for (auto& [name, op] : binary_ops()) {
        const std::string what(name);
        auto [s, v] = both_backends([&] { return op(t, t); });
        expect_identical(s, v, what + " transposed");
        auto [s2, v2] = both_backends([&] { return op(t, m.t().contiguous()); });
        expect_identical(s2, v2, what + " mixed layouts");
        auto [s3, v3] = both_backends([&] { return op(col, row); });
        expect_identical(s3, v3, what + " outer broadcast");
        auto [s4, v4] = both_backends([&] { return op(stepped, stepped); });
        expect_identical(s4, v4, what + " step 3");
        auto [s5, v5] = both_backends([&] { return op(wide.t(), wide.t()); });
        expect_identical(s5, v5, what + " long strided rows");
      }
      for (const UnaryCase& c : unary_ops()) {
        auto [s, v] = both_backends([&] { return c.fn(t); });
        EXPECT_LE(max_ulps(s, v), c.ulps) << c.name << " transposed";
        auto [s2, v2] = both_backends([&] { return c.fn(stepped); });
        EXPECT_LE(max_ulps(s2, v2), c.ulps) << c.name << " step 3";
      }
    }
  });
}

TEST(Simd, MaximumMinimumNanAndSignedZero) {
  for_each_target([] {
    const float nan = NAN, inf = INFINITY;
    Tensor a = tensor<float>({nan, 1.0f, nan, inf, -inf, 0.0f, -0.0f, 2.0f, -inf, 3.0f, nan});
    Tensor b = tensor<float>({1.0f, nan, nan, -inf, inf, -0.0f, 0.0f, 2.0f, -inf, inf, -inf});
    runtime::set_backend("cpu_simd");
    Tensor mx = maximum(a, b), mn = minimum(a, b);
    const float want_max[] = {nan, nan, nan, inf, inf, -0.0f, 0.0f, 2.0f, -inf, inf, nan};
    const float want_min[] = {nan, nan, nan, -inf, -inf, -0.0f, 0.0f, 2.0f, -inf, 3.0f, nan};
    for (int i = 0; i < 11; ++i) {
      // NaN propagates from either side (PyTorch); equal operands give the second one.
      EXPECT_EQ(std::isnan(mx.data<float>()[i]), std::isnan(want_max[i])) << i;
      EXPECT_EQ(std::isnan(mn.data<float>()[i]), std::isnan(want_min[i])) << i;
      if (!std::isnan(want_max[i])) {
        EXPECT_EQ(mx.data<float>()[i], want_max[i]) << i;
        EXPECT_EQ(std::signbit(mx.data<float>()[i]), std::signbit(want_max[i])) << i;
      }
      if (!std::isnan(want_min[i])) {
        EXPECT_EQ(mn.data<float>()[i], want_min[i]) << i;
        EXPECT_EQ(std::signbit(mn.data<float>()[i]), std::signbit(want_min[i])) << i;
      }
    }
    auto [s, v] = both_backends([&] { return maximum(a.to(Dtype::Float64), b.to(Dtype::Float64)); });
    expect_identical(s, v, "maximum float64");
  });
}

TEST(Simd, UnaryMatchesScalar) {
  for_each_target([] {
    for (int64_t n : kLengths) {
      for (Dtype dt : kDtypes) {
        manual_seed(static_cast<uint64_t>(n) + 11);
        Tensor x = random_with_specials(n, dt, 4.0);
        for (const UnaryCase& c : unary_ops()) {
          auto [s, v] = both_backends([&] { return c.fn(x); });
          const std::string what = std::string(c.name) + " n=" + std::to_string(n) + " " + std::string(dtype_name(dt));
          if (c.ulps == 0) expect_same_values(s, v, what);
          else EXPECT_LE(max_ulps(s, v), c.ulps) << what;
        }
      }
    }
  });
}

// Dense sweeps over the ranges where polynomial approximations go wrong: overflow and
// underflow edges of exp, subnormal and huge inputs of log, saturation of tanh/sigmoid.
TEST(Simd, UnaryAcrossRanges) {
  for_each_target([] {
    for (Dtype dt : kDtypes) {
      const double hi = dt == Dtype::Float32 ? 120.0 : 760.0;
      Tensor wide = linspace(-hi, hi, 100001, {dt});
      Tensor pos = exp(linspace(dt == Dtype::Float32 ? -103.0 : -744.0, dt == Dtype::Float32 ? 88.0 : 709.0, 100001,
                                {Dtype::Float64}))
                       .to(dt);
      for (const UnaryCase& c : unary_ops()) {
        const std::string what = std::string(c.name) + " " + std::string(dtype_name(dt));
        auto [s, v] = both_backends([&] { return c.fn(wide); });
        EXPECT_LE(max_ulps(s, v), c.ulps) << what << " on [-" << hi << ", " << hi << "]";
        auto [s2, v2] = both_backends([&] { return c.fn(pos); });
        EXPECT_LE(max_ulps(s2, v2), c.ulps) << what << " on positive values incl. subnormals";
      }
    }
  });
}

TEST(Simd, LayoutDoesNotChangeResults) {
  BackendGuard guard;
  runtime::set_backend("cpu_simd");
  manual_seed(3);
  Tensor m = mul(randn({37, 29}), Scalar(3.0));
  for (const UnaryCase& c : unary_ops()) {
    // The strided path runs the same vector code as the contiguous one.
    expect_identical(c.fn(m.t()).contiguous(), c.fn(m).t().contiguous(), c.name);
  }
}

TEST(Simd, InPlace) {
  for_each_target([] {
    manual_seed(5);
    Tensor base = randn({40, 30});
    Tensor other = randn({30});
    auto [s, v] = both_backends([&] {
      Tensor x = base.clone();
      add_(x, other);                      // broadcast row into a contiguous destination
      mul_(x.t(), Scalar(1.5));            // strided destination
      exp_(x.slice(0, 0, 40, 2));          // every other row
      return x;
    });
    EXPECT_LE(max_ulps(s, v), 2);
  });
}

// Rows of 16 MiB and more take the streaming-store path, including an unaligned head.
TEST(Simd, HugeRowsStream) {
  BackendGuard guard;
  for (Dtype dt : kDtypes) {
    const int64_t n = (int64_t{16} << 20) / (dt == Dtype::Float32 ? 4 : 8) + 5;
    Tensor a = sawtooth(n + 1, dt, -20.0, 0.041), b = sawtooth(n, dt, 0.5, 0.0027);
    auto [s, v] = both_backends([&] { return add(a.slice(0, 1, n + 1), b); });
    expect_identical(s, v, "add, aligned output");
    auto [s2, v2] = both_backends([&] {
      Tensor x = a.clone();
      mul_(x.slice(0, 1, n + 1), b);  // output starts one element past a vector boundary
      return x;
    });
    expect_identical(s2, v2, "mul_, unaligned output");
    auto [s3, v3] = both_backends([&] {
      Tensor x = a.clone();
      exp_(x.slice(0, 1, n + 1));
      return x;
    });
    EXPECT_LE(max_ulps(s3, v3), 2) << "exp_, unaligned output";
  }
}

TEST(Simd, OtherDtypesFallBackToScalar) {
  BackendGuard guard;
  manual_seed(9);
  Tensor i = randint(-100, 100, {101}, Dtype::Int32);
  Tensor h = randn({101}).to(Dtype::Float16);
  auto [s, v] = both_backends([&] { return add(i, i).to(Dtype::Float64); });
  expect_identical(s, v, "add int32");
  auto [s2, v2] = both_backends([&] { return exp(h).to(Dtype::Float32); });
  expect_identical(s2, v2, "exp float16");
  auto [s3, v3] = both_backends([&] { return sub(i.to(Dtype::Float32), Scalar(0.5)); });
  expect_identical(s3, v3, "int32 promoted to float32 then simd");
}

TEST(Simd, EmptyAndZeroDim) {
  for_each_target([] {
    runtime::set_backend("cpu_simd");
    EXPECT_EQ(add(zeros({0, 3}), ones({0, 3})).numel(), 0);
    EXPECT_EQ(exp(zeros({3, 0}, {Dtype::Float64})).numel(), 0);
    EXPECT_NEAR(exp(scalar_tensor(Scalar(1.0))).item<double>(), std::exp(1.0), 1e-6);
    EXPECT_EQ(maximum(scalar_tensor(Scalar(2.0)), scalar_tensor(Scalar(-1.0))).item<double>(), 2.0);
  });
}

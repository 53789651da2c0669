// cpu_simd reductions and softmax (reduce.cpp / softmax.cpp with simd_reduce.cpp's vector
// loops) against cpu_scalar, on every SIMD target: sum/mean/prod bit for bit (the same
// blocked order), max/min/argmax/argmin exactly (NaN wins, first index), logsumexp/softmax
// within a few ulp (vector exp); layouts, tails, empty and 0-d inputs, concurrent callers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "lamina/lamina.h"

namespace lamina::runtime {
std::vector<std::string> simd_targets();
void set_simd_target(const std::string& name);
}  // namespace lamina::runtime

using namespace lamina;

namespace {

struct Guard {
  ~Guard() {
    runtime::set_backend("cpu_simd");
    runtime::set_simd_target("");
  }
};

const int64_t kSizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 255, 256, 257, 1000003};
const Dtype kDtypes[] = {Dtype::Float32, Dtype::Float64};

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.dtype() == cb.dtype() && ca.shape() == cb.shape() &&
         std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<size_t>(ca.numel() * ca.element_size())) == 0;
}

double at(const Tensor& t, int64_t i) {
  return t.dtype() == Dtype::Float32 ? t.data<float>()[i] : t.data<double>()[i];
}

// Largest ulp distance (NaN matches NaN, equal infinities match).
int64_t max_ulps(const Tensor& a0, const Tensor& b0) {
  const Tensor a = a0.contiguous(), b = b0.contiguous();
  EXPECT_EQ(a.shape(), b.shape());
  int64_t worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = at(a, i), y = at(b, i);
    if ((std::isnan(x) && std::isnan(y)) || x == y) continue;
    if (std::isnan(x) || std::isnan(y) || std::isinf(x) || std::isinf(y)) return INT64_MAX;
    int64_t d;
    if (a.dtype() == Dtype::Float32) {
      int32_t ia, ib;
      const float fx = static_cast<float>(x), fy = static_cast<float>(y);
      std::memcpy(&ia, &fx, 4);
      std::memcpy(&ib, &fy, 4);
      d = (ia < 0 ? INT32_MIN - static_cast<int64_t>(ia) : ia) - (ib < 0 ? INT32_MIN - static_cast<int64_t>(ib) : ib);
    } else {
      int64_t ia, ib;
      std::memcpy(&ia, &x, 8);
      std::memcpy(&ib, &y, 8);
      const auto ord = [](int64_t v) { return v < 0 ? static_cast<__int128>(INT64_MIN) - v : static_cast<__int128>(v); };
      const __int128 dd = ord(ia) - ord(ib);
      d = static_cast<int64_t>(dd < 0 ? -dd : dd);
    }
    worst = std::max(worst, d < 0 ? -d : d);
  }
  return worst;
}

// f() under cpu_scalar, then under cpu_simd for each target; check(scalar, simd, target).
void compare(const std::function<Tensor()>& f, const std::function<void(const Tensor&, const Tensor&, const std::string&)>& check) {
  Guard guard;
  runtime::set_backend("cpu_scalar");
  const Tensor s = f().contiguous();
  runtime::set_backend("cpu_simd");
  for (const std::string& t : runtime::simd_targets()) {
    runtime::set_simd_target(t);
    check(s, f().contiguous(), t);
  }
}

void expect_bits(const std::function<Tensor()>& f, const std::string& what) {
  compare(f, [&](const Tensor& s, const Tensor& v, const std::string& t) {
    EXPECT_TRUE(same_bits(s, v)) << what << " target " << t;
  });
}

void expect_ulps(const std::function<Tensor()>& f, int64_t bound, const std::string& what) {
  compare(f, [&](const Tensor& s, const Tensor& v, const std::string& t) {
    EXPECT_LE(max_ulps(s, v), bound) << what << " target " << t;
  });
}

// |scalar - simd| <= k eps max(1, |scalar|): for results that are differences of O(1) terms
// (log_softmax = (x - max) - log(sum)), where the ulp of a result near 0 says nothing.
void expect_close(const std::function<Tensor()>& f, double k, const std::string& what) {
  compare(f, [&](const Tensor& s, const Tensor& v, const std::string& t) {
    const double eps = s.dtype() == Dtype::Float32 ? 1.1920929e-7 : 2.220446049250313e-16;
    for (int64_t i = 0; i < s.numel(); ++i) {
      const double a = at(s, i), b = at(v, i);
      if ((std::isnan(a) && std::isnan(b)) || a == b) continue;
      ASSERT_LE(std::fabs(a - b), k * eps * std::max(1.0, std::fabs(a))) << what << " target " << t << " i=" << i;
    }
  });
}

// Random values, never zero: randn * scale + offset, with |x| pushed away from 0.
Tensor random_nonzero(const Shape& shape, Dtype dt, double scale, double offset = 0.0) {
  Tensor x = add(mul(randn(shape, {dt}), Scalar(scale)), Scalar(offset));
  Tensor tiny = lt(abs(x), Scalar(1e-6));
  return where(tiny, full_like(x, Scalar(0.5)), x);
}

}  // namespace

TEST(SimdReduce, SumMeanProdBitIdenticalToScalar) {
  for (Dtype dt : kDtypes) {
    for (int64_t n : kSizes) {
      manual_seed(static_cast<uint64_t>(n) + 100);
      const Tensor x = random_nonzero({n}, dt, 10.0, 1.0);
      const Tensor near_one = random_nonzero({n}, dt, 1e-4, 1.0);  // products stay finite
      const std::string what = std::string(dtype_name(dt)) + " n=" + std::to_string(n);
      expect_bits([&] { return sum(x); }, "sum " + what);
      if (n > 0) expect_bits([&] { return mean(x); }, "mean " + what);
      expect_bits([&] { return prod(near_one); }, "prod " + what);
    }
  }
}

TEST(SimdReduce, RowsColumnsAndStridedLayoutsGiveTheSameBits) {
  Guard guard;
  runtime::set_backend("cpu_simd");
  for (Dtype dt : kDtypes) {
    for (int64_t n : {1, 9, 257, 1000, 4099}) {
      manual_seed(static_cast<uint64_t>(n));
      const Tensor m = random_nonzero({13, n}, dt, 3.0, 0.25);
      const Tensor mt = m.t().contiguous().t();  // same values, column-major
      const std::string what = std::string(dtype_name(dt)) + " n=" + std::to_string(n);
      EXPECT_TRUE(same_bits(sum(m, std::vector<int64_t>{1}), sum(mt, std::vector<int64_t>{1}))) << what;
      EXPECT_TRUE(same_bits(sum(m.t(), std::vector<int64_t>{0}), sum(m, std::vector<int64_t>{1}))) << what;
      EXPECT_TRUE(same_bits(prod(m, std::vector<int64_t>{1}), prod(mt, std::vector<int64_t>{1}))) << what;
      // Each row alone (a sub-loop of the outputs, as a thread would get) equals its row of the whole.
      const Tensor rows = sum(m, std::vector<int64_t>{1});
      for (int64_t r = 0; r < 13; ++r)
        EXPECT_TRUE(same_bits(sum(m.select(0, r)), rows.select(0, r))) << what << " row " << r;
      // A stepped 1-d view equals its contiguous copy.
      const Tensor stepped = random_nonzero({3 * n}, dt, 2.0).slice(0, 0, 3 * n, 3);
      EXPECT_TRUE(same_bits(sum(stepped), sum(stepped.contiguous()))) << what;
      EXPECT_TRUE(same_bits(mean(stepped), mean(stepped.contiguous()))) << what;
      // Several reduced dims walked in logical order: (a, b, c) summed over (1, 2) with b, c permuted views.
      const Tensor cube = random_nonzero({4, 7, n}, dt, 1.0);
      const Tensor cube_t = cube.transpose(1, 2).contiguous().transpose(1, 2);
      EXPECT_TRUE(same_bits(sum(cube, std::vector<int64_t>{1, 2}), sum(cube_t, std::vector<int64_t>{1, 2}))) << what;
    }
  }
}

TEST(SimdReduce, ExtremesMatchScalarWithNanAndFirstIndex) {
  for (Dtype dt : kDtypes) {
    for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 255, 256, 257, 100003}) {
      manual_seed(static_cast<uint64_t>(n) + 7);
      const Tensor m = random_nonzero({5, n}, dt, 100.0);
      // duplicated extremes: round to integers so ties are common
      const Tensor ties = round(mul(m, Scalar(0.02)));
      Tensor with_nan = m.clone();
      if (n > 3) {
        if (dt == Dtype::Float32) {
          with_nan.data<float>()[1 * n + n / 2] = NAN;
          with_nan.data<float>()[3 * n + n - 1] = NAN;
          with_nan.data<float>()[3 * n + 1] = -INFINITY;
        } else {
          with_nan.data<double>()[1 * n + n / 2] = NAN;
          with_nan.data<double>()[3 * n + n - 1] = NAN;
          with_nan.data<double>()[3 * n + 1] = INFINITY;
        }
      }
      const std::string what = std::string(dtype_name(dt)) + " n=" + std::to_string(n);
      for (const Tensor* t : std::vector<const Tensor*>{&m, &ties, &with_nan}) {
        expect_ulps([&] { return amax(*t, std::vector<int64_t>{1}); }, 0, "amax " + what);
        expect_ulps([&] { return amin(*t, std::vector<int64_t>{1}); }, 0, "amin " + what);
        expect_ulps([&] { return amax(*t); }, 0, "amax all " + what);
        expect_bits([&] { return max(*t, 1).indices; }, "argmax " + what);
        expect_bits([&] { return min(*t, 1).indices; }, "argmin " + what);
        expect_bits([&] { return argmax(*t); }, "argmax all " + what);
        expect_bits([&] { return max(t->t(), 0).indices; }, "argmax strided " + what);
        expect_ulps([&] { return max(t->t(), 0).values; }, 0, "max strided " + what);
      }
    }
  }
  // NaN wins and its first position is reported
  Guard guard;
  runtime::set_backend("cpu_simd");
  const Tensor t = tensor<float>({1.0f, NAN, 5.0f, NAN, 7.0f, 2.0f, 3.0f, 4.0f, 9.0f, 1.0f});
  EXPECT_TRUE(std::isnan(amax(t).item<double>()));
  EXPECT_TRUE(std::isnan(amin(t).item<double>()));
  EXPECT_EQ(argmax(t).item<int64_t>(), 1);
  EXPECT_EQ(argmin(t).item<int64_t>(), 1);
  const Tensor u = tensor<double>({3, 9, 1, 9, 1, 2, 3, 4, 5, 6, 7, 8, 0.5, 9, 0.5, 1, 2});
  EXPECT_EQ(argmax(u).item<int64_t>(), 1);
  EXPECT_EQ(argmin(u).item<int64_t>(), 12);
}

TEST(SimdReduce, LogSumExpNearScalar) {
  for (Dtype dt : kDtypes) {
    for (int64_t n : {1, 7, 8, 9, 17, 256, 257, 10007}) {
      manual_seed(static_cast<uint64_t>(n) + 9);
      const Tensor m = random_nonzero({4, n}, dt, 20.0);
      const std::string what = std::string(dtype_name(dt)) + " n=" + std::to_string(n);
      expect_close([&] { return logsumexp(m, std::vector<int64_t>{1}); }, 4, "logsumexp " + what);
      expect_close([&] { return logsumexp(m.t(), std::vector<int64_t>{0}); }, 4, "logsumexp strided " + what);
      Guard g;
      runtime::set_backend("cpu_simd");
      EXPECT_TRUE(same_bits(logsumexp(m.t(), std::vector<int64_t>{0}), logsumexp(m, std::vector<int64_t>{1}))) << what;
    }
  }
  const double inf = INFINITY, nan = NAN;
  const Tensor special = tensor<double>({-inf, -inf, -inf, 1.0, inf, 2.0, nan, 1.0, 0.0, -inf, 3.0, 4.0}).view({4, 3});
  expect_ulps([&] { return logsumexp(special, std::vector<int64_t>{1}); }, 0, "logsumexp specials");
}

TEST(SimdReduce, SoftmaxNearScalarAndLayoutIndependent) {
  for (Dtype dt : kDtypes) {
    for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 255, 256, 257, 4096}) {
      manual_seed(static_cast<uint64_t>(n) + 13);
      const Tensor m = random_nonzero({3, n}, dt, 8.0);
      const std::string what = std::string(dtype_name(dt)) + " n=" + std::to_string(n);
      // the two sums of exp round differently (error ~ the longest accumulator chain, n / 8 scalar)
      expect_ulps([&] { return softmax(m, 1); }, 6 + n / 256, "softmax " + what);
      expect_close([&] { return log_softmax(m, 1); }, 8, "log_softmax " + what);
      Guard g;
      runtime::set_backend("cpu_simd");
      EXPECT_TRUE(same_bits(softmax(m.t(), 0).t(), softmax(m, 1))) << what;
      EXPECT_TRUE(same_bits(log_softmax(m.t(), 0).t(), log_softmax(m, 1))) << what;
      // rows sum to 1
      const Tensor s = sum(softmax(m, 1), std::vector<int64_t>{1});
      for (int64_t r = 0; r < 3; ++r) EXPECT_NEAR(at(s, r), 1.0, 1e-5) << what;
    }
  }
  const float inf = INFINITY, nan = NAN;
  const Tensor special =
      tensor<float>({-inf, -inf, -inf, 1.0f, inf, 2.0f, nan, 1.0f, 0.0f, -inf, 3.0f, 4.0f, 0.5f, -inf, 0.25f}).view({5, 3});
  expect_ulps([&] { return softmax(special, 1); }, 2, "softmax specials");
  expect_close([&] { return log_softmax(special, 1); }, 4, "log_softmax specials");
}

TEST(SimdReduce, EmptyAndZeroDim) {
  Guard guard;
  runtime::set_backend("cpu_simd");
  for (Dtype dt : kDtypes) {
    EXPECT_EQ(sum(zeros({0}, {dt})).item<double>(), 0.0);
    EXPECT_EQ(prod(zeros({0}, {dt})).item<double>(), 1.0);
    EXPECT_EQ(sum(zeros({3, 0}, {dt}), std::vector<int64_t>{1}).numel(), 3);
    EXPECT_EQ(sum(zeros({0, 3}, {dt}), std::vector<int64_t>{1}).numel(), 0);
    EXPECT_EQ(softmax(zeros({0, 4}, {dt}), 1).numel(), 0);
    const Tensor s = scalar_tensor(Scalar(2.5), dt);
    EXPECT_EQ(sum(s).item<double>(), 2.5);
    EXPECT_EQ(mean(s).item<double>(), 2.5);
    EXPECT_EQ(amax(s).item<double>(), 2.5);
    EXPECT_EQ(argmax(s).item<int64_t>(), 0);
    EXPECT_EQ(softmax(s, 0).item<double>(), 1.0);
    EXPECT_EQ(log_softmax(s, 0).item<double>(), 0.0);
    EXPECT_DOUBLE_EQ(logsumexp(s, std::vector<int64_t>{}).item<double>(), 2.5);
  }
}

// Other dtypes have no cpu_simd reduce kernels: the same results as cpu_scalar.
TEST(SimdReduce, OtherDtypesFallBack) {
  manual_seed(4);
  const Tensor i = randint(-50, 50, {1001}, Dtype::Int32);
  const Tensor h = randn({1001}).to(Dtype::BFloat16);
  expect_bits([&] { return sum(i); }, "sum int32");
  expect_bits([&] { return amax(i).to(Dtype::Int64); }, "amax int32");
  expect_bits([&] { return sum(h).to(Dtype::Float32); }, "sum bfloat16");
  expect_bits([&] { return softmax(h, 0).to(Dtype::Float32); }, "softmax bfloat16");
}

// The kernels keep no state: many threads reducing at once get what one thread gets.
TEST(SimdReduce, ConcurrentCallers) {
  Guard guard;
  runtime::set_backend("cpu_simd");
  manual_seed(8);
  const Tensor m = random_nonzero({64, 3001}, Dtype::Float32, 5.0);
  const Tensor want_sum = sum(m, std::vector<int64_t>{1}), want_max = amax(m, std::vector<int64_t>{1});
  const Tensor want_soft = softmax(m, 1);
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bool good = true;
      for (int rep = 0; rep < 5; ++rep) {
        good &= same_bits(sum(m, std::vector<int64_t>{1}), want_sum);
        good &= same_bits(amax(m, std::vector<int64_t>{1}), want_max);
        good &= same_bits(softmax(m, 1), want_soft);
      }
      ok[t] = good;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(ok[t]) << "thread " << t;
}

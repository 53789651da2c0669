// The thread pool and the ops it splits: every index covered once, nested calls inline,
// exceptions carried to the caller, and results bit-identical with 1, 2 or N threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <vector>

#include "lamina/lamina.h"
#include "lamina/runtime/parallel.h"

using namespace lamina;

namespace {

// Restores the thread count a test changed.
struct ThreadCountGuard {
  int saved = num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<size_t>(ca.numel() * ca.element_size())) == 0;
}

// Runs make() with each thread count and checks every result has the bits of the first.
void expect_same_bits_across_threads(const std::function<Tensor()>& make, const char* what) {
  ThreadCountGuard guard;
  set_num_threads(1);
  const Tensor reference = make();
  for (int threads : {2, 3, 8}) {
    set_num_threads(threads);
    EXPECT_TRUE(same_bits(make(), reference)) << what << " differs with " << threads << " threads";
  }
}

}  // namespace

TEST(Parallel, EveryIndexOnceForAnyPartCount) {
  ThreadCountGuard guard;
  set_num_threads(4);
  for (int64_t n : {1, 2, 3, 7, 100, 1001}) {
    for (int parts : {1, 2, 3, 4, 9}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      auto body = [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
      };
      runtime::parallel_run(n, parts, runtime::RangeFn(body));
      for (auto& h : hits) EXPECT_EQ(h.load(), 1) << "n=" << n << " parts=" << parts;
    }
  }
}

TEST(Parallel, PartCountFollowsCostAndThreads) {
  ThreadCountGuard guard;
  set_num_threads(4);
  EXPECT_EQ(runtime::parallel_parts(4, 1), 1);  // tiny work stays inline
  EXPECT_EQ(runtime::parallel_parts(1, int64_t{1} << 30), 1);
  EXPECT_EQ(runtime::parallel_parts(1 << 24, 1), 16);           // four parts per thread
  EXPECT_EQ(runtime::parallel_parts(3, int64_t{1} << 20), 3);    // never more parts than units
  EXPECT_EQ(runtime::parallel_parts(5, runtime::kParallelGrain), 5);  // nor smaller than the grain
  set_num_threads(1);
  EXPECT_EQ(runtime::parallel_parts(1 << 24, 1), 1);
}

TEST(Parallel, NestedCallsRunInline) {
  ThreadCountGuard guard;
  set_num_threads(4);
  std::atomic<int> nested_parts{0};
  auto outer = [&](int64_t, int64_t) {
    EXPECT_TRUE(runtime::in_parallel_region());
    EXPECT_EQ(runtime::parallel_parts(1 << 24, 1), 1);
    runtime::parallel_for(1 << 20, 1 << 10, [&](int64_t, int64_t) { nested_parts++; });
  };
  runtime::parallel_run(4, 4, runtime::RangeFn(outer));
  EXPECT_EQ(nested_parts.load(), 4);
  EXPECT_FALSE(runtime::in_parallel_region());
}

TEST(Parallel, ExceptionReachesTheCallerAndThePoolStaysUsable) {
  ThreadCountGuard guard;
  set_num_threads(3);
  auto failing = [](int64_t b, int64_t) {
    if (b > 0) LAMINA_THROW(ValueError, "test", "part starting at ", b, " failed");
  };
  EXPECT_THROW(runtime::parallel_run(30, 3, runtime::RangeFn(failing)), ValueError);
  std::atomic<int64_t> total{0};
  auto sum = [&](int64_t b, int64_t e) { total += e - b; };
  runtime::parallel_run(30, 3, runtime::RangeFn(sum));
  EXPECT_EQ(total.load(), 30);
}

TEST(Parallel, ResizingBetweenCallsKeepsWorking) {
  ThreadCountGuard guard;
  for (int threads : {1, 4, 2, 6, 1, 3}) {
    set_num_threads(threads);
    std::atomic<int64_t> total{0};
    auto sum = [&](int64_t b, int64_t e) { total += e - b; };
    runtime::parallel_run(1000, threads, runtime::RangeFn(sum));
    EXPECT_EQ(total.load(), 1000);
  }
}

TEST(Parallel, ReductionsGiveTheSameBitsWithAnyThreadCount) {
  manual_seed(11);
  // Sizes around the chunking threshold of single-output reductions, odd tails included.
  for (int64_t n : {int64_t{1000}, int64_t{(1 << 18) - 3}, int64_t{(1 << 18) + 77}, int64_t{(1 << 20) + 12345}}) {
    const Tensor x = sub(mul(rand({n}), Scalar(2.0)), Scalar(1.0));
    const Tensor xd = x.to(Dtype::Float64);
    expect_same_bits_across_threads([&] { return sum(x); }, "sum f32");
    expect_same_bits_across_threads([&] { return sum(xd); }, "sum f64");
    expect_same_bits_across_threads([&] { return mean(x); }, "mean");
    expect_same_bits_across_threads([&] { return amax(x); }, "amax");
    expect_same_bits_across_threads([&] { return amin(xd); }, "amin");
    expect_same_bits_across_threads([&] { return prod(add(mul(x, Scalar(1e-3)), Scalar(1.0))); }, "prod");
    expect_same_bits_across_threads([&] { return var(x); }, "var");
    expect_same_bits_across_threads([&] { return logsumexp(x, std::vector<int64_t>{0}); }, "logsumexp");
  }
  const Tensor m = rand({300, 3001});
  expect_same_bits_across_threads([&] { return sum(m, std::vector<int64_t>{1}); }, "row sums");
  expect_same_bits_across_threads([&] { return sum(m, std::vector<int64_t>{0}); }, "column sums");
  expect_same_bits_across_threads([&] { return sum(m.t(), std::vector<int64_t>{1}); }, "strided row sums");
  expect_same_bits_across_threads([&] { return mean(m, std::vector<int64_t>{0, 1}); }, "mean of a matrix");
  expect_same_bits_across_threads([&] { return softmax(m, 1); }, "softmax");
  expect_same_bits_across_threads([&] { return log_softmax(m, 0); }, "log_softmax over dim 0");
  expect_same_bits_across_threads([&] { return cumsum(m, 1); }, "cumsum");
  expect_same_bits_across_threads([&] { return sort(m, 1).values; }, "sort");
  const Tensor ints = randint(-1000, 1000, {(1 << 19) + 5}, Dtype::Int32);
  expect_same_bits_across_threads([&] { return sum(ints); }, "int sum");
}

TEST(Parallel, ElementwiseAndRandomFillsGiveTheSameBitsWithAnyThreadCount) {
  manual_seed(5);
  const Tensor a = rand({513, 1027}), b = rand({1027});
  expect_same_bits_across_threads([&] { return add(a, b); }, "broadcast add");
  expect_same_bits_across_threads([&] { return exp(a.t()); }, "exp of a transposed view");
  expect_same_bits_across_threads([&] { return a.to(Dtype::Float16); }, "cast");
  expect_same_bits_across_threads(
      [&] {
        manual_seed(42);
        return randn({700, 999});
      },
      "randn");
  expect_same_bits_across_threads(
      [&] {
        manual_seed(42);
        Tensor t = empty({999, 700}).t();  // a non-contiguous destination
        uniform_(t, -2.0, 3.0);
        return t;
      },
      "uniform_ into a view");
}

TEST(Parallel, SingleOutputReductionsStayAccurate) {
  // The chunked path must agree with a float64 reference.
  manual_seed(3);
  const int64_t n = (1 << 21) + 999;
  const Tensor x = rand({n});
  const double reference = sum(x.to(Dtype::Float64)).item<double>();
  EXPECT_NEAR(sum(x).item<float>(), reference, std::abs(reference) * 1e-6);
  EXPECT_NEAR(mean(x).item<float>(), reference / static_cast<double>(n), 1e-6);
  const Tensor big = ones({n}, {Dtype::Int64, kCPU});
  EXPECT_EQ(sum(big).item<int64_t>(), n);
  EXPECT_EQ(argmax(x).item<int64_t>(), argmax(x.to(Dtype::Float64)).item<int64_t>());
}

TEST(Parallel, BatchedMatmulSplitsBatchesAndMatchesEachProduct) {
  manual_seed(8);
  const Tensor a = rand({7, 40, 30}), b = rand({7, 30, 50});
  const Tensor ai = randint(-5, 5, {6, 20, 30}, Dtype::Int32), bi = randint(-5, 5, {6, 30, 10}, Dtype::Int32);
  expect_same_bits_across_threads([&] { return matmul(a, b); }, "batched f32");
  expect_same_bits_across_threads([&] { return matmul(a.to(Dtype::Float64), b.to(Dtype::Float64)); }, "batched f64");
  expect_same_bits_across_threads([&] { return matmul(ai, bi); }, "batched int32");
  ThreadCountGuard guard;
  set_num_threads(4);
  const Tensor c = matmul(a, b.transpose(1, 2).contiguous().transpose(1, 2));  // transposed operand
  for (int64_t i = 0; i < 7; ++i) {
    const Tensor one = matmul(a.select(0, i), b.select(0, i));
    const double err = amax(abs(sub(c.select(0, i), one))).item<double>();
    EXPECT_LT(err, 1e-4) << "batch " << i;
  }
  EXPECT_EQ(num_threads(), 4);  // the BLAS thread count is restored with the runtime's
}

// The caching CPU allocator: size classes, alignment, reuse, statistics, bounded memory.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "lamina/lamina.h"
#include "lamina/runtime/parallel.h"

using namespace lamina;

TEST(Allocator, SizeClassesCoverRequestsWithBoundedWaste) {
  int64_t previous = 0;
  for (int64_t n = 1; n < (int64_t{1} << 26); n = n < 5000 ? n + 1 : n + n / 7 + 13) {
    const int64_t c = runtime::size_class_bytes(n);
    EXPECT_GE(c, n);
    EXPECT_EQ(c % runtime::kCpuAlignment, 0) << n;
    EXPECT_LE(c, n + n / 4 + runtime::kCpuAlignment) << n;  // at most 25% (or one line) wasted
    EXPECT_GE(c, previous) << n;                             // classes grow with the request
    previous = c;
  }
  EXPECT_EQ(runtime::size_class_bytes(0), 64);
  EXPECT_EQ(runtime::size_class_bytes(64 << 20), 64 << 20);  // powers of two are exact
  EXPECT_EQ(runtime::size_class_bytes(int64_t{1} << 56), int64_t{1} << 56);  // the largest class
  EXPECT_THROW(runtime::allocate((int64_t{1} << 56) + 1, kCPU), OutOfMemoryError);
}

TEST(Allocator, EveryBufferIs64ByteAligned) {
  std::vector<Tensor> keep;
  for (int64_t n : {0, 1, 3, 17, 100, 1000, 4097, 100000, 3000000}) {
    keep.push_back(empty({n}, {Dtype::UInt8, kCPU}));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(keep.back().data_ptr()) % runtime::kCpuAlignment, 0u) << n;
  }
}

TEST(Allocator, FreedBuffersServeTheNextRequestOfTheirClass) {
  void* first = nullptr;
  {
    Tensor t = empty({12345});
    first = t.data_ptr();
    // Fill it so the reuse below is of a buffer that was really written.
    fill_(t, Scalar(1.5));
  }
  const auto before = runtime::memory_stats(kCPU);
  EXPECT_GE(before.cached_bytes, runtime::size_class_bytes(12345 * 4));
  Tensor again = empty({12340});  // same size class
  const auto after = runtime::memory_stats(kCPU);
  EXPECT_EQ(again.data_ptr(), first);
  EXPECT_EQ(after.num_cache_hits, before.num_cache_hits + 1);
  EXPECT_EQ(after.num_system_allocs, before.num_system_allocs);
  EXPECT_EQ(after.reserved_bytes, before.reserved_bytes);
}

TEST(Allocator, StatisticsBalanceAndEmptyCacheReleases) {
  const auto start = runtime::memory_stats(kCPU);
  {
    std::vector<Tensor> live;
    for (int i = 0; i < 50; ++i) live.push_back(empty({1000 + 37 * i}));
    const auto mid = runtime::memory_stats(kCPU);
    EXPECT_GT(mid.allocated_bytes, start.allocated_bytes);
    EXPECT_GE(mid.peak_allocated_bytes, mid.allocated_bytes);
    EXPECT_EQ(mid.reserved_bytes, mid.allocated_bytes + mid.cached_bytes);
  }
  auto end = runtime::memory_stats(kCPU);
  EXPECT_EQ(end.allocated_bytes, start.allocated_bytes);
  EXPECT_EQ(end.reserved_bytes, end.allocated_bytes + end.cached_bytes);
  EXPECT_EQ(end.num_allocs - start.num_allocs, end.num_frees - start.num_frees);
  runtime::empty_cache(kCPU);
  end = runtime::memory_stats(kCPU);
  EXPECT_EQ(end.cached_bytes, 0);
  EXPECT_EQ(end.reserved_bytes, end.allocated_bytes);
  runtime::reset_peak_memory_stats(kCPU);
  EXPECT_EQ(runtime::memory_stats(kCPU).peak_allocated_bytes, end.allocated_bytes);
}

TEST(Allocator, ManySmallOpsReserveNoNewMemory) {
  const Tensor x = rand({4}), y = rand({4});
  for (int i = 0; i < 1000; ++i) (void)add(mul(x, y), Scalar(1.0));  // warm the cache
  const auto before = runtime::memory_stats(kCPU);
  for (int i = 0; i < 200000; ++i) (void)add(mul(x, y), Scalar(1.0));
  const auto after = runtime::memory_stats(kCPU);
  EXPECT_EQ(after.reserved_bytes, before.reserved_bytes);
  EXPECT_EQ(after.num_system_allocs, before.num_system_allocs);
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);
}

TEST(Allocator, ReservedMemoryFollowsTheLivePeakWhenSizesChange) {
  runtime::empty_cache(kCPU);
  runtime::reset_peak_memory_stats(kCPU);
  // Phase one: many buffers of one size, all freed (cached); phase two: other sizes. The
  // cache gives phase one's idle buffers back rather than holding both phases at once.
  auto phase = [](int64_t elements) {
    std::vector<Tensor> live;
    for (int i = 0; i < 16; ++i) live.push_back(empty({elements}));
  };
  phase(1 << 20);  // 16 x 4 MiB
  const auto after_one = runtime::memory_stats(kCPU);
  EXPECT_GE(after_one.cached_bytes, 16 * (int64_t{4} << 20));
  phase(3 << 20);  // 16 x 12 MiB
  phase(5 << 19);  // 16 x 10 MiB
  const auto after = runtime::memory_stats(kCPU);
  EXPECT_LE(after.reserved_bytes, 2 * after.peak_allocated_bytes);
  // A repeated phase is served from the cache: no new system memory.
  phase(5 << 19);
  EXPECT_EQ(runtime::memory_stats(kCPU).num_system_allocs, after.num_system_allocs);
  runtime::empty_cache(kCPU);
}

TEST(Allocator, ConcurrentAllocationsFromPoolThreads) {
  const int saved = num_threads();
  set_num_threads(4);
  const auto before = runtime::memory_stats(kCPU);
  std::atomic<int> failures{0};
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t n = 1 + (i * 7919) % 5000;
      void* p = runtime::allocate(n, kCPU);
      std::memset(p, static_cast<int>(i & 0xff), static_cast<size_t>(n));
      if (static_cast<unsigned char*>(p)[n - 1] != static_cast<unsigned char>(i & 0xff)) failures++;
      runtime::deallocate(p, n, kCPU);
    }
  };
  runtime::parallel_run(20000, 4, runtime::RangeFn(body));
  set_num_threads(saved);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(runtime::memory_stats(kCPU).allocated_bytes, before.allocated_bytes);
}

TEST(AllocationBudget, RefusesTheAllocationThatWouldPassItAndNestsWithTheSmallerLimit) {
  {
    runtime::AllocationBudget budget(10000);
    Tensor fits = empty({1000});                    // 4000 bytes
    EXPECT_THROW(empty({2000}), OutOfMemoryError);  // 8000 more would pass 10000
    {
      runtime::AllocationBudget inner(1 << 30);  // no more than what the outer budget has left
      EXPECT_THROW(empty({1600}), OutOfMemoryError);
      Tensor small = empty({500});
    }
    EXPECT_THROW(empty({1001}), OutOfMemoryError);  // the inner budget's 2000 bytes were charged: 4000 left
    Tensor last = empty({1000});
  }
  Tensor unlimited = empty({1 << 20});  // no budget once it ends
  EXPECT_THROW(runtime::AllocationBudget(-1), ValueError);
}

TEST(AllocationBudget, BindsOnlyTheThreadThatOpenedIt) {
  runtime::AllocationBudget budget(0);
  std::atomic<bool> other_ok{false};
  std::thread other([&] {
    Tensor t = empty({1000});
    other_ok = t.numel() == 1000;
  });
  other.join();
  EXPECT_TRUE(other_ok.load());
  EXPECT_THROW(empty({1}), OutOfMemoryError);
}

TEST(RngState, RestoresTheDrawsAndRejectsOtherTensors) {
  manual_seed(123);
  (void)rand({7});
  Tensor state = get_rng_state();
  ASSERT_EQ(state.numel(), 16);
  EXPECT_EQ(state.dtype(), Dtype::UInt8);
  Tensor first = rand({5});
  (void)rand({3});
  set_rng_state(state);
  Tensor again = rand({5});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(first.data<float>()[i], again.data<float>()[i]);
  EXPECT_THROW(set_rng_state(zeros({16})), ValueError);
  EXPECT_THROW(set_rng_state(zeros({8}, {Dtype::UInt8})), ValueError);
}

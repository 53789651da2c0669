// The caching device allocator's logic on a fake device (host memory with a capacity, events the
// test completes by hand): reuse per stream, blocks used on other streams held back until their
// events complete, splitting and merging, empty_cache, the out-of-memory path and its message,
// and a random alloc/free run checked for overlaps and consistent counters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/runtime/device_allocator.h"

using namespace lamina;
using runtime::CachingDeviceAllocator;

namespace {

// Host memory posing as a device with `capacity` bytes; records what is outstanding.
class FakeDevice : public runtime::DeviceMemorySource {
 public:
  explicit FakeDevice(size_t capacity, size_t* in_use) : capacity_(capacity), in_use_(in_use) {}
  void* allocate(size_t bytes) override {
    if (*in_use_ + bytes > capacity_) return nullptr;
    *in_use_ += bytes;
    return std::aligned_alloc(4096, bytes);
  }
  void release(void* ptr, size_t bytes) override {
    *in_use_ -= bytes;
    std::free(ptr);
  }
  std::pair<size_t, size_t> memory_info() override { return {capacity_ - *in_use_, capacity_}; }
  // An event is the stream it was recorded on plus a completion flag the test sets.
  void* record_event(uintptr_t stream) override {
    events_.push_back(std::make_unique<FakeEvent>(FakeEvent{stream, false}));
    ++recorded_;
    return events_.back().get();
  }
  bool event_done(void* event) override { return static_cast<FakeEvent*>(event)->done; }
  void wait_event(void* event) override { static_cast<FakeEvent*>(event)->done = true; }
  void destroy_event(void* event) override {
    std::erase_if(events_, [&](const auto& e) { return e.get() == event; });
  }
  // Completes the work queued so far on `stream`.
  void finish(uintptr_t stream) {
    for (auto& e : events_)
      if (e->stream == stream) e->done = true;
  }
  size_t live_events() const { return events_.size(); }
  int recorded() const { return recorded_; }

 private:
  struct FakeEvent {
    uintptr_t stream;
    bool done;
  };
  size_t capacity_;
  size_t* in_use_;
  std::vector<std::unique_ptr<FakeEvent>> events_;
  int recorded_ = 0;
};

constexpr size_t MiB = 1 << 20;

}  // namespace

TEST(DeviceAllocator, ReusesBlocksOnTheSameStreamOnly) {
  size_t in_use = 0;
  CachingDeviceAllocator a(std::make_unique<FakeDevice>(64 * MiB, &in_use), "fake:0");
  EXPECT_EQ(a.allocate(0), nullptr);
  void* p = a.allocate(1000, 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % CachingDeviceAllocator::kAlignment, 0u);
  EXPECT_EQ(a.block_size(p), 1024u);
  a.free(p);
  EXPECT_EQ(a.allocate(700, 1), p);  // same stream: the cached block comes back
  EXPECT_EQ(a.stats().cache_hits, 1u);
  void* q = a.allocate(700, 2);  // another stream never gets a block used on stream 1
  EXPECT_NE(q, p);
  EXPECT_EQ(a.stats().segments, 2u);
  EXPECT_EQ(a.stats().reserved, 2 * CachingDeviceAllocator::kSmallSegment);
  EXPECT_EQ(in_use, a.stats().reserved);
  EXPECT_THROW(a.free(static_cast<char*>(q) + 8), ValueError);
}

TEST(DeviceAllocator, SplitsMergesAndEmptiesTheCache) {
  size_t in_use = 0;
  CachingDeviceAllocator a(std::make_unique<FakeDevice>(64 * MiB, &in_use), "fake:0");
  // Small requests share one 2 MiB segment, back to back.
  char* p = static_cast<char*>(a.allocate(4096));
  char* q = static_cast<char*>(a.allocate(8192));
  char* r = static_cast<char*>(a.allocate(512));
  EXPECT_EQ(q, p + 4096);
  EXPECT_EQ(r, q + 8192);
  EXPECT_EQ(a.stats().segments, 1u);
  EXPECT_EQ(a.stats().allocated, 4096u + 8192u + 512u);
  // Freeing the middle then its neighbours merges everything back into one free segment.
  a.free(q);
  a.empty_cache();  // p and r still live: the segment stays
  EXPECT_EQ(a.stats().segments, 1u);
  a.free(p);
  a.free(r);
  EXPECT_EQ(a.stats().allocated, 0u);
  // The merged block serves a request larger than any of the three.
  EXPECT_EQ(a.allocate(1 * MiB), p);
  a.free(p);
  a.empty_cache();
  EXPECT_EQ(a.stats().segments, 0u);
  EXPECT_EQ(a.stats().reserved, 0u);
  EXPECT_EQ(in_use, 0u);
  // Large requests: segments rounded to 2 MiB; a rest over 1 MiB is split off and reused.
  char* big = static_cast<char*>(a.allocate(2 * MiB + 1));
  EXPECT_EQ(a.stats().reserved, 4 * MiB);
  char* rest = static_cast<char*>(a.allocate(1 * MiB + 4096));  // large pool (> 1 MiB)
  EXPECT_EQ(rest, big + 2 * MiB + 512);
  EXPECT_EQ(a.stats().segments, 1u);
  EXPECT_EQ(a.stats().peak_allocated, a.stats().allocated);
  a.free(big);
  a.free(rest);
  a.reset_peak_stats();
  EXPECT_EQ(a.stats().peak_allocated, 0u);
  EXPECT_EQ(a.stats().allocations, a.stats().frees);
}

TEST(DeviceAllocator, OutOfMemoryFreesTheCacheThenReportsAndStaysUsable) {
  size_t in_use = 0;
  CachingDeviceAllocator a(std::make_unique<FakeDevice>(10 * MiB, &in_use), "fake:0");
  void* six = a.allocate(6 * MiB);
  void* two = a.allocate(2 * MiB);
  a.free(two);  // cached: 8 MiB reserved, 6 allocated
  // A 4 MiB segment does not fit beside 8 reserved: the cached 2 MiB segment goes back, then it fits.
  void* four = a.allocate(3 * MiB);
  EXPECT_EQ(a.stats().reserved, 10 * MiB);
  EXPECT_EQ(a.stats().out_of_memory, 0u);
  try {
    a.allocate(5 * MiB);
    FAIL() << "expected OutOfMemoryError";
  } catch (const OutOfMemoryError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("fake:0 is out of memory"), std::string::npos) << m;
    EXPECT_NE(m.find("tried to allocate 5.00 MiB"), std::string::npos) << m;
    EXPECT_NE(m.find("10.00 MiB allocated in 10.00 MiB reserved"), std::string::npos) << m;
    EXPECT_NE(m.find("0 bytes free of 10.00 MiB"), std::string::npos) << m;
  }
  EXPECT_EQ(a.stats().out_of_memory, 1u);
  a.free(four);
  void* again = a.allocate(3 * MiB);  // still works after the error
  EXPECT_NE(again, nullptr);
  a.free(again);
  a.free(six);
}

TEST(DeviceAllocator, RandomRunKeepsBlocksDisjointAndCountersExact) {
  size_t in_use = 0;
  std::mt19937 rng(7);
  {
    CachingDeviceAllocator a(std::make_unique<FakeDevice>(256 * MiB, &in_use), "fake:0");
    std::map<char*, std::pair<size_t, uint8_t>> live;  // ptr -> (size, fill byte)
    size_t allocated = 0;
    for (int i = 0; i < 4000; ++i) {
      if (live.empty() || (live.size() < 60 && rng() % 3 != 0)) {
        const size_t bytes = rng() % 4 == 0 ? 1 + rng() % (6 * MiB) : 1 + rng() % 20000;
        const runtime::StreamId stream = rng() % 2;
        char* p = static_cast<char*>(a.allocate(bytes, stream));
        const size_t size = a.block_size(p);
        ASSERT_GE(size, bytes);
        auto next = live.lower_bound(p);
        if (next != live.end()) {
          ASSERT_LE(p + size, next->first);
        }
        if (next != live.begin()) {
          ASSERT_LE(std::prev(next)->first + std::prev(next)->second.first, p);
        }
        const auto fill = static_cast<uint8_t>(rng());
        std::fill(p, p + bytes, static_cast<char>(fill));
        live[p] = {bytes, fill};
        allocated += size;
      } else {
        auto it = std::next(live.begin(), static_cast<long>(rng() % live.size()));
        for (size_t k = 0; k < it->second.first; k += 997)  // nobody else wrote into the block
          ASSERT_EQ(static_cast<uint8_t>(it->first[k]), it->second.second);
        allocated -= a.block_size(it->first);
        a.free(it->first);
        live.erase(it);
      }
      if (i % 500 == 0) a.empty_cache();
      ASSERT_EQ(a.stats().allocated, allocated);
      ASSERT_EQ(a.stats().reserved, in_use);
    }
    for (auto& [p, v] : live) a.free(p);
    EXPECT_EQ(a.stats().allocated, 0u);
    a.empty_cache();
    EXPECT_EQ(a.stats().reserved, 0u);
  }
  EXPECT_EQ(in_use, 0u);
}

TEST(DeviceAllocator, BlocksUsedOnOtherStreamsWaitForTheirEvents) {
  size_t in_use = 0;
  auto device = std::make_unique<FakeDevice>(64 * MiB, &in_use);
  FakeDevice* fake = device.get();
  CachingDeviceAllocator a(std::move(device), "fake:0");
  void* p = a.allocate(4096, 1);
  EXPECT_EQ(a.block_stream(p), 1u);
  EXPECT_TRUE(a.owns(p));
  a.record_stream(p, 1);  // its own stream: nothing to wait for
  a.record_stream(p, 2);
  a.record_stream(p, 3);
  a.record_stream(p, 2);  // recorded once per stream
  a.free(p);
  EXPECT_FALSE(a.owns(p));
  EXPECT_EQ(fake->recorded(), 2);
  EXPECT_EQ(a.stats().pending_frees, 1u);
  EXPECT_EQ(a.stats().frees, 1u);
  EXPECT_EQ(a.stats().allocated, 4096u);  // still in use by streams 2 and 3
  void* q = a.allocate(4096, 1);
  EXPECT_NE(q, p);  // not reused while stream 2's and 3's work may still touch it
  fake->finish(2);
  void* r = a.allocate(4096, 1);
  EXPECT_NE(r, p);  // stream 3 is still running
  fake->finish(3);
  void* s = a.allocate(4096, 1);  // both events done: the block is back in stream 1's cache
  EXPECT_EQ(s, p);
  EXPECT_EQ(a.stats().pending_frees, 0u);
  EXPECT_EQ(fake->live_events(), 0u);
  for (void* x : {q, r, s}) a.free(x);
  EXPECT_EQ(a.stats().allocated, 0u);
  EXPECT_THROW(a.record_stream(p, 2), ValueError);
  EXPECT_THROW(a.block_stream(p), ValueError);
}

TEST(DeviceAllocator, EmptyCacheAndOutOfMemoryWaitForPendingFrees) {
  size_t in_use = 0;
  auto device = std::make_unique<FakeDevice>(4 * MiB, &in_use);
  FakeDevice* fake = device.get();
  CachingDeviceAllocator a(std::move(device), "fake:0");
  void* p = a.allocate(3 * MiB, 1);
  a.record_stream(p, 2);
  a.free(p);
  // The device is full of a block stream 2 may still use: the allocator waits for that work,
  // returns the segment and retries instead of failing.
  void* q = a.allocate(3 * MiB, 5);
  EXPECT_NE(q, nullptr);
  EXPECT_EQ(a.stats().out_of_memory, 0u);
  EXPECT_EQ(a.stats().pending_frees, 0u);
  a.record_stream(q, 7);
  a.free(q);
  EXPECT_EQ(a.stats().pending_frees, 1u);
  a.empty_cache();  // waits for stream 7, then gives the segment back
  EXPECT_EQ(a.stats().pending_frees, 0u);
  EXPECT_EQ(a.stats().reserved, 0u);
  EXPECT_EQ(in_use, 0u);
  EXPECT_EQ(fake->live_events(), 0u);
}

TEST(DeviceAllocator, PendingEventsAreDestroyedWithTheAllocator) {
  size_t in_use = 0;
  auto device = std::make_unique<FakeDevice>(64 * MiB, &in_use);
  {
    CachingDeviceAllocator a(std::move(device), "fake:0");
    void* p = a.allocate(100, 0);
    a.record_stream(p, 9);
    a.free(p);
    EXPECT_EQ(a.stats().pending_frees, 1u);
  }
  EXPECT_EQ(in_use, 0u);
}

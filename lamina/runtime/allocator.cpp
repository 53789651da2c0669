#include "lamina/runtime/allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/core/storage.h"
#include "lamina/runtime/device_backend.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define LAMINA_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define LAMINA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define LAMINA_POISON(p, n) ((void)(p), (void)(n))
#define LAMINA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace lamina::runtime {
namespace {

constexpr int64_t kHugePage = int64_t{2} << 20;
constexpr int64_t kHugePageThreshold = int64_t{4} << 20;
constexpr int64_t kSmallLimit = 1024;                            // classes are 64-byte multiples up to here
constexpr int kSubClasses = 4;                                   // classes per power of two above kSmallLimit
constexpr int kMaxLog2 = 56;                                     // requests above 2^56 bytes are refused
constexpr int kNumClasses = 16 + (kMaxLog2 - 10) * kSubClasses;  // the last class is 2^56 bytes
constexpr int64_t kDefaultCacheLimit = int64_t{1} << 30;

int class_index(int64_t bytes) {
  if (bytes <= kSmallLimit) return static_cast<int>((bytes + 63) / 64) - 1;  // 0..15
  const int log2 = std::bit_width(static_cast<uint64_t>(bytes - 1)) - 1;     // 2^log2 < bytes <= 2^(log2+1)
  const int64_t base = int64_t{1} << log2, step = base / kSubClasses;
  const int sub = static_cast<int>((bytes - base + step - 1) / step) - 1;  // 0..3
  return 16 + (log2 - 10) * kSubClasses + sub;
}

int64_t class_bytes(int index) {
  if (index < 16) return int64_t{64} * (index + 1);
  const int log2 = 10 + (index - 16) / kSubClasses, sub = (index - 16) % kSubClasses;
  const int64_t base = int64_t{1} << log2;
  return base + base / kSubClasses * (sub + 1);
}

int64_t cache_limit_from_env() {
  if (const char* v = std::getenv("LAMINA_CPU_CACHE_LIMIT_MB")) {
    char* end = nullptr;
    const long long mb = std::strtoll(v, &end, 10);
    if (end != v && *end == '\0' && mb >= 0) return static_cast<int64_t>(mb) << 20;
  }
  return kDefaultCacheLimit;
}

// A test-and-set lock: the critical sections are a few loads and stores, so an uncontended
// acquire must cost one atomic exchange, not a pthread mutex round trip (small-op overhead).
class SpinLock {
 public:
  void lock() {
    while (flag_.exchange(true, std::memory_order_acquire)) {
      while (flag_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
    }
  }
  void unlock() { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

struct CpuCache {
  SpinLock mutex;
  MemoryStats stats;
  std::vector<void*> free_lists[kNumClasses];
  CpuCache() { stats.cache_limit_bytes = cache_limit_from_env(); }
};

CpuCache& cpu_cache() {
  static CpuCache* cache = new CpuCache();  // never destroyed: tensors may be freed at exit
  return *cache;
}

void* system_allocate(int64_t bytes) {
  // Large buffers are 2 MiB aligned and backed by transparent huge pages: first-touch page
  // faults otherwise dominate streaming ops on fresh outputs.
  const bool huge = bytes >= kHugePageThreshold;
  const int64_t size = huge ? (bytes + kHugePage - 1) / kHugePage * kHugePage : bytes;
  void* p = std::aligned_alloc(static_cast<size_t>(huge ? kHugePage : kCpuAlignment), static_cast<size_t>(size));
  if (p != nullptr && huge) madvise(p, static_cast<size_t>(size), MADV_HUGEPAGE);
  return p;
}

// Returns the newest cached buffer of size class i to the system; the caller holds the mutex.
void release_one(CpuCache& c, int i) {
  void* p = c.free_lists[i].back();
  c.free_lists[i].pop_back();
  LAMINA_UNPOISON(p, static_cast<size_t>(class_bytes(i)));
  std::free(p);
  c.stats.cached_bytes -= class_bytes(i);
  c.stats.reserved_bytes -= class_bytes(i);
}

// Frees every cached buffer; the caller holds the mutex.
void release_cached(CpuCache& c) {
  for (int i = 0; i < kNumClasses; ++i)
    while (!c.free_lists[i].empty()) release_one(c, i);
}

// Bytes the calling thread may still allocate under an AllocationBudget; -1 means no budget.
thread_local int64_t t_budget_left = -1;
// Budgets open on any thread: while none is, an allocation reads this one global instead of the
// thread-local above (which costs a __tls_get_addr call inside the dlopen'ed extension).
std::atomic<int> g_open_budgets{0};

void charge_budget(int64_t nbytes, Device device) {
  if (g_open_budgets.load(std::memory_order_relaxed) == 0 || t_budget_left < 0) return;
  LAMINA_CHECK(nbytes <= t_budget_left, OutOfMemoryError, "allocate", "allocating ", nbytes, " bytes on ", device.str(),
               " would pass the allocation budget (", t_budget_left,
               " bytes left): the sizes come from a file whose tensors do not back them");
  t_budget_left -= nbytes;
}

}  // namespace

AllocationBudget::AllocationBudget(int64_t bytes) : enclosing_(t_budget_left) {
  LAMINA_CHECK(bytes >= 0, ValueError, "AllocationBudget", "the budget must be >= 0 bytes, got ", bytes);
  start_ = enclosing_ < 0 ? bytes : std::min(enclosing_, bytes);
  t_budget_left = start_;
  g_open_budgets.fetch_add(1, std::memory_order_relaxed);
}

AllocationBudget::~AllocationBudget() {
  const int64_t used = start_ - t_budget_left;
  t_budget_left = enclosing_ < 0 ? -1 : enclosing_ - used;
  g_open_budgets.fetch_sub(1, std::memory_order_relaxed);
}

int64_t size_class_bytes(int64_t nbytes) { return class_bytes(class_index(std::max<int64_t>(nbytes, 1))); }

void* allocate(int64_t nbytes, Device device) {
  charge_budget(nbytes, device);
  if (!device.is_cpu()) {  // zero bytes get a real block too, so every tensor has a unique pointer
    check_device_available(device, "allocate");
    // The block belongs to the stream that allocates it, so it can be reused on that stream
    // without synchronizing (stream order keeps its last use ahead of the next).
    return require_device_backend(device, "allocate").allocate(std::max<int64_t>(nbytes, 1), device.index);
  }
  LAMINA_CHECK(nbytes >= 0 && nbytes <= (int64_t{1} << kMaxLog2), OutOfMemoryError, "allocate", "cannot allocate ",
               nbytes, " bytes on cpu");
  // Zero-byte tensors still get a unique, aligned, non-null pointer.
  const int index = class_index(std::max<int64_t>(nbytes, 1));
  const int64_t bytes = class_bytes(index);
  auto& c = cpu_cache();
  {
    std::lock_guard<SpinLock> lock(c.mutex);
    auto& list = c.free_lists[index];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      c.stats.cached_bytes -= bytes;
      c.stats.allocated_bytes += bytes;
      c.stats.peak_allocated_bytes = std::max(c.stats.peak_allocated_bytes, c.stats.allocated_bytes);
      c.stats.num_allocs += 1;
      c.stats.num_cache_hits += 1;
      LAMINA_UNPOISON(p, static_cast<size_t>(bytes));
      return p;
    }
  }
  {
    // A miss that would take reserved memory past twice the live peak means the sizes in
    // demand changed (training batches, then evaluation batches): give the largest idle
    // buffers back first, so reserved memory follows the live peak rather than the sum of
    // every phase's sizes. A steady loop hits the cache and stays under the bound.
    std::lock_guard<SpinLock> lock(c.mutex);
    const int64_t bound = 2 * std::max(c.stats.peak_allocated_bytes, c.stats.allocated_bytes + bytes);
    for (int i = kNumClasses - 1; i >= 0 && c.stats.reserved_bytes + bytes > bound; --i) {
      while (!c.free_lists[i].empty() && c.stats.reserved_bytes + bytes > bound) release_one(c, i);
    }
  }
  void* p = system_allocate(bytes);
  std::lock_guard<SpinLock> lock(c.mutex);
  if (p == nullptr && c.stats.cached_bytes > 0) {  // the cache may hold what the system lacks
    release_cached(c);
    p = system_allocate(bytes);
  }
  if (p == nullptr) {
    LAMINA_THROW(OutOfMemoryError, "allocate", "could not allocate ", nbytes,
                 " bytes on cpu (allocated: ", c.stats.allocated_bytes, " bytes, peak: ", c.stats.peak_allocated_bytes,
                 " bytes); free tensors or use smaller batches");
  }
  c.stats.allocated_bytes += bytes;
  c.stats.reserved_bytes += bytes;
  c.stats.peak_allocated_bytes = std::max(c.stats.peak_allocated_bytes, c.stats.allocated_bytes);
  c.stats.num_allocs += 1;
  c.stats.num_system_allocs += 1;
  return p;
}

void deallocate(void* ptr, int64_t nbytes, Device device) {
  if (ptr == nullptr) return;
  if (!device.is_cpu()) {
    require_device_backend(device, "free").deallocate(ptr, device.index);
    return;
  }
  const int index = class_index(std::max<int64_t>(nbytes, 1));
  const int64_t bytes = class_bytes(index);
  auto& c = cpu_cache();
  std::lock_guard<SpinLock> lock(c.mutex);
  c.stats.allocated_bytes -= bytes;
  c.stats.num_frees += 1;
  if (c.stats.cached_bytes + bytes <= c.stats.cache_limit_bytes) {
    c.free_lists[index].push_back(ptr);
    c.stats.cached_bytes += bytes;
    LAMINA_POISON(ptr, static_cast<size_t>(bytes));
    return;
  }
  c.stats.reserved_bytes -= bytes;
  std::free(ptr);
}

MemoryStats memory_stats(Device device) {
  if (!device.is_cpu()) return require_device_backend(device, "memory_stats").memory_stats(device.index);
  auto& c = cpu_cache();
  std::lock_guard<SpinLock> lock(c.mutex);
  return c.stats;
}

void empty_cache(Device device) {
  if (!device.is_cpu()) {
    require_device_backend(device, "empty_cache").empty_cache(device.index);
    return;
  }
  auto& c = cpu_cache();
  std::lock_guard<SpinLock> lock(c.mutex);
  release_cached(c);
}

void reset_peak_memory_stats(Device device) {
  if (!device.is_cpu()) {
    require_device_backend(device, "reset_peak_memory_stats").reset_peak_memory_stats(device.index);
    return;
  }
  auto& c = cpu_cache();
  std::lock_guard<SpinLock> lock(c.mutex);
  c.stats.peak_allocated_bytes = c.stats.allocated_bytes;
}

namespace {
// Storage (lamina/core) allocates through these from the moment the library is loaded.
const bool g_storage_allocator_installed = (set_storage_allocator({&allocate, &deallocate}), true);
}  // namespace

}  // namespace lamina::runtime

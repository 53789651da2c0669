#include "lamina/runtime/allocator.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

#include <sys/mman.h>

#include "lamina/core/error.h"

namespace lamina::runtime {
namespace {

struct CpuAllocatorState {
  std::mutex mutex;
  MemoryStats stats;
};

CpuAllocatorState& cpu_state() {
  static CpuAllocatorState state;
  return state;
}

constexpr int64_t kHugePage = 2 << 20;
constexpr int64_t kHugePageThreshold = 4 << 20;

int64_t round_up(int64_t n) { return (n + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment; }

}  // namespace

void* allocate(int64_t nbytes, Device device) {
  check_device_available(device, "allocate");
  // Zero-byte tensors still get a unique, aligned, non-null pointer.
  int64_t rounded = round_up(nbytes > 0 ? nbytes : 1);
  // Large buffers are 2 MiB aligned and backed by transparent huge pages: first-touch page
  // faults otherwise dominate streaming ops on fresh outputs.
  const bool huge = rounded >= kHugePageThreshold;
  void* p = std::aligned_alloc(huge ? kHugePage : kCpuAlignment,
                               static_cast<size_t>(huge ? (rounded + kHugePage - 1) / kHugePage * kHugePage : rounded));
  if (p != nullptr && huge) madvise(p, static_cast<size_t>(rounded), MADV_HUGEPAGE);
  auto& st = cpu_state();
  std::lock_guard<std::mutex> lock(st.mutex);
  if (p == nullptr) {
    LAMINA_THROW(OutOfMemoryError, "allocate", "could not allocate ", nbytes, " bytes on cpu (allocated: ",
                 st.stats.allocated_bytes, " bytes, peak: ", st.stats.peak_allocated_bytes,
                 " bytes); free tensors or use smaller batches");
  }
  st.stats.allocated_bytes += rounded;
  st.stats.reserved_bytes += rounded;
  st.stats.num_allocs += 1;
  if (st.stats.allocated_bytes > st.stats.peak_allocated_bytes) st.stats.peak_allocated_bytes = st.stats.allocated_bytes;
  return p;
}

void deallocate(void* ptr, int64_t nbytes, Device) {
  int64_t rounded = round_up(nbytes > 0 ? nbytes : 1);
  std::free(ptr);
  auto& st = cpu_state();
  std::lock_guard<std::mutex> lock(st.mutex);
  st.stats.allocated_bytes -= rounded;
  st.stats.reserved_bytes -= rounded;
  st.stats.num_frees += 1;
}

MemoryStats memory_stats(Device device) {
  if (!device.is_cpu()) return {};
  auto& st = cpu_state();
  std::lock_guard<std::mutex> lock(st.mutex);
  return st.stats;
}

}  // namespace lamina::runtime

#include "lamina/runtime/allocator.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

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

int64_t round_up(int64_t n) { return (n + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment; }

}  // namespace

void* allocate(int64_t nbytes, Device device) {
  check_device_available(device, "allocate");
  // Zero-byte tensors still get a unique, aligned, non-null pointer.
  int64_t rounded = round_up(nbytes > 0 ? nbytes : 1);
  void* p = std::aligned_alloc(kCpuAlignment, static_cast<size_t>(rounded));
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

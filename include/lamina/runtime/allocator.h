#pragma once
// Device memory allocation owned by the runtime, with statistics. CPU buffers come from a
// caching allocator: freed buffers wait in per-size-class free lists and serve the next
// request of the same class without a system call or fresh page faults.
#include <cstdint>
#include <string>

#include "lamina/core/device.h"

namespace lamina::runtime {

/// Alignment of every CPU buffer, in bytes.
inline constexpr int64_t kCpuAlignment = 64;

/// Counters an allocator keeps (bytes unless named otherwise).
struct MemoryStats {
  int64_t allocated_bytes = 0;       // live bytes handed out (rounded to their size class)
  int64_t peak_allocated_bytes = 0;  // high-water mark of allocated_bytes
  int64_t reserved_bytes = 0;        // bytes held from the system: allocated plus cached
  int64_t cached_bytes = 0;          // freed bytes kept for reuse
  int64_t cache_limit_bytes = 0;     // most bytes the cache keeps (LAMINA_CPU_CACHE_LIMIT_MB)
  int64_t num_allocs = 0;            // allocations served
  int64_t num_frees = 0;             // buffers returned
  int64_t num_cache_hits = 0;        // allocations served from the cache
  int64_t num_system_allocs = 0;     // allocations that went to the system
};

/// Bytes a request of `nbytes` occupies: its size class (64-byte multiples up to 1 KiB, then
/// four classes per power of two, so at most 25% is wasted).
int64_t size_class_bytes(int64_t nbytes);
/// Allocates `nbytes` on `device`; throws OutOfMemoryError with statistics on failure.
void* allocate(int64_t nbytes, Device device);
/// Returns a buffer obtained from allocate() with the same `nbytes`.
void deallocate(void* ptr, int64_t nbytes, Device device);
/// Current statistics of the allocator for `device`.
MemoryStats memory_stats(Device device);
/// Gives every cached (freed) buffer of `device` back to the system.
void empty_cache(Device device);
/// Resets peak_allocated_bytes to the current allocated_bytes.
void reset_peak_memory_stats(Device device);

/// While alive, the allocations this thread makes (any device) may take at most `bytes` in all;
/// the one that would pass it throws OutOfMemoryError. Nested budgets take the smaller limit.
/// For building objects whose sizes a file names: they get no more memory than the file backs.
class AllocationBudget {
 public:
  /// Starts a budget of `bytes` (>= 0) on the calling thread.
  explicit AllocationBudget(int64_t bytes);
  /// Ends it; an enclosing budget is charged what this one used.
  ~AllocationBudget();
  AllocationBudget(const AllocationBudget&) = delete;
  AllocationBudget& operator=(const AllocationBudget&) = delete;

 private:
  int64_t enclosing_;  // the enclosing budget's remaining bytes, or -1 for none
  int64_t start_;      // this budget's bytes at the start
};

}  // namespace lamina::runtime

#pragma once
// Device memory allocation owned by the runtime, with statistics.
#include <cstdint>
#include <string>

#include "lamina/core/device.h"

namespace lamina::runtime {

/// Alignment of every CPU buffer, in bytes.
inline constexpr int64_t kCpuAlignment = 64;

/// Counters an allocator keeps (bytes unless named otherwise).
struct MemoryStats {
  int64_t allocated_bytes = 0;       // live bytes handed out
  int64_t peak_allocated_bytes = 0;  // high-water mark of allocated_bytes
  int64_t reserved_bytes = 0;        // bytes held from the system (including caches)
  int64_t num_allocs = 0;            // allocations served
  int64_t num_frees = 0;             // buffers returned
};

/// Allocates `nbytes` on `device`; throws OutOfMemoryError with statistics on failure.
void* allocate(int64_t nbytes, Device device);
/// Returns a buffer obtained from allocate().
void deallocate(void* ptr, int64_t nbytes, Device device);
/// Current statistics of the allocator for `device`.
MemoryStats memory_stats(Device device);

}  // namespace lamina::runtime

// The CUDA backend's entry in the runtime's device table (runtime/device_backend.h), registered
// while the library loads, so the layers below the backends reach CUDA devices only through it.
#include <memory>
#include <string>

#include "lamina/cuda/copy.h"
#include "lamina/cuda/device.h"
#include "lamina/cuda/memory.h"
#include "lamina/cuda/pinned.h"
#include "lamina/cuda/stream.h"
#include "lamina/runtime/device_backend.h"

namespace lamina::cuda {

namespace {

void* allocate(int64_t nbytes, int index) {
  // The block belongs to the stream that allocates it, so it can be reused on that stream
  // without synchronizing (stream order keeps its last use ahead of the next).
  return allocator(index).allocate(static_cast<size_t>(nbytes),
                                   reinterpret_cast<runtime::StreamId>(current_stream(index)));
}

void deallocate(void* ptr, int index) { allocator(index).free(ptr); }

runtime::MemoryStats stats(int index) {
  const runtime::DeviceMemoryStats d = memory_stats(index);
  runtime::MemoryStats s;
  s.allocated_bytes = static_cast<int64_t>(d.allocated);
  s.peak_allocated_bytes = static_cast<int64_t>(d.peak_allocated);
  s.reserved_bytes = static_cast<int64_t>(d.reserved);
  s.cached_bytes = static_cast<int64_t>(d.reserved - d.allocated);
  s.num_allocs = static_cast<int64_t>(d.allocations);
  s.num_frees = static_cast<int64_t>(d.frees);
  s.num_cache_hits = static_cast<int64_t>(d.cache_hits);
  s.num_system_allocs = static_cast<int64_t>(d.allocations - d.cache_hits);
  return s;
}

void reset_peak(int index) { allocator(index).reset_peak_stats(); }

void record_use(void* ptr, int index, void* stream) {
  // Memory lamina did not allocate (imported through DLPack) is its producer's to keep alive.
  auto& a = allocator(index);
  if (a.owns(ptr)) a.record_stream(ptr, reinterpret_cast<runtime::StreamId>(stream));
}

const runtime::DeviceBackend kCudaBackend{
    .device_count = &raw_device_count,
    .current_device = &current_device,
    .set_device = &set_device,
    .current_stream = &current_stream,
    .allocate = &allocate,
    .deallocate = &deallocate,
    .memory_stats = &stats,
    .empty_cache = &empty_cache,
    .reset_peak_memory_stats = &reset_peak,
    .record_stream = &record_use,
    .copy_bytes = &copy_bytes,
    .hold_until_copied = &hold_until_copied,
    .pinned_allocate = &pinned_allocate,
    .pinned_free = &pinned_free,
    .is_pinned = &is_pinned,
    .device_name = &device_name,
    .total_memory = &device_total_memory,
    .capability = &device_capability,
};

const bool g_registered = (runtime::register_device_backend(DeviceType::CUDA, &kCudaBackend), true);

}  // namespace

}  // namespace lamina::cuda

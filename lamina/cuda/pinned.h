#pragma once
// Pinned (page-locked) host memory: a caching allocator over cudaHostAlloc. Copies from pinned
// memory can run asynchronously. A block freed while a copy queued on a stream may still use it
// is reused only after that copy completes (an event recorded by pinned_record_use). A build
// without CUDA links pinned_stub.cpp: allocation raises DeviceNotAvailableError, nothing is pinned.
#include <cstddef>
#include <cstdint>

namespace lamina::cuda {

/// Counters of the pinned host allocator (bytes unless named otherwise).
struct PinnedStats {
  /// Bytes in blocks handed out and not yet freed.
  size_t allocated = 0;
  /// Bytes held from cudaHostAlloc (allocated plus cached).
  size_t reserved = 0;
  /// Allocations served so far.
  uint64_t allocations = 0;
  /// Allocations served from cached blocks.
  uint64_t cache_hits = 0;
  /// Freed blocks still waiting for queued copies.
  uint64_t pending_frees = 0;
};

/// `bytes` of pinned host memory (sizes round up to a power of two, at least 512);
/// DeviceNotAvailableError without a CUDA device, OutOfMemoryError when the host cannot pin more.
void* pinned_allocate(size_t bytes);
/// Returns a block from pinned_allocate to the cache.
void pinned_free(void* ptr);
/// True when `ptr` points into page-locked host memory (ours or registered elsewhere).
bool is_pinned(const void* ptr);
/// Marks the pinned block holding `ptr` as used by work queued on `stream` of device `device`:
/// freeing it then waits (without blocking) for that work before the block is reused. No-op
/// for memory not from pinned_allocate.
void pinned_record_use(const void* ptr, int device, void* stream);
/// The allocator's counters.
PinnedStats pinned_stats();
/// Returns cached pinned blocks (waiting for their copies first) to the system.
void pinned_empty_cache();

}  // namespace lamina::cuda

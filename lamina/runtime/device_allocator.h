#pragma once
// A caching, stream-ordered allocator for device memory (the CUDA backend's; the logic is
// device-independent and tested on the CPU with a fake memory source). Memory comes from the
// device in segments (cudaMalloc); allocations are blocks carved out of segments, split when
// the rest is worth keeping and merged with free neighbours when freed. A freed block is reused
// only by allocations on the stream it was used on, so no synchronization is needed. A block
// also used on other streams (record_stream) is held back when freed: an event is recorded on
// each of those streams and the block returns to the cache once all of them have completed
// (polled at the next allocation). On
// out-of-memory the cached free segments go back to the device and the request is retried once;
// if it still fails, OutOfMemoryError states requested / allocated / reserved / free bytes and
// the allocator stays usable.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lamina::runtime {

/// Where a device's segments come from (cudaMalloc / cudaFree / cudaMemGetInfo on a GPU).
class DeviceMemorySource {
 public:
  virtual ~DeviceMemorySource() = default;
  /// `bytes` of device memory, or nullptr when the device has not that much free.
  virtual void* allocate(size_t bytes) = 0;
  /// Returns memory from allocate().
  virtual void release(void* ptr, size_t bytes) = 0;
  /// The device's free and total bytes.
  virtual std::pair<size_t, size_t> memory_info() = 0;
  /// An event recorded now on `stream` (a cudaEvent_t): done once the stream's queued work is.
  virtual void* record_event(uintptr_t stream) = 0;
  /// True once the work before `event` has completed (never blocks).
  virtual bool event_done(void* event) = 0;
  /// Blocks until the work before `event` has completed.
  virtual void wait_event(void* event) = 0;
  /// Destroys an event from record_event().
  virtual void destroy_event(void* event) = 0;
};

/// A stream's identity (cudaStream_t's value; 0 is the default stream).
using StreamId = uintptr_t;

/// Counters of a device allocator (bytes unless named otherwise).
struct DeviceMemoryStats {
  /// Bytes in blocks handed out and not yet freed (rounded sizes).
  size_t allocated = 0;
  /// Bytes in segments held from the device.
  size_t reserved = 0;
  /// Highest `allocated` so far.
  size_t peak_allocated = 0;
  /// Highest `reserved` so far.
  size_t peak_reserved = 0;
  /// Blocks handed out so far.
  uint64_t allocations = 0;
  /// Blocks freed so far.
  uint64_t frees = 0;
  /// Allocations served from cached blocks without asking the device.
  uint64_t cache_hits = 0;
  /// Segments currently held.
  uint64_t segments = 0;
  /// Requests the device could not satisfy even after emptying the cache.
  uint64_t out_of_memory = 0;
  /// Freed blocks waiting for work on other streams (record_stream) before they can be reused.
  uint64_t pending_frees = 0;
};

/// The caching allocator of one device (thread-safe).
class CachingDeviceAllocator {
 public:
  /// Requests at most this size come from the small pool (2 MiB segments shared by many blocks).
  static constexpr size_t kSmallSize = 1 << 20;
  /// Segment size of the small pool.
  static constexpr size_t kSmallSegment = 2 << 20;
  /// Large segments are multiples of this.
  static constexpr size_t kLargeRound = 2 << 20;
  /// Block sizes are multiples of this (and so is every block's address within a segment).
  static constexpr size_t kAlignment = 512;

  /// Carves memory from `source`; `device` names the device in errors ("cuda:0").
  CachingDeviceAllocator(std::unique_ptr<DeviceMemorySource> source, std::string device);
  /// Returns every segment to the source (blocks still allocated are leaked to the device).
  ~CachingDeviceAllocator();
  CachingDeviceAllocator(const CachingDeviceAllocator&) = delete;
  CachingDeviceAllocator& operator=(const CachingDeviceAllocator&) = delete;

  /// A block of at least `bytes` (aligned to kAlignment) for use on `stream`; nullptr for 0
  /// bytes. OutOfMemoryError when the device cannot provide it.
  void* allocate(size_t bytes, StreamId stream = 0);
  /// Returns a block to the cache of its stream (ValueError for a pointer it did not give out);
  /// a block used on other streams waits for their work first.
  void free(void* ptr);
  /// Marks the block at `ptr` as used by work queued on `stream` (besides its own), so free()
  /// keeps it from reuse until that work completes; ValueError for a pointer it did not give out.
  void record_stream(void* ptr, StreamId stream);
  /// The stream the block at `ptr` was allocated for.
  StreamId block_stream(const void* ptr) const;
  /// True when `ptr` is a block this allocator gave out and has not freed.
  bool owns(const void* ptr) const;
  /// Waits for the work pending frees wait on, then returns cached segments with no block in use
  /// to the device.
  void empty_cache();
  /// The counters.
  DeviceMemoryStats stats() const;
  /// Resets the peaks to the current values.
  void reset_peak_stats();
  /// The usable size of a block given out (its rounded size).
  size_t block_size(const void* ptr) const;

 private:
  struct Block;
  struct BySize {
    bool operator()(const Block* a, const Block* b) const;
  };
  using FreeSet = std::set<Block*, BySize>;

  Block* find_free(FreeSet& pool, size_t size, StreamId stream);
  Block* new_segment(size_t segment_size, size_t request, StreamId stream, bool small);
  void release_free_segments();
  FreeSet& pool_of(const Block* b);
  void free_block(Block* block);
  void process_events(bool wait);

  std::unique_ptr<DeviceMemorySource> source_;
  std::string device_;
  mutable std::mutex mutex_;
  FreeSet small_free_, large_free_;
  std::unordered_map<const void*, Block*> active_;
  std::set<Block*> segments_;  // the first block of each segment
  std::vector<std::pair<void*, Block*>> pending_;  // events a freed block waits on
  DeviceMemoryStats stats_;
};

}  // namespace lamina::runtime

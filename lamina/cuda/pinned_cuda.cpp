// Pinned host memory through the CUDA runtime (host code only): a caching allocator over
// cudaHostAlloc, whose blocks wait for the copies recorded on them before reuse.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <bit>
#include <map>
#include <mutex>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/cuda/device.h"
#include "lamina/runtime/config.h"
#include "lamina/cuda/pinned.h"

namespace lamina::cuda {

namespace {

struct HostBlock {
  size_t size = 0;
  bool allocated = false;
  std::vector<cudaEvent_t> events;  // copies queued on streams that use the block
};

struct PinnedCache {
  std::mutex mutex;
  std::map<const char*, HostBlock> blocks;  // by address, to find the block holding a pointer
  std::multimap<size_t, char*> free;        // cached blocks by size
  std::vector<char*> pending;               // freed blocks whose events have not all completed
  PinnedStats stats;
};

PinnedCache& cache() {
  static auto* c = new PinnedCache();  // never destroyed: tensors may be freed at exit
  return *c;
}

// The block holding `p`, or blocks.end(); the caller holds the mutex.
std::map<const char*, HostBlock>::iterator find_block(PinnedCache& c, const void* p) {
  const char* q = static_cast<const char*>(p);
  auto it = c.blocks.upper_bound(q);
  if (it == c.blocks.begin()) return c.blocks.end();
  --it;
  return q < it->first + it->second.size ? it : c.blocks.end();
}

// Moves freed blocks whose copies have completed to the cache (waiting for them when `wait`);
// the caller holds the mutex.
void process_pending(PinnedCache& c, bool wait) {
  size_t kept = 0;
  for (char* p : c.pending) {
    HostBlock& b = c.blocks.at(p);
    size_t left = 0;
    for (cudaEvent_t e : b.events) {
      const cudaError_t status = wait ? cudaEventSynchronize(e) : cudaEventQuery(e);
      if (status == cudaErrorNotReady) {
        b.events[left++] = e;
        continue;
      }
      if (status != cudaSuccess) cudaGetLastError();
      cudaEventDestroy(e);
    }
    b.events.resize(left);
    if (left) {
      c.pending[kept++] = p;
    } else {
      c.free.emplace(b.size, p);
      --c.stats.pending_frees;
    }
  }
  c.pending.resize(kept);
}

size_t round_size(size_t bytes) { return std::bit_ceil(std::max<size_t>(bytes, 512)); }

}  // namespace

void* pinned_allocate(size_t bytes) {
  LAMINA_CHECK(cuda_device_count() > 0, DeviceNotAvailableError, "pin_memory",
               "pinned memory needs a usable CUDA device and none is (or LAMINA_FORCE_CPU is set)");
  const size_t size = round_size(bytes);
  auto& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  if (!c.pending.empty()) process_pending(c, false);
  ++c.stats.allocations;
  if (auto it = c.free.find(size); it != c.free.end()) {
    char* p = it->second;
    c.free.erase(it);
    c.blocks.at(p).allocated = true;
    c.stats.allocated += size;
    ++c.stats.cache_hits;
    return p;
  }
  void* p = nullptr;
  cudaError_t status = cudaHostAlloc(&p, size, cudaHostAllocPortable);
  if (status != cudaSuccess && !c.free.empty()) {
    // Cached blocks of other sizes may be what the host is missing: give them back, retry once.
    cudaGetLastError();
    for (auto& [s, q] : c.free) {
      cudaFreeHost(q);
      c.blocks.erase(q);
      c.stats.reserved -= s;
    }
    c.free.clear();
    status = cudaHostAlloc(&p, size, cudaHostAllocPortable);
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    --c.stats.allocations;
    LAMINA_THROW(OutOfMemoryError, "pin_memory", "cannot allocate ", size, " bytes of pinned host memory (",
                 cudaGetErrorString(status), "); lamina holds ", c.stats.reserved, " bytes pinned");
  }
  c.blocks.emplace(static_cast<char*>(p), HostBlock{size, true, {}});
  c.stats.allocated += size;
  c.stats.reserved += size;
  return p;
}

void pinned_free(void* ptr) {
  if (!ptr) return;
  auto& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.blocks.find(static_cast<char*>(ptr));
  LAMINA_CHECK(it != c.blocks.end() && it->second.allocated, ValueError, "pinned_free",
               "pointer was not allocated by the pinned host allocator");
  HostBlock& b = it->second;
  b.allocated = false;
  c.stats.allocated -= b.size;
  if (b.events.empty()) {
    c.free.emplace(b.size, static_cast<char*>(ptr));
  } else {
    c.pending.push_back(static_cast<char*>(ptr));
    ++c.stats.pending_frees;
  }
}

bool is_pinned(const void* ptr) {
  if (!ptr) return false;
  {
    auto& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (find_block(c, ptr) != c.blocks.end()) return true;
  }
  // Memory pinned by another library (imported through DLPack, cudaHostRegister'ed).
  if (raw_device_count() == 0) return false;
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, ptr) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attributes.type == cudaMemoryTypeHost;
}

void pinned_record_use(const void* ptr, int device, void* stream) {
  auto& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = find_block(c, ptr);
  if (it == c.blocks.end()) return;
  int previous = 0;
  cudaGetDevice(&previous);
  cudaSetDevice(device);
  cudaEvent_t e = nullptr;
  cudaError_t status = cudaEventCreateWithFlags(&e, cudaEventDisableTiming);
  if (status == cudaSuccess) status = cudaEventRecord(e, static_cast<cudaStream_t>(stream));
  cudaSetDevice(previous);
  if (status != cudaSuccess) {
    cudaGetLastError();
    if (e) cudaEventDestroy(e);
    LAMINA_THROW(KernelError, "pin_memory", "cannot record a CUDA event on cuda:", device, ": ",
                 cudaGetErrorString(status));
  }
  it->second.events.push_back(e);
}

PinnedStats pinned_stats() {
  auto& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void pinned_empty_cache() {
  auto& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  if (!c.pending.empty()) process_pending(c, true);
  for (auto& [s, q] : c.free) {
    cudaFreeHost(q);
    c.blocks.erase(q);
    c.stats.reserved -= s;
  }
  c.free.clear();
}

}  // namespace lamina::cuda

// Pinned host memory in a build without CUDA: nothing can be pinned.
#include "lamina/core/error.h"
#include "lamina/cuda/pinned.h"

namespace lamina::cuda {

void* pinned_allocate(size_t) {
  LAMINA_THROW(DeviceNotAvailableError, "pin_memory",
               "pinned memory needs a CUDA device: this build of lamina has no CUDA backend");
}

void pinned_free(void* ptr) {
  LAMINA_CHECK(ptr == nullptr, ValueError, "pinned_free", "pointer was not allocated by the pinned host allocator");
}

bool is_pinned(const void*) { return false; }

void pinned_record_use(const void*, int, void*) {}

PinnedStats pinned_stats() { return {}; }

void pinned_empty_cache() {}

}  // namespace lamina::cuda

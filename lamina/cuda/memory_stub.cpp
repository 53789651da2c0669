// Device memory in a build without CUDA: there is no device to allocate on.
#include "lamina/core/error.h"
#include "lamina/cuda/memory.h"

namespace lamina::cuda {

namespace {
[[noreturn]] void unavailable(const char* op, int index) {
  LAMINA_THROW(DeviceNotAvailableError, op, "cuda:", index,
               " is not available: this build of lamina has no CUDA backend");
}
}  // namespace

runtime::CachingDeviceAllocator& allocator(int index) { unavailable("cuda.allocator", index); }
runtime::DeviceMemoryStats memory_stats(int index) { unavailable("cuda.memory_stats", index); }
void empty_cache(int index) { unavailable("cuda.empty_cache", index); }

}  // namespace lamina::cuda

// Device memory through the CUDA runtime: segments from cudaMalloc, carved by the caching
// allocator (host code only).
#include <cuda_runtime_api.h>

#include <array>
#include <memory>
#include <mutex>

#include "lamina/core/error.h"
#include "lamina/cuda/device.h"
#include "lamina/cuda/memory.h"
#include "lamina/runtime/config.h"

namespace lamina::cuda {

namespace {

// Runs `fn` with `index` as the current device, restoring the caller's.
template <class Fn>
auto on_device(int index, Fn fn) {
  int previous = 0;
  cudaGetDevice(&previous);
  cudaSetDevice(index);
  auto result = fn();
  cudaSetDevice(previous);
  return result;
}

class CudaMemorySource : public runtime::DeviceMemorySource {
 public:
  explicit CudaMemorySource(int index) : index_(index) {}
  void* allocate(size_t bytes) override {
    return on_device(index_, [&]() -> void* {
      void* p = nullptr;
      if (cudaMalloc(&p, bytes) != cudaSuccess) {
        cudaGetLastError();  // an out-of-memory is reported by the allocator, not left sticky
        return nullptr;
      }
      return p;
    });
  }
  void release(void* ptr, size_t) override {
    on_device(index_, [&] { return cudaFree(ptr); });
  }
  std::pair<size_t, size_t> memory_info() override {
    return on_device(index_, [&] {
      size_t free_bytes = 0, total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) cudaGetLastError();
      return std::pair<size_t, size_t>{free_bytes, total_bytes};
    });
  }
  void* record_event(uintptr_t stream) override {
    return on_device(index_, [&]() -> void* {
      cudaEvent_t e = nullptr;
      cudaError_t status = cudaEventCreateWithFlags(&e, cudaEventDisableTiming);
      if (status == cudaSuccess) status = cudaEventRecord(e, reinterpret_cast<cudaStream_t>(stream));
      if (status != cudaSuccess) {
        cudaGetLastError();
        if (e) cudaEventDestroy(e);
        LAMINA_THROW(KernelError, "record_stream", "cannot record a CUDA event on cuda:", index_, ": ",
                     cudaGetErrorString(status));
      }
      return e;
    });
  }
  bool event_done(void* event) override {
    const cudaError_t status = cudaEventQuery(static_cast<cudaEvent_t>(event));
    if (status == cudaSuccess) return true;
    cudaGetLastError();
    // An error other than "not ready" means the device faulted: the work will never use the block.
    return status != cudaErrorNotReady;
  }
  void wait_event(void* event) override {
    if (cudaEventSynchronize(static_cast<cudaEvent_t>(event)) != cudaSuccess) cudaGetLastError();
  }
  void destroy_event(void* event) override { cudaEventDestroy(static_cast<cudaEvent_t>(event)); }

 private:
  int index_;
};

constexpr int kMaxDevices = 64;

}  // namespace

runtime::CachingDeviceAllocator& allocator(int index) {
  const int n = raw_device_count();
  LAMINA_CHECK(index >= 0 && index < n && index < kMaxDevices, DeviceNotAvailableError, "cuda.allocator",
               "cuda:", index, " is not available (", n, " CUDA device(s) found)");
  // Never destroyed: tensors freed during static destruction still return their blocks.
  static auto* allocators = new std::array<std::unique_ptr<runtime::CachingDeviceAllocator>, kMaxDevices>();
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = (*allocators)[static_cast<size_t>(index)];
  if (!slot)
    slot = std::make_unique<runtime::CachingDeviceAllocator>(std::make_unique<CudaMemorySource>(index),
                                                             "cuda:" + std::to_string(index));
  return *slot;
}

namespace {

// The queries see the usable devices (LAMINA_FORCE_CPU hides the GPUs); allocator() itself does
// not, so blocks allocated before the variable was set can still be freed.
void check_usable(const char* op, int index) {
  const int n = cuda_device_count();
  LAMINA_CHECK(index >= 0 && index < n, DeviceNotAvailableError, op, "cuda:", index, " is not available (", n,
               " CUDA device(s) usable)");
}

}  // namespace

runtime::DeviceMemoryStats memory_stats(int index) {
  check_usable("cuda.memory_stats", index);
  return allocator(index).stats();
}

void empty_cache(int index) {
  check_usable("cuda.empty_cache", index);
  allocator(index).empty_cache();
}

}  // namespace lamina::cuda

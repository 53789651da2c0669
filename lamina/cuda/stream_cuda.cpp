// Current device and stream through the CUDA runtime (host code only).
#include <cuda_runtime_api.h>

#include "lamina/core/error.h"
#include "lamina/cuda/stream.h"

namespace lamina::cuda {

int current_device() {
  int index = 0;
  cudaGetDevice(&index);
  return index;
}

void set_device(int index) {
  const cudaError_t status = cudaSetDevice(index);
  if (status != cudaSuccess) {
    cudaGetLastError();
    LAMINA_THROW(DeviceNotAvailableError, "cuda.set_device", "cannot select cuda:", index, ": ",
                 cudaGetErrorString(status));
  }
}

void* current_stream(int) { return nullptr; }

void check_kernel_launch(const char* op) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    LAMINA_THROW(KernelError, op, "CUDA kernel launch failed: ", cudaGetErrorName(status), " (",
                 cudaGetErrorString(status), ")");
}

DeviceGuard::DeviceGuard(int index) : previous_(current_device()) {
  if (index != previous_) set_device(index);
}

DeviceGuard::~DeviceGuard() {
  int now = 0;
  cudaGetDevice(&now);
  if (now != previous_) cudaSetDevice(previous_);
}

}  // namespace lamina::cuda

// Copies through the CUDA runtime (host code only). cudaMemcpyDefault lets unified addressing
// tell host from device pointers, so one call covers every direction.
#include <cuda_runtime_api.h>

#include "lamina/core/error.h"
#include "lamina/cuda/copy.h"

namespace lamina::cuda {

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes, bool non_blocking) {
  if (bytes == 0) return;
  const Device active = dst_device.is_cuda() ? dst_device : src_device;
  int previous = 0;
  cudaGetDevice(&previous);
  cudaSetDevice(active.index);
  cudaError_t status = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, nullptr);
  if (status == cudaSuccess && !non_blocking) status = cudaStreamSynchronize(nullptr);
  cudaSetDevice(previous);
  if (status != cudaSuccess) {
    cudaGetLastError();
    LAMINA_THROW(KernelError, "to", "copy from ", src_device.str(), " to ", dst_device.str(),
                 " failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
  }
}

}  // namespace lamina::cuda

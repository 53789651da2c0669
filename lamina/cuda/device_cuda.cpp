// The CUDA API through the CUDA runtime (host code only: no device code in this file).
#include <cuda_runtime_api.h>

#include <mutex>

#include "lamina/core/error.h"
#include "lamina/cuda/device.h"
#include "lamina/runtime/config.h"

namespace lamina::cuda {

namespace {

// The runtime reports "no driver" / "no device" as errors; for the count they mean zero. The
// first answer is kept: the device set of a process does not change.
int count_devices() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return n;
}

// Counts usable devices: LAMINA_FORCE_CPU hides the GPUs from these queries as from tensors.
void check_index(const char* op, int index) {
  const int n = cuda_device_count();
  LAMINA_CHECK(index >= 0 && index < n, DeviceNotAvailableError, op, "cuda:", index, " is not available (", n,
               " CUDA device(s) usable)");
}

void check(cudaError_t status, const char* op, int index) {
  if (status == cudaSuccess) return;
  LAMINA_THROW(KernelError, op, "CUDA error on cuda:", index, ": ", cudaGetErrorName(status), " (",
               cudaGetErrorString(status), ")");
}

cudaDeviceProp properties(const char* op, int index) {
  check_index(op, index);
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), op, index);
  return prop;
}

}  // namespace

bool built() { return true; }

int raw_device_count() {
  static int n = count_devices();
  return n;
}

std::string device_name(int index) { return properties("cuda.get_device_name", index).name; }

int64_t device_total_memory(int index) {
  return static_cast<int64_t>(properties("cuda.get_device_properties", index).totalGlobalMem);
}

int device_capability(int index) {
  const cudaDeviceProp prop = properties("cuda.get_device_capability", index);
  return prop.major * 10 + prop.minor;
}

void synchronize(int index) {
  check_index("cuda.synchronize", index);
  int previous = 0;
  check(cudaGetDevice(&previous), "cuda.synchronize", index);
  check(cudaSetDevice(index), "cuda.synchronize", index);
  const cudaError_t status = cudaDeviceSynchronize();
  cudaSetDevice(previous);
  check(status, "cuda.synchronize", index);
}

std::string runtime_version() {
  int v = 0;
  if (cudaRuntimeGetVersion(&v) != cudaSuccess) return "";
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

}  // namespace lamina::cuda

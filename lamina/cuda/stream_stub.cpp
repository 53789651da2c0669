// Current device and stream of a build without CUDA: device 0, no streams, nothing to check.
#include "lamina/core/error.h"
#include "lamina/cuda/stream.h"

namespace lamina::cuda {

int current_device() { return 0; }

void set_device(int index) {
  LAMINA_THROW(DeviceNotAvailableError, "cuda.set_device", "cuda:", index,
               " is not available: this build of lamina has no CUDA backend");
}

void* current_stream(int) { return nullptr; }

void check_kernel_launch(const char*) {}

DeviceGuard::DeviceGuard(int index) : previous_(0) {
  if (index != 0) set_device(index);
}

DeviceGuard::~DeviceGuard() = default;

}  // namespace lamina::cuda

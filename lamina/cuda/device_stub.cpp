// The CUDA API of a build without the CUDA toolkit: no devices, and a clear error naming the op
// for anything that needs one.
#include "lamina/core/error.h"
#include "lamina/cuda/device.h"

namespace lamina::cuda {

namespace {
[[noreturn]] void unavailable(const char* op, int index) {
  LAMINA_THROW(DeviceNotAvailableError, op, "cuda:", index,
               " is not available: this build of lamina has no CUDA backend (configure with LAMINA_CUDA=ON "
               "where the CUDA toolkit is installed)");
}
}  // namespace

bool built() { return false; }
int raw_device_count() { return 0; }
std::string device_name(int index) { unavailable("cuda.get_device_name", index); }
int64_t device_total_memory(int index) { unavailable("cuda.get_device_properties", index); }
int device_capability(int index) { unavailable("cuda.get_device_capability", index); }
void synchronize(int index) { unavailable("cuda.synchronize", index); }
std::string runtime_version() { return ""; }

}  // namespace lamina::cuda

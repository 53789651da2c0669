// Copies in a build without CUDA: there is no device to copy to or from.
#include "lamina/core/error.h"
#include "lamina/cuda/copy.h"

namespace lamina::cuda {

void copy_bytes(void*, Device dst_device, const void*, Device src_device, size_t, bool) {
  LAMINA_THROW(DeviceNotAvailableError, "to", "no copy from ", src_device.str(), " to ", dst_device.str(),
               ": this build of lamina has no CUDA backend");
}

}  // namespace lamina::cuda

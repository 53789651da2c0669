// Copies in a build without CUDA: there is no device to copy to or from.
#include "lamina/core/error.h"
#include "lamina/cuda/copy.h"

namespace lamina::cuda {

namespace {
[[noreturn]] void unavailable(Device dst_device, Device src_device) {
  LAMINA_THROW(DeviceNotAvailableError, "to", "no copy from ", src_device.str(), " to ", dst_device.str(),
               ": this build of lamina has no CUDA backend");
}
}  // namespace

void copy_bytes(void*, Device dst_device, const void*, Device src_device, size_t, bool) {
  unavailable(dst_device, src_device);
}

void hold_until_copied(std::shared_ptr<const void>, Device dst_device, Device src_device) {
  unavailable(dst_device, src_device);
}

}  // namespace lamina::cuda

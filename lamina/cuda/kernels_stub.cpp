// A build without CUDA registers no CUDA kernels: ops on a CUDA tensor cannot be reached (creating
// one raises DeviceNotAvailableError), and a lookup raises NotImplementedError naming the op.
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {

void register_all() {}

}  // namespace lamina::kernels::cuda

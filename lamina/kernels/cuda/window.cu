#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {

void register_window_kernels() {}

}  // namespace lamina::kernels::cuda

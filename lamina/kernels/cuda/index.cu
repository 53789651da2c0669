#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {

void register_index_kernels() {}

}  // namespace lamina::kernels::cuda

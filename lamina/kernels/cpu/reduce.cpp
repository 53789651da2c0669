// Placeholder until the reduce kernels land.
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {

void register_reduce_kernels() {}

}  // namespace lamina::kernels::cpu

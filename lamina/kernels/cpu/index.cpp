// Placeholder until the index kernels land.
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {

void register_index_kernels() {}

}  // namespace lamina::kernels::cpu

// Placeholder until the linalg kernels land.
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {

void register_linalg_kernels() {}

}  // namespace lamina::kernels::cpu

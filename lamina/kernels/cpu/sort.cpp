// Placeholder until the sort kernels land.
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {

void register_sort_kernels() {}

}  // namespace lamina::kernels::cpu

// Placeholder until the Highway kernels land.
#include <string>

#include "lamina/kernels/cpu/register.h"
#include "lamina/runtime/blas.h"

namespace lamina::kernels::cpu {

void register_simd_kernels() {}

}  // namespace lamina::kernels::cpu

namespace lamina::runtime {
std::string simd_target_name() { return "scalar"; }
}  // namespace lamina::runtime

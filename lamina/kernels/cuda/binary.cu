// Binary elementwise ops on the GPU (arithmetic, comparisons, bitwise, logical): the
// functors.cuh table through the elementwise driver.
#include "lamina/kernels/cuda/elementwise_register.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {
LAMINA_CUDA_BINARY_TABLE(LAMINA_CUDA_TABLE_LABEL)
}  // namespace

void register_binary_kernels() { LAMINA_CUDA_BINARY_TABLE(LAMINA_CUDA_TABLE_REGISTER) }

}  // namespace lamina::kernels::cuda

// Binary elementwise ops on the GPU (arithmetic, comparisons, bitwise, logical): the
// rows of kernels/elementwise_table.h through the elementwise driver.
#include "lamina/kernels/cuda/elementwise_register.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {
LAMINA_BINARY_TABLE(LAMINA_CUDA_TABLE_LABEL)
}  // namespace

void register_binary_kernels() { LAMINA_BINARY_TABLE(LAMINA_CUDA_REGISTER_BINARY) }

}  // namespace lamina::kernels::cuda

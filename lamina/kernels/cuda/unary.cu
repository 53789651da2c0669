// Unary elementwise ops on the GPU: the rows of kernels/elementwise_table.h through the elementwise driver.
#include "lamina/kernels/cuda/elementwise_register.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {
LAMINA_UNARY_TABLE(LAMINA_CUDA_TABLE_LABEL)
}  // namespace

void register_unary_kernels() { LAMINA_UNARY_TABLE(LAMINA_CUDA_REGISTER_UNARY) }

}  // namespace lamina::kernels::cuda

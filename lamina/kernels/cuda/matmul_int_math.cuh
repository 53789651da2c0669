#pragma once
// One element of an integer matrix product (matmul_int.cu), host-compilable for the CPU emulation
// in tests/cpp/cuda/test_cuda_matmul_int.cpp. Products are summed in uint64_t as the CPU kernel
// does (lamina/kernels/cpu/linalg.cpp): the sum wraps like two's complement int64 without UB,
// and modular sums do not depend on the order, so the device matches the CPU bit for bit.
#include <cstdint>

#include "lamina/kernels/cuda/common.cuh"

namespace lamina::kernels::cuda {

/// sum_p a[p * a_step] * b[p * b_step] over k terms, wrapped to T.
template <class T>
LAMINA_HD inline T int_dot(const T* a, int64_t a_step, const T* b, int64_t b_step, int64_t k) {
  uint64_t acc = 0;
  for (int64_t p = 0; p < k; ++p)
    acc += static_cast<uint64_t>(static_cast<int64_t>(a[p * a_step])) *
           static_cast<uint64_t>(static_cast<int64_t>(b[p * b_step]));
  return static_cast<T>(acc);
}

}  // namespace lamina::kernels::cuda

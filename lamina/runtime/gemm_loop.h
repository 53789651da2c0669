#pragma once
// Geometry of a batched matrix product C[b] = A[b] @ B[b] handed to GEMM kernels.
#include <cstdint>

namespace lamina::runtime {

/// Matrices are given by element strides (row, column); batch b starts at the byte offsets
/// a_offsets[b] / b_offsets[b] and at c + b * m * n elements (C is contiguous).
struct GemmLoop {
  int64_t batch = 1;
  int64_t m = 0, n = 0, k = 0;
  const char* a = nullptr;
  const char* b = nullptr;
  char* c = nullptr;
  const int64_t* a_offsets = nullptr;  // bytes
  const int64_t* b_offsets = nullptr;  // bytes
  int64_t a_rs = 0, a_cs = 0;          // elements
  int64_t b_rs = 0, b_cs = 0;          // elements
};

}  // namespace lamina::runtime

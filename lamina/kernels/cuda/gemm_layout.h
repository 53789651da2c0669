#pragma once
// How a row-major product C = A @ B given by element strides maps onto cuBLASLt's column-major
// GEMM: the column-major view of row-major C (m x n) is C^T (n x m) = B^T A^T, so cuBLASLt's
// first operand is B and its second is A. Pure functions, tested on the host.
#include <algorithm>
#include <cstdint>
#include <optional>

namespace lamina::cuda {

/// One cuBLASLt operand: a column-major stored matrix (rows x cols, leading dimension ld) used
/// as is (trans false) or transposed.
struct LtOperand {
  bool trans = false;
  int64_t rows = 0, cols = 0, ld = 0;
};

/// A column-major GEMM D (m x n, leading dimension ldc) = op(a) (m x k) @ op(b) (k x n).
struct LtGemm {
  LtOperand a, b;
  int64_t m = 0, n = 0, k = 0, ldc = 0;
};

/// The operand that presents X^T (cols x rows) to cuBLASLt for a row-major r x c matrix X with
/// element strides (rs, cs); nullopt when neither stride is a usable unit stride (the caller
/// must make X contiguous). Strides of size-1 dims do not matter and leading dimensions are
/// raised to the minimum cuBLASLt accepts where they are never stepped over.
inline std::optional<LtOperand> lt_transposed_operand(int64_t r, int64_t c, int64_t rs, int64_t cs) {
  const int64_t rows_min = std::max<int64_t>(1, c);
  if ((c == 1 || cs == 1) && (r == 1 || rs >= rows_min)) {
    // X^T(j, i) = X[i * rs + j]: column-major c x r with ld rs, used as is.
    return LtOperand{false, c, r, r == 1 ? rows_min : rs};
  }
  const int64_t ld_min = std::max<int64_t>(1, r);
  if ((r == 1 || rs == 1) && (c == 1 || cs >= ld_min)) {
    // X(i, j) = X[i + j * cs]: X itself is column-major r x c with ld cs; cuBLASLt transposes it.
    return LtOperand{true, r, c, c == 1 ? ld_min : cs};
  }
  return std::nullopt;
}

/// cuBLASLt's view of the row-major C (m x n, contiguous) = A (m x k, strides a_rs, a_cs) @
/// B (k x n, strides b_rs, b_cs); nullopt when an operand needs a copy first.
inline std::optional<LtGemm> lt_layout(int64_t m, int64_t n, int64_t k, int64_t a_rs, int64_t a_cs, int64_t b_rs,
                                       int64_t b_cs) {
  const auto first = lt_transposed_operand(k, n, b_rs, b_cs);   // B^T: n x k
  const auto second = lt_transposed_operand(m, k, a_rs, a_cs);  // A^T: k x m
  if (!first || !second) return std::nullopt;
  return LtGemm{*first, *second, n, m, k, std::max<int64_t>(1, n)};
}

/// True when the byte offsets of a batch step uniformly; `stride` gets the step (0 for one entry).
inline bool uniform_offsets(const int64_t* offsets, int64_t batch, int64_t& stride) {
  stride = batch > 1 ? offsets[1] - offsets[0] : 0;
  for (int64_t i = 1; i < batch; ++i)
    if (offsets[i] - offsets[i - 1] != stride) return false;
  return true;
}

}  // namespace lamina::cuda

#pragma once
// Fused layer normalization over the last `d` elements of each row: one pass for the
// statistics and one to write (forward); one pass per row for the input gradient with the
// weight and bias gradients summed per fixed chunk of rows (backward).
#include <cstdint>

namespace lamina::kernels {

/// Rows of `d` contiguous elements; mean / rstd hold one value per row in the compute type
/// (float for 16- and 32-bit inputs, double for float64).
struct LayerNormArgs {
  int64_t d = 0;
  double eps = 0;
  bool has_weight = false, has_bias = false;
  /// Residual form (CPU kernel only; null elsewhere): the rows normalized are x + residual,
  /// written to `sum` (same layout as x) in the same pass.
  const void* residual = nullptr;
  void* sum = nullptr;
};

/// Rows whose weight / bias gradients one backward part sums (fixed, so the sums do not depend
/// on the thread count).
inline constexpr int64_t kLayerNormChunk = 32;

/// Forward over rows [begin, end): y = (x - mean) * rstd * weight + bias, saving mean and rstd.
using LayerNormKernel = void (*)(const LayerNormArgs&, const void* x, const void* weight, const void* bias, void* y,
                                 void* mean, void* rstd, int64_t begin, int64_t end);
/// Backward over chunks [begin, end) of kLayerNormChunk rows (`rows` in all): dx for each row,
/// and per chunk the partial weight / bias gradients (rows of `d` in the compute type).
using LayerNormBackwardKernel = void (*)(const LayerNormArgs&, int64_t rows, const void* dy, const void* x,
                                         const void* weight, const void* mean, const void* rstd, void* dx,
                                         void* dweight_parts, void* dbias_parts, int64_t begin, int64_t end);

}  // namespace lamina::kernels

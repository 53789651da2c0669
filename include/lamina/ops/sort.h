#pragma once
// Sorting along a dim: sort, argsort, topk; and the values/indices pair they (and max/min
// along a dim) return.
#include <cstdint>

#include "lamina/core/tensor.h"

namespace lamina {

/// A values/indices pair (max/min along a dim, sort, topk); indices are int64.
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};

/// Stable sort along dim; NaN sorts as the largest value (first when descending).
ValuesIndices sort(const Tensor& x, int64_t dim = -1, bool descending = false);
/// Indices that stably sort x along dim.
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
/// The k largest (or smallest) elements along dim and their indices, always sorted (ties keep
/// their order; `sorted` is accepted for PyTorch compatibility).
ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

}  // namespace lamina

#pragma once
// Reductions along any dims with keepdim, scans, softmax, sorting.
#include <optional>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina {

/// Dims to reduce; nullopt (or an empty list, as in PyTorch) reduces over all dims.
using DimList = std::optional<std::vector<int64_t>>;

/// A values/indices pair (max/min with dim, sort, topk).
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};

/// Sum; bool/integer inputs give int64 unless dtype is given.
Tensor sum(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false, std::optional<Dtype> dtype = std::nullopt);
/// Mean of a floating tensor (or of any tensor with a floating dtype given).
Tensor mean(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false, std::optional<Dtype> dtype = std::nullopt);
/// Product; bool/integer inputs give int64 unless dtype is given.
Tensor prod(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false, std::optional<Dtype> dtype = std::nullopt);
/// Maximum over dims (NaN propagates).
Tensor amax(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false);
/// Minimum over dims (NaN propagates).
Tensor amin(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false);
/// Maximum of all elements (0-d).
Tensor max(const Tensor& x);
/// Maximum along dim with the index of its first occurrence.
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
/// Minimum of all elements (0-d).
Tensor min(const Tensor& x);
/// Minimum along dim with the index of its first occurrence.
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
/// Index of the maximum (over the flattened tensor when dim is nullopt).
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
/// Index of the minimum (over the flattened tensor when dim is nullopt).
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
/// Variance with Bessel-style correction (default 1).
Tensor var(const Tensor& x, DimList dims = std::nullopt, double correction = 1.0, bool keepdim = false);
/// Standard deviation with correction (default 1).
Tensor std(const Tensor& x, DimList dims = std::nullopt, double correction = 1.0, bool keepdim = false);
/// log(sum(exp(x))) computed stably.
Tensor logsumexp(const Tensor& x, DimList dims, bool keepdim = false);
/// Vector p-norm (p = 2 default; inf, -inf, 0, 1 and any other p).
Tensor norm(const Tensor& x, double p = 2.0, DimList dims = std::nullopt, bool keepdim = false);
/// True where all elements (along dims) are nonzero.
Tensor all(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false);
/// True where any element (along dims) is nonzero.
Tensor any(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false);
/// Cumulative sum along dim.
Tensor cumsum(const Tensor& x, int64_t dim, std::optional<Dtype> dtype = std::nullopt);
/// Cumulative product along dim.
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<Dtype> dtype = std::nullopt);
/// softmax along dim (computed in dtype when given).
Tensor softmax(const Tensor& x, int64_t dim, std::optional<Dtype> dtype = std::nullopt);
/// log_softmax along dim (computed in dtype when given).
Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<Dtype> dtype = std::nullopt);
/// Stable sort along dim; NaN sorts as the largest value.
ValuesIndices sort(const Tensor& x, int64_t dim = -1, bool descending = false);
/// Indices that sort x along dim.
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
/// The k largest (or smallest) elements along dim, sorted.
ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

}  // namespace lamina

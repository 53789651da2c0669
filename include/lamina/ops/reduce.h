#pragma once
// Reductions along any dims with keepdim, scans (cumsum/cumprod) and softmax. Floating sums
// are computed in a fixed order that depends only on the shape, so results are reproducible.
#include <optional>
#include <vector>

#include "lamina/core/tensor.h"
#include "lamina/ops/sort.h"

namespace lamina {

/// Dims to reduce; nullopt (or an empty list, as in PyTorch) reduces over all dims.
using DimList = std::optional<std::vector<int64_t>>;

/// `grad` summed over the dims `shape` was broadcast along, so it has `shape` (the gradient of an
/// expand; PyTorch's Tensor.sum_to_size).
Tensor sum_to(const Tensor& grad, const Shape& shape);
/// Sum; bool/integer inputs give int64 unless dtype is given (empty: 0).
Tensor sum(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false,
           std::optional<Dtype> dtype = std::nullopt);
/// Mean of a floating tensor, or of any tensor with a floating dtype given (empty: NaN).
Tensor mean(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false,
            std::optional<Dtype> dtype = std::nullopt);
/// Product; bool/integer inputs give int64 unless dtype is given (empty: 1).
Tensor prod(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false,
            std::optional<Dtype> dtype = std::nullopt);
/// Maximum over dims (NaN propagates); reduced dims must not be empty.
Tensor amax(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false);
/// Minimum over dims (NaN propagates); reduced dims must not be empty.
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
/// Variance of a floating tensor, dividing by max(n - correction, 0).
Tensor var(const Tensor& x, DimList dims = std::nullopt, double correction = 1.0, bool keepdim = false);
/// Standard deviation of a floating tensor, dividing by max(n - correction, 0).
Tensor std(const Tensor& x, DimList dims = std::nullopt, double correction = 1.0, bool keepdim = false);
/// log(sum(exp(x))) computed stably; integer inputs give float32.
Tensor logsumexp(const Tensor& x, DimList dims, bool keepdim = false);
/// Vector p-norm of a floating tensor (p = 2 default; inf, -inf, 0, 1 and any other p).
Tensor norm(const Tensor& x, double p = 2.0, DimList dims = std::nullopt, bool keepdim = false);
/// True where all elements (along dims) are nonzero (bool result).
Tensor all(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false);
/// True where any element (along dims) is nonzero (bool result).
Tensor any(const Tensor& x, DimList dims = std::nullopt, bool keepdim = false);
/// Cumulative sum along dim; bool/integer inputs give int64 unless dtype is given.
Tensor cumsum(const Tensor& x, int64_t dim, std::optional<Dtype> dtype = std::nullopt);
/// Cumulative product along dim; bool/integer inputs give int64 unless dtype is given.
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<Dtype> dtype = std::nullopt);
/// softmax along dim of a floating tensor (of x converted to dtype when given).
Tensor softmax(const Tensor& x, int64_t dim, std::optional<Dtype> dtype = std::nullopt);
/// log_softmax along dim of a floating tensor (of x converted to dtype when given).
Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<Dtype> dtype = std::nullopt);

}  // namespace lamina

#pragma once
// Indexing: PyTorch/NumPy basic and advanced indexing and assignment, index_select, take,
// gather / scatter, masked_fill / masked_select, nonzero.
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina {

/// A Python-style slice start:stop:step; an omitted field (nullopt) means Python's None.
struct Slice {
  std::optional<int64_t> start = std::nullopt;
  std::optional<int64_t> stop = std::nullopt;
  std::optional<int64_t> step = std::nullopt;
};
/// Inserts a new size-1 axis (Python's None).
struct NewAxis {};
/// Stands for as many full slices as needed (Python's ...).
struct Ellipsis {};

/// One index entry: an integer, a slice, None, ..., a bool, or a tensor (a bool mask, or
/// integer indices; a 0-d integer tensor acts as an integer, a uint8 tensor as a mask).
using TensorIndex = std::variant<int64_t, Slice, NewAxis, Ellipsis, bool, Tensor>;

/// x[indices]: integers, slices, None and ... give a view; masks and index tensors give a
/// copy, their dims placed as in PyTorch (adjacent advanced indices stay in place,
/// separated ones go first).
Tensor index(const Tensor& x, const std::vector<TensorIndex>& indices);
/// x[indices] = values: values broadcast to the indexed shape and convert to x's dtype;
/// accumulate adds instead (repeated indices add up). Leaves x unchanged on error. Returns x.
const Tensor& index_put_(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
                         bool accumulate = false);
/// x[indices] = value. Returns x.
const Tensor& index_put_(const Tensor& x, const std::vector<TensorIndex>& indices, const Scalar& value,
                         bool accumulate = false);
/// A copy of x with x[indices] = values.
Tensor index_put(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
                 bool accumulate = false);

/// Entries of x along dim at the positions in the 0-d or 1-d int32/int64 tensor `index`.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// x viewed as 1-d, taken at `index` (any shape, negative values wrap); shaped like index.
Tensor take(const Tensor& x, const Tensor& index);
/// out[i][j] = x[index[i][j]][j] (for dim 0); index is int64 with x's rank.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// gather after broadcasting x and indices in every dim but `dim`; with no dim, both flattened.
Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim = std::nullopt);

/// Copy of x with x[index[i][j]][j] = src[i][j] (dim 0); reduce "" assigns, "add" adds,
/// "multiply" multiplies.
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, std::string_view reduce = "");
/// scatter with a scalar value.
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value, std::string_view reduce = "");
/// In-place scatter; returns x.
const Tensor& scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                       std::string_view reduce = "");
/// In-place scatter of a scalar; returns x.
const Tensor& scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value,
                       std::string_view reduce = "");
/// Copy of x with src added at the scattered positions (duplicates add up).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// In-place scatter_add; returns x.
const Tensor& scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);

/// x with `value` where the bool mask (broadcast to x's shape) is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value);
/// masked_fill with a 0-d tensor value.
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);
/// In-place masked_fill; returns x.
const Tensor& masked_fill_(const Tensor& x, const Tensor& mask, const Scalar& value);
/// In-place masked_fill with a 0-d tensor value; returns x.
const Tensor& masked_fill_(const Tensor& x, const Tensor& mask, const Tensor& value);
/// 1-d tensor of the elements of x where the mask is true (x and mask broadcast together).
Tensor masked_select(const Tensor& x, const Tensor& mask);
/// Coordinates of the nonzero elements, int64 of shape (count, ndim), in row-major order.
Tensor nonzero(const Tensor& x);
/// The nonzero coordinates as one 1-d int64 tensor per dim (one tensor for a 0-d x).
std::vector<Tensor> nonzero_as_tuple(const Tensor& x);

}  // namespace lamina

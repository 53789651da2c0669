#pragma once
// Indexing: NumPy/PyTorch basic and advanced indexing and assignment, index_select,
// gather / scatter, masked_fill / masked_select, nonzero.
#include <variant>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina {

/// A Python-style slice; INT64_MIN / INT64_MAX stand for an omitted start / stop.
struct Slice {
  int64_t start = INT64_MIN;
  int64_t stop = INT64_MAX;
  int64_t step = 1;
};
/// Inserts a new size-1 axis (Python's None).
struct NewAxis {};
/// Stands for as many full slices as needed (Python's ...).
struct Ellipsis {};

/// One index entry: an integer, a slice, None, ..., a bool, or a tensor (bool mask or integer indices).
using TensorIndex = std::variant<int64_t, Slice, NewAxis, Ellipsis, bool, Tensor>;

/// x[indices]: basic indices give a view; masks and index tensors give a copy (NumPy rules
/// for where the advanced dims go).
Tensor index(const Tensor& x, const std::vector<TensorIndex>& indices);
/// x[indices] = values (broadcast, converted to x's dtype); accumulate adds instead. Returns x.
const Tensor& index_put_(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
                         bool accumulate = false);
/// Elements of x along dim at the positions in the 1-d integer tensor `index`.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// out[i][j] = x[index[i][j]][j] (for dim 0), index of x's rank.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// Copy of x with x[index[i][j]][j] = src[i][j] (dim 0).
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// scatter with a scalar value.
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value);
/// In-place scatter; returns x.
const Tensor& scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// In-place scatter of a scalar; returns x.
const Tensor& scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value);
/// Copy of x with src added at the scattered positions (duplicates add up).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// In-place scatter_add; returns x.
const Tensor& scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// x with `value` where the (broadcast) bool mask is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value);
/// In-place masked_fill; returns x.
const Tensor& masked_fill_(const Tensor& x, const Tensor& mask, const Scalar& value);
/// 1-d tensor of the elements of x where the (broadcast) mask is true.
Tensor masked_select(const Tensor& x, const Tensor& mask);
/// Coordinates of the nonzero elements, int64 of shape (count, ndim).
Tensor nonzero(const Tensor& x);

}  // namespace lamina

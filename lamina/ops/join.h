#pragma once
// Joining and splitting tensors, padding, one_hot, triangular parts, flipping.
#include <string>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina {

/// Concatenates along dim (dtypes promote; 1-d empty tensors are skipped, like PyTorch).
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Stacks equally shaped tensors along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Views of consecutive pieces of `split_size` along dim (the last may be smaller).
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
/// Views of pieces with the given sizes along dim (they must sum to the dim's size).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
/// Splits into `chunks` views of ceil(size / chunks) along dim.
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
/// Views of every index along dim, with dim removed.
std::vector<Tensor> unbind(const Tensor& x, int64_t dim = 0);
/// Pads (last dim first, pairs of before/after; negative values crop). mode: constant, reflect, replicate, circular.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, const std::string& mode = "constant", double value = 0.0);
/// One-hot int64 encoding with a new last dim of num_classes (-1: max + 1).
Tensor one_hot(const Tensor& indices, int64_t num_classes = -1);
/// Lower triangle of the last two dims (elements with col - row <= diagonal), zeros elsewhere.
Tensor tril(const Tensor& x, int64_t diagonal = 0);
/// Upper triangle of the last two dims (col - row >= diagonal).
Tensor triu(const Tensor& x, int64_t diagonal = 0);
/// In-place tril; returns x.
const Tensor& tril_(const Tensor& x, int64_t diagonal = 0);
/// In-place triu; returns x.
const Tensor& triu_(const Tensor& x, int64_t diagonal = 0);
/// Reverses the order along the given dims (a copy).
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);
/// Rolls elements along dims by shifts (wrapping around).
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims);

}  // namespace lamina

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
/// Rolls elements along dims by shifts (wrapping around); without dims, over the flattened tensor.
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims);
/// Tiles x `repeats[d]` times along each dim (leading repeats add new dims), like Tensor.repeat.
Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats);
/// Like repeat, but fewer repeats than dims are padded with leading 1s (torch.tile).
Tensor tile(const Tensor& x, const std::vector<int64_t>& dims);
/// View with dims `source` moved to positions `destination`; the other dims keep their order.
Tensor movedim(const Tensor& x, const std::vector<int64_t>& source, const std::vector<int64_t>& destination);
/// Concatenates along dim 1 (dim 0 for 1-d inputs) after making 0-d inputs 1-d.
Tensor hstack(const std::vector<Tensor>& tensors);
/// Concatenates along dim 0 after making inputs at least 2-d ((n,) becomes (1, n)).
Tensor vstack(const std::vector<Tensor>& tensors);
/// Concatenates along dim 2 after making inputs at least 3-d ((n,) becomes (1, n, 1)).
Tensor dstack(const std::vector<Tensor>& tensors);

}  // namespace lamina

#pragma once
// Matrix products (matmul with batching and broadcasting, mm, bmm, mv, dot, outer) and einsum.
#include <string>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina {

/// torch.matmul semantics: 1-d operands are promoted and the added dim removed; batch dims broadcast.
/// Both operands must share a dtype; float16/bfloat16 are computed in float32 and rounded once.
Tensor matmul(const Tensor& a, const Tensor& b);
/// Product of two matrices.
Tensor mm(const Tensor& a, const Tensor& b);
/// Batched product of (B, n, k) and (B, k, m) tensors.
Tensor bmm(const Tensor& a, const Tensor& b);
/// Matrix-vector product.
Tensor mv(const Tensor& a, const Tensor& v);
/// Inner product of two 1-d tensors.
Tensor dot(const Tensor& a, const Tensor& b);
/// Outer product of two 1-d tensors.
Tensor outer(const Tensor& a, const Tensor& b);
/// Einstein summation, e.g. "bij,bjk->bik", "ii->i", "...ij,...jk" (implicit output), with ellipsis;
/// operands promote to one dtype, which the result keeps (as NumPy does).
Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);

}  // namespace lamina

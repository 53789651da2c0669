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
/// torch.addmm: beta * input + alpha * (a @ b) for matrices a (m, k), b (k, n) and an input that
/// broadcasts to (m, n) (a bias row, say); beta = 0 ignores the input's values (NaN included).
/// With beta = alpha = 1, float32/float64 on the CPU start the GEMM from the broadcast input
/// (one pass over the result fewer than a product and an add).
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta = 1.0, double alpha = 1.0);
/// gelu(addmm(bias, a, b)), a Linear layer followed by GELU (approximate "none" or "tanh"): on
/// the CPU in float32/float64 with a bias row, the GELU runs on each cache-sized band of the
/// product as soon as the GEMM finishes it (a pass over the pre-activation fewer); elsewhere the
/// two ops. Differentiable in bias, a and b (twice, through the two ops under create_graph).
Tensor addmm_gelu(const Tensor& bias, const Tensor& a, const Tensor& b, const std::string& approximate = "none");
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

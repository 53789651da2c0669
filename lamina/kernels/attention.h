#pragma once
// Arguments and signatures of the fused attention kernels (kernels/cuda/attention.cu and
// kernels/cpu/attention.cpp), called
// by lamina/ops/attention.cpp through the dispatch table.
#include <cstdint>

namespace lamina::kernels {

/// Where one tensor's (L, E) matrices lie, in elements: entry b starts at
/// (b / heads) * outer + (b % heads) * inner, its row r a further r * row on; each row's E
/// elements are contiguous.
struct AttentionLayout {
  int64_t outer = 0, inner = 0, row = 0;
};

/// Geometry of a fused attention call over `batch` entries of (L, E) queries and (S, E) keys
/// and values: entries [first, first + batch) of tensors laid out as the layouts say (o the
/// output, go its gradient). The CUDA kernels take contiguous tensors only (first = 0,
/// heads = 1, each layout contiguous_attention_layout); the CPU kernels any layout.
struct AttentionShape {
  int64_t batch = 0, l = 0, s = 0, e = 0;
  float scale = 1.f;
  bool causal = false;
  int64_t first = 0, heads = 1;
  AttentionLayout q, k, v, o, go, dq, dk, dv;
};

/// The layout of contiguous (batch / heads, heads, rows, e) matrices.
inline AttentionLayout contiguous_attention_layout(int64_t rows, int64_t e, int64_t heads = 1) {
  return {heads * rows * e, rows * e, e};
}

/// Offset in elements of entry b under `layout`.
inline int64_t attention_entry_offset(const AttentionShape& sh, const AttentionLayout& layout, int64_t b) {
  return (b / sh.heads) * layout.outer + (b % sh.heads) * layout.inner;
}

/// out (batch, L, E) = softmax(scale * q k^T [causal]) v, and each row's logsumexp (batch, L)
/// in float32, on the device's pointers.
using AttentionForwardKernel = void (*)(const AttentionShape&, const void* q, const void* k, const void* v, void* out,
                                        float* lse);
/// dq, dk, dv from the forward's inputs, output, logsumexp and the output gradient; `delta` is
/// scratch for batch * L floats.
using AttentionBackwardKernel = void (*)(const AttentionShape&, const void* q, const void* k, const void* v,
                                         const void* out, const void* grad_out, const float* lse, float* delta,
                                         void* dq, void* dk, void* dv);

}  // namespace lamina::kernels

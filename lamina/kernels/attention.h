#pragma once
// Arguments and signatures of the fused attention kernels (kernels/cuda/attention.cu and
// kernels/cpu/attention.cpp), called
// by lamina/ops/attention.cpp through the dispatch table.
#include <cstdint>

namespace lamina::kernels {

/// Geometry of a fused attention call over contiguous (batch, L, E) queries and (batch, S, E)
/// keys and values.
struct AttentionShape {
  int64_t batch = 0, l = 0, s = 0, e = 0;
  float scale = 1.f;
  bool causal = false;
};

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

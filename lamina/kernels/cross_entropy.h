#pragma once
// Arguments and signatures of the fused cross-entropy kernels (kernels/cuda/loss.cu), called by
// lamina/ops/cross_entropy.cpp through the dispatch table.
#include <cstdint>

namespace lamina::kernels {

/// Shape and settings of a fused cross-entropy over `rows` contiguous rows of `classes` logits.
struct CrossEntropyArgs {
  int64_t rows = 0;
  int64_t classes = 0;
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
  bool has_weight = false;
};

/// Forward: logits (rows x classes, the input dtype), int64 targets, class weights (input dtype)
/// or null, sum_w (one stat-dtype value: the sum of the class weights) or null without weights.
/// Writes per row the loss, the logsumexp and the target's weight (0 where ignored), all in the
/// stat dtype (float, double for float64 logits).
using CrossEntropyKernel = void (*)(const CrossEntropyArgs&, const void* logits, const int64_t* target,
                                    const void* weight, const void* sum_w, void* loss, void* lse, void* w_target);

/// Backward: d loss_r / d logits scaled by gscale[r * gstride] (stat dtype; gstride 0 for one
/// scale), from the forward's lse and w_target; writes dlogits (input dtype).
using CrossEntropyBackwardKernel = void (*)(const CrossEntropyArgs&, const void* logits, const int64_t* target,
                                            const void* weight, const void* sum_w, const void* lse,
                                            const void* w_target, const void* gscale, int64_t gstride, void* dlogits);

}  // namespace lamina::kernels

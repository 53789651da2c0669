#pragma once
// The per-tile math of the fused attention kernels (attention.cu), host-compilable so the tile
// loop can be emulated on the CPU (tests/cpp/cuda/test_cuda_attention.cpp). Tiles live in float
// (the compute type of every supported dtype); rows are query positions, columns key positions.
#include <cmath>
#include <cstdint>
#include <limits>

#include "lamina/kernels/cuda/common.cuh"

namespace lamina::kernels::cuda {

/// Query rows per tile.
inline constexpr int kAttnRows = 16;
/// Key columns per tile.
inline constexpr int kAttnCols = 16;
/// The largest head dim the fused kernels take.
inline constexpr int kAttnMaxHeadDim = 128;

/// True when key `col` is hidden from query `row`: past the keys, or in the future of a causal
/// (top-left aligned, as in PyTorch) mask.
LAMINA_HD inline bool attn_masked(int64_t row, int64_t col, int64_t keys, bool causal) {
  return col >= keys || (causal && col > row);
}

/// One score: scale * q . k over `dim` elements, or -inf when masked.
LAMINA_HD inline float attn_score(const float* q, const float* k, int dim, float scale, bool masked) {
  if (masked) return -INFINITY;
  float s = 0.f;
  for (int d = 0; d < dim; ++d) s += q[d] * k[d];
  return s * scale;
}

/// Online-softmax update of one row with `cols` new scores: raises the running max `m`, turns
/// the scores into exp(s - m) in place, adds them to the running sum `l` and returns the factor
/// the row's earlier output accumulator must be multiplied by. A row that has seen only masked
/// keys keeps m = -inf and contributes nothing.
LAMINA_HD inline float attn_online_softmax(float* s, int cols, float& m, float& l) {
  float tile_max = -INFINITY;
  for (int c = 0; c < cols; ++c) tile_max = s[c] > tile_max ? s[c] : tile_max;
  const float m_new = tile_max > m ? tile_max : m;
  if (m_new == -INFINITY) {
    for (int c = 0; c < cols; ++c) s[c] = 0.f;
    return 1.f;
  }
  const float alpha = m == -INFINITY ? 0.f : expf(m - m_new);
  float sum = 0.f;
  for (int c = 0; c < cols; ++c) {
    s[c] = s[c] == -INFINITY ? 0.f : expf(s[c] - m_new);
    sum += s[c];
  }
  l = l * alpha + sum;
  m = m_new;
  return alpha;
}

/// One output accumulator element after a key tile: o * alpha + sum_c p[c] * v[c * v_stride].
LAMINA_HD inline float attn_accumulate(float o, float alpha, const float* p, const float* v, int cols, int v_stride) {
  float acc = o * alpha;
  for (int c = 0; c < cols; ++c) acc += p[c] * v[c * v_stride];
  return acc;
}

/// The final output element o / l (0 for a row with no visible key) and the row's logsumexp.
LAMINA_HD inline float attn_finish(float o, float l) { return l > 0.f ? o / l : 0.f; }
/// The logsumexp m + log(l) the backward recomputes probabilities from (-inf for an empty row).
LAMINA_HD inline float attn_logsumexp(float m, float l) { return l > 0.f ? m + logf(l) : -INFINITY; }

/// A probability recomputed in the backward: exp(score - lse), 0 when masked or the row is empty.
LAMINA_HD inline float attn_probability(float score, float lse) {
  return score == -INFINITY || lse == -INFINITY ? 0.f : expf(score - lse);
}

/// The score gradient dS = P * (dP - D), with D = rowsum(dO * O).
LAMINA_HD inline float attn_score_grad(float p, float dp, float d) { return p * (dp - d); }

}  // namespace lamina::kernels::cuda

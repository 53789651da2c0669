// The fused attention kernels' tile math (lamina/kernels/cuda/attention_math.cuh), run on the CPU
// in the kernels' own tile loops (query tiles of kAttnRows, key tiles of kAttnCols, online softmax,
// logsumexp, recomputed backward), against the composite CPU scaled_dot_product_attention and
// its autograd gradients.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "lamina/kernels/cuda/attention_math.cuh"
#include "lamina/lamina.h"
#include "lamina/nn/attention.h"

using namespace lamina;
namespace kc = lamina::kernels::cuda;
namespace ag = lamina::autograd;

namespace {

std::vector<float> floats(const Tensor& t) {
  Tensor c = ag::detach(t).to(Dtype::Float32).contiguous();
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

// One batch entry's emulated forward: out (L x E) and lse (L), tile by tile as attention.cu.
void emulate_forward(const float* q, const float* k, const float* v, int64_t l, int64_t s, int e, float scale,
                     bool causal, float* out, float* lse) {
  const int R = kc::kAttnRows, C = kc::kAttnCols;
  for (int64_t row0 = 0; row0 < l; row0 += R) {
    std::vector<float> o(static_cast<size_t>(R * e), 0.f), sc(static_cast<size_t>(R * C)), m(R, -INFINITY), sum(R, 0.f),
        alpha(R);
    const int64_t key_end = causal ? std::min<int64_t>(s, row0 + R) : s;
    for (int64_t col0 = 0; col0 < key_end; col0 += C) {
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) {
          const int64_t row = row0 + r, col = col0 + c;
          const bool masked = row >= l || kc::attn_masked(row, col, s, causal);
          sc[r * C + c] = masked ? -INFINITY : kc::attn_score(q + row * e, k + col * e, e, scale, false);
        }
      for (int r = 0; r < R; ++r) alpha[r] = kc::attn_online_softmax(&sc[r * C], C, m[r], sum[r]);
      // Keys past S are zero rows in the kernel's shared-memory tile.
      std::vector<float> vt(static_cast<size_t>(C * e), 0.f);
      for (int c = 0; c < C && col0 + c < s; ++c) std::copy(v + (col0 + c) * e, v + (col0 + c + 1) * e, &vt[c * e]);
      for (int r = 0; r < R; ++r)
        for (int d = 0; d < e; ++d)
          o[r * e + d] = kc::attn_accumulate(o[r * e + d], alpha[r], &sc[r * C], &vt[d], C, e);
    }
    for (int r = 0; r < R && row0 + r < l; ++r) {
      for (int d = 0; d < e; ++d) out[(row0 + r) * e + d] = kc::attn_finish(o[r * e + d], sum[r]);
      lse[row0 + r] = kc::attn_logsumexp(m[r], sum[r]);
    }
  }
}

// One batch entry's emulated backward (recomputing P from lse): dq, dk, dv.
void emulate_backward(const float* q, const float* k, const float* v, const float* o, const float* go, const float* lse,
                      int64_t l, int64_t s, int e, float scale, bool causal, float* dq, float* dk, float* dv) {
  std::vector<float> delta(static_cast<size_t>(l));
  for (int64_t i = 0; i < l; ++i) {
    float acc = 0.f;
    for (int d = 0; d < e; ++d) acc += o[i * e + d] * go[i * e + d];
    delta[static_cast<size_t>(i)] = acc;
  }
  std::fill(dq, dq + l * e, 0.f);
  std::fill(dk, dk + s * e, 0.f);
  std::fill(dv, dv + s * e, 0.f);
  const int R = kc::kAttnRows, C = kc::kAttnCols;
  for (int64_t col0 = 0; col0 < s; col0 += C) {
    const int64_t row_start = causal ? (col0 / R) * R : 0;
    for (int64_t row0 = row_start; row0 < l; row0 += R) {
      for (int r = 0; r < R && row0 + r < l; ++r)
        for (int c = 0; c < C && col0 + c < s; ++c) {
          const int64_t i = row0 + r, j = col0 + c;
          const bool masked = kc::attn_masked(i, j, s, causal);
          const float p = kc::attn_probability(kc::attn_score(q + i * e, k + j * e, e, scale, masked), lse[i]);
          float dp = 0.f;
          for (int d = 0; d < e; ++d) dp += go[i * e + d] * v[j * e + d];
          const float ds = kc::attn_score_grad(p, dp, delta[static_cast<size_t>(i)]);
          for (int d = 0; d < e; ++d) {
            dv[j * e + d] += p * go[i * e + d];
            dk[j * e + d] += scale * ds * q[i * e + d];
            dq[i * e + d] += scale * ds * k[j * e + d];
          }
        }
    }
  }
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, float tol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1.f + std::fabs(want[i]))) << what << " at " << i;
}

struct Case {
  int64_t batch, l, s, e;
  bool causal;
};

class CudaAttentionMath : public testing::TestWithParam<Case> {};

TEST_P(CudaAttentionMath, TileLoopMatchesCompositeAttention) {
  const Case cs = GetParam();
  manual_seed(7);
  Tensor q = randn({cs.batch, cs.l, cs.e}), k = randn({cs.batch, cs.s, cs.e}), v = randn({cs.batch, cs.s, cs.e});
  for (const Tensor& t : {q, k, v}) ag::set_requires_grad(t);
  const Tensor out = nn::functional::scaled_dot_product_attention(q, k, v, Tensor(), 0.0, cs.causal);
  const Tensor go = randn(out.shape());
  const std::vector<Tensor> grads = ag::grad({out}, {q, k, v}, {go});

  const float scale = 1.f / std::sqrt(static_cast<float>(cs.e));
  const std::vector<float> hq = floats(q), hk = floats(k), hv = floats(v), hgo = floats(go);
  const size_t lq = static_cast<size_t>(cs.l * cs.e), lk = static_cast<size_t>(cs.s * cs.e);
  std::vector<float> ho(hq.size()), lse(static_cast<size_t>(cs.batch * cs.l)), dq(hq.size()), dk(hk.size()),
      dv(hv.size());
  for (int64_t b = 0; b < cs.batch; ++b) {
    const size_t ob = static_cast<size_t>(b) * lq, kb = static_cast<size_t>(b) * lk;
    emulate_forward(&hq[ob], &hk[kb], &hv[kb], cs.l, cs.s, static_cast<int>(cs.e), scale, cs.causal, &ho[ob],
                    &lse[static_cast<size_t>(b * cs.l)]);
    emulate_backward(&hq[ob], &hk[kb], &hv[kb], &ho[ob], &hgo[ob], &lse[static_cast<size_t>(b * cs.l)], cs.l, cs.s,
                     static_cast<int>(cs.e), scale, cs.causal, &dq[ob], &dk[kb], &dv[kb]);
  }
  expect_close(ho, floats(out), 2e-5f, "out");
  // lse against log(sum(exp(scores))) of the composite scores.
  Tensor scores = mul(matmul(ag::detach(q), ag::detach(k).transpose(1, 2)), Scalar(static_cast<double>(scale)));
  if (cs.causal) scores = masked_fill(scores, logical_not(tril(ones({cs.l, cs.s}, {Dtype::Bool}))), Scalar(-INFINITY));
  expect_close(lse, floats(logsumexp(scores, std::vector<int64_t>{-1})), 2e-5f, "lse");
  expect_close(dq, floats(grads[0]), 1e-4f, "dq");
  expect_close(dk, floats(grads[1]), 1e-4f, "dk");
  expect_close(dv, floats(grads[2]), 1e-4f, "dv");
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaAttentionMath,
                         testing::Values(Case{2, 16, 16, 8, false}, Case{1, 37, 53, 16, false},
                                         Case{2, 37, 53, 16, true}, Case{1, 53, 37, 12, true}, Case{1, 5, 3, 4, false},
                                         Case{1, 1, 40, 32, false}, Case{1, 33, 33, 128, true}));

TEST(CudaAttentionMath, OnlineSoftmaxOfMaskedRows) {
  // A tile with every key masked leaves the row empty; a later visible key starts it.
  float m = -INFINITY, l = 0.f;
  float s1[3] = {-INFINITY, -INFINITY, -INFINITY};
  EXPECT_EQ(kc::attn_online_softmax(s1, 3, m, l), 1.f);
  EXPECT_EQ(l, 0.f);
  EXPECT_EQ(kc::attn_finish(5.f, l), 0.f);
  EXPECT_EQ(kc::attn_logsumexp(m, l), -INFINITY);
  EXPECT_EQ(kc::attn_probability(1.f, -INFINITY), 0.f);
  float s2[2] = {1.f, -INFINITY};
  EXPECT_EQ(kc::attn_online_softmax(s2, 2, m, l), 0.f);
  EXPECT_FLOAT_EQ(l, 1.f);
  EXPECT_FLOAT_EQ(kc::attn_logsumexp(m, l), 1.f);
  // A larger score later rescales the sum.
  float s3[1] = {3.f};
  const float alpha = kc::attn_online_softmax(s3, 1, m, l);
  EXPECT_FLOAT_EQ(alpha, std::exp(-2.f));
  EXPECT_FLOAT_EQ(l, std::exp(-2.f) + 1.f);
  EXPECT_FLOAT_EQ(kc::attn_logsumexp(m, l), std::log(std::exp(1.f) + std::exp(3.f)));
}

}  // namespace

// Randomized cross-checks of op families on random shapes and views: two independent routes to
// the same value must agree. Run under ASan+UBSan too, so every kernel's memory access is checked.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lamina/lamina.h"

using namespace lamina;

namespace {

double total(const Tensor& t) { return sum(t.to(Dtype::Float64)).item<double>(); }

Shape random_shape(std::mt19937& rng, int max_dims) {
  std::uniform_int_distribution<int> nd(1, max_dims), size(0, 5);
  Shape s;
  for (int d = nd(rng); d > 0; --d) s.push_back(size(rng));
  return s;
}

// A random tensor of `shape`, often a non-contiguous view (transposed storage, negative step).
Tensor random_view(std::mt19937& rng, const Shape& shape, Dtype dt) {
  std::uniform_int_distribution<int> coin(0, 2);
  const bool transposed = shape.size() >= 2 && coin(rng) == 0;
  Shape stored = shape;
  if (transposed) std::swap(stored[0], stored[stored.size() - 1]);
  Tensor base = mul(randn(stored, {Dtype::Float64}), Scalar(3.0)).to(dt);
  if (transposed) base = base.transpose(0, base.dim() - 1);
  if (coin(rng) == 0 && base.shape()[0] > 1) base = base.slice(0, INT64_MAX, INT64_MIN, -1);
  return base;
}

}  // namespace

TEST(Stress, CatSplitRoundTrip) {
  std::mt19937 rng(1);
  for (int it = 0; it < 200; ++it) {
    Tensor x = random_view(rng, random_shape(rng, 4), Dtype::Float32);
    const int64_t d = static_cast<int64_t>(rng() % static_cast<unsigned>(x.dim()));
    std::vector<Tensor> parts = split(x, 2, d);
    Tensor back = cat(parts, d);
    ASSERT_EQ(back.shape(), x.shape());
    ASSERT_NEAR(total(back), total(x), 1e-9 + std::fabs(total(x)) * 1e-12);
    ASSERT_EQ(total(eq(back, x).to(Dtype::Int64)), static_cast<double>(x.numel()));
  }
}

TEST(Stress, GatherIndexSelectAgree) {
  std::mt19937 rng(2);
  for (int it = 0; it < 200; ++it) {
    Tensor x = random_view(rng, random_shape(rng, 3), Dtype::Float64);
    const int64_t d = static_cast<int64_t>(rng() % static_cast<unsigned>(x.dim()));
    if (x.shape()[d] == 0) continue;
    Tensor idx = randint(0, x.shape()[d], {3});
    Tensor a = index_select(x, d, idx);
    Shape gshape = x.shape();
    gshape[d] = 3;
    Shape view_shape(x.dim(), 1);
    view_shape[d] = 3;
    Tensor b = gather(x, d, idx.view(view_shape).expand(gshape).contiguous());
    ASSERT_EQ(a.shape(), b.shape());
    ASSERT_EQ(total(ne(a, b).to(Dtype::Int64)), 0.0);
  }
}

TEST(Stress, ScatterAddConservesSum) {
  std::mt19937 rng(3);
  for (int it = 0; it < 100; ++it) {
    Shape s = random_shape(rng, 3);
    Tensor src = random_view(rng, s, Dtype::Float64);
    const int64_t d = static_cast<int64_t>(rng() % static_cast<unsigned>(src.dim()));
    Shape out_shape = s;
    out_shape[d] = 4;
    Tensor idx = randint(0, 4, src.shape());
    Tensor out = scatter_add(zeros(out_shape, {Dtype::Float64}), d, idx, src.contiguous());
    ASSERT_NEAR(total(out), total(src), 1e-9);
  }
}

TEST(Stress, MatmulEinsumAgree) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> size(0, 6);
  for (int it = 0; it < 100; ++it) {
    const int64_t b = size(rng), m = size(rng), k = size(rng), n = size(rng);
    for (Dtype dt : {Dtype::Float32, Dtype::Float64, Dtype::Int32}) {
      Tensor x = random_view(rng, {b, m, k}, dt), y = random_view(rng, {b, k, n}, dt);
      Tensor p = matmul(x, y), q = einsum("bmk,bkn->bmn", {x, y});
      ASSERT_EQ(p.shape(), q.shape());
      ASSERT_NEAR(total(abs(sub(p.to(Dtype::Float64), q.to(Dtype::Float64)))), 0.0, 1e-3);
    }
  }
}

TEST(Stress, SortIsOrderedPermutation) {
  std::mt19937 rng(5);
  for (int it = 0; it < 200; ++it) {
    Tensor x = random_view(rng, random_shape(rng, 3), Dtype::Float32);
    ValuesIndices s = sort(x, -1, it % 2 == 1);
    ASSERT_NEAR(total(s.values), total(x), 1e-3);
    if (x.numel() == 0 || x.shape()[x.dim() - 1] < 2) continue;
    const int64_t n = x.shape()[x.dim() - 1];
    Tensor diff = sub(s.values.narrow(-1, 1, n - 1), s.values.narrow(-1, 0, n - 1));
    Tensor wrong = it % 2 == 1 ? gt(diff, Scalar(0)) : lt(diff, Scalar(0));
    ASSERT_FALSE(any(wrong).item<bool>());
    ASSERT_EQ(total(ne(gather(x, -1, s.indices), s.values).to(Dtype::Int64)), 0.0);
  }
}

TEST(Stress, ReductionsMatchAcrossLayouts) {
  std::mt19937 rng(6);
  for (int it = 0; it < 200; ++it) {
    Tensor x = random_view(rng, random_shape(rng, 4), Dtype::Float64);
    Tensor c = x.contiguous();
    const int64_t d = static_cast<int64_t>(rng() % static_cast<unsigned>(x.dim()));
    Tensor a = sum(x, std::vector<int64_t>{d}, it % 2 == 0), b = sum(c, std::vector<int64_t>{d}, it % 2 == 0);
    ASSERT_EQ(a.shape(), b.shape());
    ASSERT_EQ(total(ne(a, b).to(Dtype::Int64)), 0.0);  // same fixed order: bit-identical
    Tensor sm = softmax(x, d);
    if (x.numel() > 0) {
      ASSERT_NEAR(total(sm), static_cast<double>(x.numel() / x.shape()[d]), 1e-9 * static_cast<double>(x.numel()));
    }
  }
}

TEST(Stress, AdvancedIndexPutThenRead) {
  std::mt19937 rng(7);
  for (int it = 0; it < 100; ++it) {
    Tensor x = zeros({5, 6, 7});
    Tensor i = randint(-5, 5, {4}), j = randint(0, 7, {4});
    index_put_(x, {i, Slice{}, j}, scalar_tensor(Scalar(1.0)));
    Tensor picked = index(x, {i, Slice{1, 4, 2}, j});
    ASSERT_EQ(picked.shape(), (Shape{4, 2}));
    ASSERT_EQ(total(picked), 8.0);
  }
}

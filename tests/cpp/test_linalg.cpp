// matmul family and einsum through the C++ API, checked against a naive double-precision product.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "lamina/lamina.h"

using namespace lamina;

namespace {

std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

// Random values of `dtype` (small integers for integer dtypes, so products are exact).
Tensor random(const Shape& shape, Dtype dtype = Dtype::Float32) {
  if (is_integral(dtype)) return randint(dtype == Dtype::UInt8 ? 0 : -5, 6, shape, dtype);
  return randn(shape, {dtype});
}

// Naive 2-d product in double.
std::vector<double> ref_mm(const Tensor& a, const Tensor& b) {
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  std::vector<double> va = values(a), vb = values(b), out(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) out[static_cast<size_t>(i * n + j)] += va[static_cast<size_t>(i * k + p)] * vb[static_cast<size_t>(p * n + j)];
  return out;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol * (1.0 + std::abs(want[i]))) << "at " << i;
}

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(LinalgMatmul, EveryDtypeMatchesReference) {
  manual_seed(1);
  for (Dtype dt : {Dtype::Float32, Dtype::Float64, Dtype::Float16, Dtype::BFloat16, Dtype::Int64, Dtype::Int32,
                   Dtype::Int8, Dtype::UInt8}) {
    Tensor a = random({5, 7}, dt), b = random({7, 3}, dt);
    Tensor c = matmul(a, b);
    EXPECT_EQ(c.dtype(), dt);
    EXPECT_EQ(c.shape(), (Shape{5, 3}));
    const double tol = dt == Dtype::Float16 ? 1e-2 : dt == Dtype::BFloat16 ? 2e-2 : dt == Dtype::Float32 ? 1e-5 : 1e-12;
    // Small integers: int8/uint8 products stay in range, so the reference is exact.
    expect_near(values(c), ref_mm(a, b), tol);
  }
}

TEST(LinalgMatmul, IntegerOverflowWrapsLikePyTorch) {
  Tensor a = full({2, 2}, Scalar(int64_t{100}), {Dtype::Int8});
  EXPECT_EQ(values(matmul(a, a)), (std::vector<double>{32, 32, 32, 32}));  // 20000 mod 256
}

TEST(LinalgMatmul, OneDimensionalOperands) {
  Tensor v = random({4}), w = random({4}), m = random({4, 3}), n = random({2, 4});
  Tensor d = matmul(v, w);
  EXPECT_EQ(d.dim(), 0);
  expect_near(values(d), ref_mm(v.unsqueeze(0), w.unsqueeze(1)), 1e-5);
  EXPECT_EQ(matmul(v, m).shape(), (Shape{3}));
  expect_near(values(matmul(v, m)), ref_mm(v.unsqueeze(0), m), 1e-5);
  EXPECT_EQ(matmul(n, v).shape(), (Shape{2}));
  expect_near(values(matmul(n, v)), ref_mm(n, v.unsqueeze(1)), 1e-5);
  Tensor bm = random({5, 4, 3});
  EXPECT_EQ(matmul(v, bm).shape(), (Shape{5, 3}));
  expect_near(values(matmul(v, bm).select(0, 2)), ref_mm(v.unsqueeze(0), bm.select(0, 2)), 1e-5);
  EXPECT_EQ(matmul(random({5, 2, 4}), v).shape(), (Shape{5, 2}));
}

TEST(LinalgMatmul, BatchDimsBroadcast) {
  Tensor a = random({4, 1, 2, 3}), b = random({5, 3, 6});
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{4, 5, 2, 6}));
  for (int64_t i : {0, 3})
    for (int64_t j : {0, 4}) expect_near(values(c.select(0, i).select(0, j)), ref_mm(a.select(0, i).select(0, 0), b.select(0, j)), 1e-5);
  Tensor d = matmul(random({3, 2, 4}, Dtype::Int32), random({4, 2}, Dtype::Int32));
  EXPECT_EQ(d.shape(), (Shape{3, 2, 2}));
}

TEST(LinalgMatmul, StridedViewsWithoutCopiesAndWithCopies) {
  for (Dtype dt : {Dtype::Float32, Dtype::Float64, Dtype::Int64}) {
    const double tol = dt == Dtype::Float32 ? 1e-5 : 1e-12;
    Tensor a = random({6, 8}, dt), b = random({5, 6}, dt);
    // Transposed (column-major) operands go to BLAS as transposes.
    expect_near(values(matmul(a.t(), b.t())), ref_mm(a.t().contiguous(), b.t().contiguous()), tol);
    // Column slices keep a leading dimension larger than the row length.
    Tensor as = a.narrow(1, 1, 5);
    expect_near(values(matmul(b, as)), ref_mm(b, as.contiguous()), tol);
    // Steps in both dims need a copy.
    Tensor stepped = a.slice(0, 0, 6, 2).slice(1, 0, 8, 3), rhs = random({3, 2}, dt);
    expect_near(values(matmul(stepped, rhs)), ref_mm(stepped.contiguous(), rhs), tol);
    expect_near(values(matmul(rhs.t(), stepped.t())), ref_mm(rhs.t().contiguous(), stepped.t().contiguous()), tol);
  }
}

TEST(LinalgMatmul, NegativeAndZeroStrides) {
  Tensor a = random({4, 5}), b = random({5, 3});
  Tensor rev = a.slice(0, INT64_MAX, INT64_MIN, -1);  // rows reversed: negative row stride
  expect_near(values(matmul(rev, b)), ref_mm(rev.contiguous(), b), 1e-5);
  Tensor rev_cols = b.slice(1, INT64_MAX, INT64_MIN, -1);
  expect_near(values(matmul(a, rev_cols)), ref_mm(a, rev_cols.contiguous()), 1e-5);
  Tensor row = random({1, 5}).expand({4, 5});  // stride 0 rows
  expect_near(values(matmul(row, b)), ref_mm(row.contiguous(), b), 1e-5);
}

TEST(LinalgMatmul, SharedRightOperandFoldsTheBatch) {
  // (B, T, C) @ (C, N) with a transposed weight, as a Linear layer computes it.
  Tensor x = random({3, 4, 6}), w = random({5, 6});
  Tensor y = matmul(x, w.t());
  ASSERT_EQ(y.shape(), (Shape{3, 4, 5}));
  for (int64_t i = 0; i < 3; ++i) expect_near(values(y.select(0, i)), ref_mm(x.select(0, i), w.t().contiguous()), 1e-5);
  // Batches that cannot be walked as one matrix (a permuted input) still work.
  Tensor xp = random({4, 3, 6}).transpose(0, 1);
  Tensor yp = matmul(xp, w.t());
  for (int64_t i = 0; i < 3; ++i) expect_near(values(yp.select(0, i)), ref_mm(xp.select(0, i).contiguous(), w.t().contiguous()), 1e-5);
}

TEST(LinalgMatmul, EmptyOperands) {
  Tensor z = matmul(random({3, 0}), random({0, 4}));
  EXPECT_EQ(z.shape(), (Shape{3, 4}));
  EXPECT_EQ(values(z), std::vector<double>(12, 0.0));
  EXPECT_EQ(matmul(random({0, 3}), random({3, 4})).shape(), (Shape{0, 4}));
  EXPECT_EQ(matmul(random({2, 0, 3}), random({3, 4})).shape(), (Shape{2, 0, 4}));
  EXPECT_EQ(values(matmul(random({0}), random({0}))), (std::vector<double>{0}));
  EXPECT_EQ(matmul(random({0, 2, 3}), random({1, 3, 4})).shape(), (Shape{0, 2, 4}));
}

TEST(LinalgMatmul, ErrorsNameTheOpAndLeaveNoTrace) {
  const std::string msg = error_of<ShapeError>([] { matmul(ones({3, 4}), ones({5, 6})); });
  EXPECT_EQ(msg,
            "[matmul] Last dimension of first input with shape (3, 4) must match second to last dimension of second "
            "input with shape (5, 6)");
  EXPECT_NE(error_of<ShapeError>([] { matmul(ones({3}), ones({5, 6})); }).find("1-d first input with shape (3,)"),
            std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { matmul(ones({2, 3}), ones({4})); }).find("1-d second input with shape (4,)"),
            std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { matmul(scalar_tensor(Scalar(1.0)), ones({2})); }).find("[matmul]"),
            std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { matmul(ones({2, 3, 4}), ones({3, 4, 5})); }).find("broadcast"), std::string::npos);
  EXPECT_NE(error_of<DTypeError>([] { matmul(ones({2, 2}), ones({2, 2}, {Dtype::Float64})); }).find("same dtype"),
            std::string::npos);
  EXPECT_NE(error_of<DTypeError>([] { matmul(ones({2, 2}, {Dtype::Bool}), ones({2, 2}, {Dtype::Bool})); }).find("[matmul]"),
            std::string::npos);
  EXPECT_THROW(matmul(Tensor(), ones({2})), ValueError);
  EXPECT_NE(error_of<ShapeError>([] { mm(ones({2, 3}), ones({3})); }).find("[mm]"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { mm(ones({2, 3}), ones({2, 3})); }).find("[mm] Last dimension"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { bmm(ones({2, 2, 3}), ones({3, 3, 2})); }).find("[bmm]"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { bmm(ones({2, 2, 3}), ones({2, 2, 2})); }).find("[bmm] Last dimension"),
            std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { mv(ones({2, 3}), ones({2})); }).find("[mv]"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { mv(ones({2, 3}), ones({3, 1})); }).find("[mv]"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { dot(ones({2}), ones({3})); }).find("[dot]"), std::string::npos);
  EXPECT_NE(error_of<ShapeError>([] { outer(ones({2, 1}), ones({3})); }).find("[outer]"), std::string::npos);
}

TEST(LinalgProducts, MmBmmMvDotOuter) {
  Tensor a = random({3, 4}), b = random({4, 2}), v = random({4}), w = random({3});
  expect_near(values(mm(a, b)), ref_mm(a, b), 1e-5);
  expect_near(values(mv(a, v)), ref_mm(a, v.unsqueeze(1)), 1e-5);
  expect_near(values(dot(v, v)), ref_mm(v.unsqueeze(0), v.unsqueeze(1)), 1e-5);
  EXPECT_EQ(dot(v, v).dim(), 0);
  expect_near(values(outer(w, v)), ref_mm(w.unsqueeze(1), v.unsqueeze(0)), 1e-6);
  EXPECT_EQ(outer(tensor<int64_t>({1, 2}), tensor<float>({0.5f})).dtype(), Dtype::Float32);
  Tensor x = random({2, 3, 4}), y = random({2, 4, 5});
  Tensor z = bmm(x, y);
  for (int64_t i = 0; i < 2; ++i) expect_near(values(z.select(0, i)), ref_mm(x.select(0, i), y.select(0, i)), 1e-5);
  EXPECT_EQ(values(mv(tensor<int32_t>({1, 2, 3, 4}, {2, 2}), tensor<int32_t>({1, 1}))), (std::vector<double>{3, 7}));
}

TEST(LinalgEinsum, CommonPatternsMatchComposites) {
  Tensor a = random({3, 4}, Dtype::Float64), b = random({4, 5}, Dtype::Float64), sq = random({4, 4}, Dtype::Float64);
  Tensor v = random({4}, Dtype::Float64), u = random({3}, Dtype::Float64);
  expect_near(values(einsum("ij,jk->ik", {a, b})), values(matmul(a, b)), 1e-12);
  expect_near(values(einsum("ij,jk", {a, b})), values(matmul(a, b)), 1e-12);
  expect_near(values(einsum("ij->ji", {a})), values(a.t()), 0);
  expect_near(values(einsum("ii->i", {sq})), values(sq.diagonal()), 0);
  expect_near(values(einsum("ii", {sq})), values(sum(sq.diagonal())), 1e-12);
  expect_near(values(einsum("i,i->", {v, v})), values(dot(v, v)), 1e-12);
  expect_near(values(einsum("i,j->ij", {u, v})), values(outer(u, v)), 1e-12);
  expect_near(values(einsum("ij->", {a})), values(sum(a)), 1e-12);
  expect_near(values(einsum("ij->j", {a})), values(sum(a, std::vector<int64_t>{0})), 1e-12);
  expect_near(values(einsum("ij,ij->ij", {a, a})), values(mul(a, a)), 1e-12);
  expect_near(values(einsum("ij,ij->i", {a, a})), values(sum(mul(a, a), std::vector<int64_t>{1})), 1e-12);
  Tensor x = random({2, 3, 4}, Dtype::Float64), y = random({2, 4, 5}, Dtype::Float64);
  expect_near(values(einsum("bij,bjk->bik", {x, y})), values(bmm(x, y)), 1e-12);
  expect_near(values(einsum("...ij,...jk->...ik", {x, y})), values(bmm(x, y)), 1e-12);
  expect_near(values(einsum("...ij,jk", {x, b})), values(matmul(x, b)), 1e-12);
  Tensor q = random({2, 3, 4, 5}, Dtype::Float64), k = random({2, 3, 6, 5}, Dtype::Float64);
  expect_near(values(einsum("bhqd,bhkd->bhqk", {q, k})), values(matmul(q, k.transpose(-1, -2))), 1e-12);
}

TEST(LinalgEinsum, ThreeOperandsAndBroadcasting) {
  Tensor a = random({3, 4}, Dtype::Float64), b = random({4, 5}, Dtype::Float64), c = random({5, 2}, Dtype::Float64);
  expect_near(values(einsum("ij,jk,kl->il", {a, b, c})), values(matmul(matmul(a, b), c)), 1e-12);
  // Ellipsis dims broadcast against each other.
  Tensor x = random({2, 1, 3}, Dtype::Float64), y = random({4, 3}, Dtype::Float64);
  Tensor r = einsum("...i,...i->...", {x, y});
  EXPECT_EQ(r.shape(), (Shape{2, 4}));
  expect_near(values(r), values(sum(mul(x, y), std::vector<int64_t>{-1})), 1e-12);
  // 0-d operands.
  Tensor s = scalar_tensor(Scalar(2.0), Dtype::Float64);
  expect_near(values(einsum(",ij->ij", {s, a})), values(mul(a, s)), 1e-12);
  EXPECT_EQ(einsum("->", {s}).dim(), 0);
}

TEST(LinalgEinsum, DtypesAndFreshResults) {
  Tensor i32 = randint(-5, 6, {3, 3}, Dtype::Int32);
  EXPECT_EQ(einsum("ij,jk->ik", {i32, i32}).dtype(), Dtype::Int32);
  EXPECT_EQ(values(einsum("ij,jk->ik", {i32, i32})), values(matmul(i32, i32)));
  EXPECT_EQ(einsum("ij->i", {i32}).dtype(), Dtype::Int32);
  // Mixed operands promote.
  EXPECT_EQ(einsum("i,i->", {random({3}), random({3}, Dtype::Float64)}).dtype(), Dtype::Float64);
  Tensor h = random({3, 4}, Dtype::Float16);
  EXPECT_EQ(einsum("ij,kj->ik", {h, h}).dtype(), Dtype::Float16);
  // A relabeling returns new storage, never the operand's.
  Tensor a = random({2, 3});
  Tensor same = einsum("ij->ij", {a});
  EXPECT_NE(same.storage(), a.storage());
  EXPECT_EQ(values(same), values(a));
}

TEST(LinalgEinsum, Errors) {
  Tensor a = ones({2, 3});
  auto has = [](const std::string& msg, const char* part) { return msg.find(part) != std::string::npos; };
  EXPECT_TRUE(has(error_of<ValueError>([&] { einsum("ij,jk->ik", {a}); }), "[einsum]"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { einsum("i1->i", {a}); }), "invalid subscript '1'"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { einsum("ij->k", {a}); }), "does not appear"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { einsum("ij->ii", {a}); }), "more than once"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { einsum("ijk->i", {a}); }), "[einsum]"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { einsum("ij->j->i", {a}); }), "[einsum]"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { einsum("......->", {a}); }), "more than one ellipsis"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { einsum("ij", {}); }), "[einsum]"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { einsum("ij,jk->ik", {a, ones({4, 2})}); }), "subscript 'j' has size 4"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { einsum("ii->i", {a}); }), "repeated"));
  EXPECT_TRUE(has(error_of<DTypeError>([&] { einsum("ij->ji", {ones({2, 2}, {Dtype::Bool})}); }), "[einsum]"));
}

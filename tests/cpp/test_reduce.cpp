// Reductions, scans, softmax and sorting through the C++ API: dtype rules, the fixed summation
// order, NaN handling, empty inputs and typed errors. (Values across every dtype and layout are
// checked against NumPy in tests/python/test_reduce.py.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "lamina/lamina.h"

using namespace lamina;

namespace {

std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

std::vector<int64_t> ints(const Tensor& t) {
  Tensor c = t.to(Dtype::Int64).contiguous();
  return std::vector<int64_t>(c.data<int64_t>(), c.data<int64_t>() + c.numel());
}

bool same_bits(const Tensor& a, const Tensor& b) {
  Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.dtype() == cb.dtype() && ca.shape() == cb.shape() &&
         std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

// Runs `f`, expecting error E whose message starts with "[op]".
template <class E, class F>
void expect_error(F&& f, const std::string& op) {
  try {
    f();
    ADD_FAILURE() << "expected an error from " << op;
  } catch (const E& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[" + op + "]", 0), 0u) << e.what();
    EXPECT_EQ(e.op(), op);
  }
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST(ReduceSum, DtypeRules) {
  Tensor i8 = tensor<int8_t>({100, 100, 100, 100});
  EXPECT_EQ(sum(i8).dtype(), Dtype::Int64);
  EXPECT_EQ(sum(i8).item<int64_t>(), 400);
  EXPECT_EQ(sum(i8, std::nullopt, false, Dtype::Int8).item<int64_t>(), -112);  // wraps like PyTorch
  EXPECT_EQ(prod(tensor<bool>({true, true})).dtype(), Dtype::Int64);
  EXPECT_EQ(sum(tensor<bool>({true, false, true})).item<int64_t>(), 2);
  EXPECT_EQ(sum(tensor<float>({1.5f, 2.5f}), std::nullopt, false, Dtype::Int32).item<int64_t>(), 3);  // casts first
  EXPECT_EQ(mean(tensor<int32_t>({1, 2}), std::nullopt, false, Dtype::Float64).item<double>(), 1.5);
  Tensor h = full({4096}, Scalar(1.0), {Dtype::Float16});
  EXPECT_EQ(sum(h).dtype(), Dtype::Float16);
  EXPECT_EQ(sum(h).item<double>(), 4096.0);  // accumulated in float, not half
}

TEST(ReduceSum, DimsKeepdimAndEmpty) {
  Tensor x = arange(Scalar(int64_t{24})).to(Dtype::Float32).reshape({2, 3, 4});
  Tensor s = sum(x, std::vector<int64_t>{0, -1}, true);
  EXPECT_EQ(s.shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(values(s), (std::vector<double>{60, 92, 124}));
  EXPECT_EQ(values(sum(x.transpose(0, 2), std::vector<int64_t>{1})), values(sum(x, std::vector<int64_t>{1}).t()));
  Tensor e = zeros({0, 3});
  EXPECT_EQ(values(sum(e, std::vector<int64_t>{0})), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(prod(e).item<double>(), 1.0);
  EXPECT_TRUE(std::isnan(mean(e).item<double>()));
  Tensor scalar = scalar_tensor(Scalar(2.5));
  EXPECT_EQ(sum(scalar, std::vector<int64_t>{-1}).item<double>(), 2.5);
  EXPECT_EQ(sum(scalar, std::vector<int64_t>{0}, true).dim(), 0);
}

TEST(ReduceSum, FixedOrderIsAccurateAndLayoutIndependent) {
  // 2^20 copies of 0.1f: a running float sum drifts by ~1%; the cascade stays within 1e-5.
  const int64_t n = int64_t{1} << 20;
  Tensor x = full({n}, Scalar(0.1));
  const double exact = static_cast<double>(n) * static_cast<double>(0.1f);
  EXPECT_NEAR(sum(x).item<double>(), exact, 1e-5 * exact);

  manual_seed(7);
  Tensor a = randn({777, 33});
  Tensor a_t = a.t().contiguous().t();  // same logical values, transposed memory
  for (DimList dims : {DimList{std::vector<int64_t>{0}}, DimList{std::vector<int64_t>{1}}, DimList{}}) {
    EXPECT_TRUE(same_bits(sum(a, dims), sum(a_t, dims)));
    EXPECT_TRUE(same_bits(mean(a, dims), mean(a_t, dims)));
    EXPECT_TRUE(same_bits(var(a, dims), var(a_t, dims)));
    EXPECT_TRUE(same_bits(norm(a, 2.0, dims), norm(a_t, 2.0, dims)));
  }
  EXPECT_TRUE(same_bits(sum(a.slice(0, 0, 777, 5)), sum(a.slice(0, 0, 777, 5).contiguous())));
  std::vector<double> ref(33, 0.0);
  std::vector<double> av = values(a);
  for (int64_t r = 0; r < 777; ++r)
    for (int64_t c = 0; c < 33; ++c) ref[c] += av[r * 33 + c];
  std::vector<double> got = values(sum(a, std::vector<int64_t>{0}));
  for (int64_t c = 0; c < 33; ++c) EXPECT_NEAR(got[c], ref[c], 1e-4);
}

TEST(ReduceExtreme, ValuesIndicesAndNaN) {
  Tensor x = tensor<float>({2, 7, 7, 1, 0, 9}, {2, 3});
  ValuesIndices m = max(x, 1);
  EXPECT_EQ(values(m.values), (std::vector<double>{7, 9}));
  EXPECT_EQ(ints(m.indices), (std::vector<int64_t>{1, 2}));  // the first of tied maxima
  EXPECT_EQ(m.indices.dtype(), Dtype::Int64);
  EXPECT_EQ(ints(argmin(x, 0, true)), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(argmax(x).item<int64_t>(), 5);
  EXPECT_EQ(max(x).dim(), 0);
  Tensor n = tensor<double>({1.0, kNaN, 3.0, kNaN});
  EXPECT_TRUE(std::isnan(max(n).item<double>()));
  EXPECT_TRUE(std::isnan(amin(n).item<double>()));
  EXPECT_EQ(argmax(n).item<int64_t>(), 1);
  EXPECT_EQ(amax(tensor<double>({-kInf, -kInf})).item<double>(), -kInf);
  EXPECT_EQ(min(tensor<int8_t>({-128, 127})).item<int64_t>(), -128);
}

TEST(ReduceStats, VarStdLogsumexpNorm) {
  Tensor x = tensor<double>({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(var(x).item<double>(), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(var(x, std::nullopt, 0.0).item<double>(), 1.25);
  EXPECT_DOUBLE_EQ(lamina::std(x, std::nullopt, 0.0).item<double>(), std::sqrt(1.25));
  EXPECT_EQ(var(tensor<double>({1, 2}), std::nullopt, 3.0).item<double>(), kInf);  // divisor max(n - c, 0)
  EXPECT_TRUE(std::isnan(var(tensor<double>({5})).item<double>()));
  EXPECT_NEAR(logsumexp(tensor<float>({1000, 1000}), std::vector<int64_t>{0}).item<double>(), 1000 + std::log(2.0),
              1e-3);
  EXPECT_EQ(logsumexp(tensor<int32_t>({0}), std::vector<int64_t>{0}).dtype(), Dtype::Float32);
  EXPECT_DOUBLE_EQ(norm(tensor<double>({3, -4})).item<double>(), 5.0);
  EXPECT_DOUBLE_EQ(norm(tensor<double>({3, -4}), 1.0).item<double>(), 7.0);
  EXPECT_DOUBLE_EQ(norm(tensor<double>({3, -4}), kInf).item<double>(), 4.0);
  EXPECT_DOUBLE_EQ(norm(tensor<double>({3, -4, 0}), 0.0).item<double>(), 2.0);
  EXPECT_EQ(all(tensor<float>({1, NAN})).item<bool>(), true);
  EXPECT_EQ(any(zeros({0})).item<bool>(), false);
  EXPECT_EQ(all(tensor<int32_t>({1, 0}, {1, 2}), std::vector<int64_t>{0}).dtype(), Dtype::Bool);
}

TEST(ReduceScan, CumsumCumprod) {
  Tensor x = tensor<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor c = cumsum(x, 1);
  EXPECT_EQ(c.dtype(), Dtype::Int64);
  EXPECT_EQ(ints(c), (std::vector<int64_t>{1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(ints(cumsum(x, 0)), (std::vector<int64_t>{1, 2, 3, 5, 7, 9}));
  EXPECT_EQ(ints(cumprod(x.t(), -1)), (std::vector<int64_t>{1, 4, 2, 10, 3, 18}));
  EXPECT_EQ(cumsum(x, 0, Dtype::Float32).dtype(), Dtype::Float32);
}

TEST(ReduceSoftmax, StableAlongAnyDim) {
  Tensor x = tensor<float>({1000, 1000, -1000, 1, 2, 3}, {2, 3});
  std::vector<double> s = values(softmax(x, 1));
  EXPECT_NEAR(s[0], 0.5, 1e-7);
  EXPECT_NEAR(s[2], 0.0, 1e-7);
  EXPECT_NEAR(values(log_softmax(x, -1))[0], std::log(0.5), 1e-6);
  std::vector<double> cols = values(softmax(x, 0));  // a strided line per column
  EXPECT_NEAR(cols[0], 1.0, 1e-7);
  EXPECT_NEAR(cols[2] + cols[5], 1.0, 1e-6);
  EXPECT_EQ(values(softmax(x.t(), 1)), values(softmax(x, 0).t()));
  Tensor inf_row = tensor<float>({-INFINITY, -INFINITY});
  EXPECT_TRUE(std::isnan(values(softmax(inf_row, 0))[0]));
  EXPECT_EQ(softmax(tensor<int32_t>({1, 2}), 0, Dtype::Float64).dtype(), Dtype::Float64);
}

TEST(ReduceSort, StableWithNaNAndTopk) {
  Tensor x = tensor<float>({3, NAN, 1, 3, -INFINITY});
  ValuesIndices up = sort(x);
  EXPECT_EQ(ints(up.indices), (std::vector<int64_t>{4, 2, 0, 3, 1}));
  ValuesIndices down = sort(x, 0, true);
  EXPECT_EQ(ints(down.indices), (std::vector<int64_t>{1, 0, 3, 2, 4}));
  EXPECT_TRUE(std::isnan(values(down.values)[0]));
  EXPECT_EQ(ints(argsort(tensor<int64_t>({2, 1, 2, 1}))), (std::vector<int64_t>{1, 3, 0, 2}));
  ValuesIndices top = topk(x, 2);
  EXPECT_EQ(ints(top.indices), (std::vector<int64_t>{1, 0}));
  ValuesIndices low = topk(x, 3, 0, false);
  EXPECT_EQ(ints(low.indices), (std::vector<int64_t>{4, 2, 0}));
  Tensor m = tensor<int32_t>({5, 1, 4, 2, 8, 0}, {3, 2});
  ValuesIndices cols = sort(m, 0);
  EXPECT_EQ(ints(cols.values), (std::vector<int64_t>{4, 0, 5, 1, 8, 2}));
  EXPECT_TRUE(cols.values.is_contiguous());
  EXPECT_EQ(topk(m, 1, 0).values.shape(), (Shape{1, 2}));
}

TEST(ReduceErrors, TypedWithOpName) {
  Tensor x = ones({2, 3});
  expect_error<IndexError>([&] { sum(x, std::vector<int64_t>{2}); }, "sum");
  expect_error<ValueError>([&] { amax(x, std::vector<int64_t>{0, -2}); }, "amax");
  expect_error<DTypeError>([&] { mean(tensor<int32_t>({1})); }, "mean");
  expect_error<DTypeError>([&] { var(tensor<int64_t>({1})); }, "var");
  expect_error<DTypeError>([&] { norm(tensor<bool>({true})); }, "norm");
  expect_error<DTypeError>([&] { softmax(tensor<int32_t>({1}), 0); }, "softmax");
  expect_error<ValueError>([&] { max(zeros({0})); }, "max");
  expect_error<IndexError>([&] { max(zeros({2, 0}), 1); }, "max");
  expect_error<IndexError>([&] { argmin(zeros({2, 0}), -1); }, "argmin");
  expect_error<ValueError>([&] { norm(zeros({0}), kInf); }, "norm");
  expect_error<IndexError>([&] { topk(x, 4); }, "topk");
  expect_error<IndexError>([&] { topk(x, -1); }, "topk");
  expect_error<IndexError>([&] { cumsum(x, 2); }, "cumsum");
  expect_error<IndexError>([&] { sort(x, -3); }, "sort");
  expect_error<ValueError>([&] { sum(Tensor()); }, "sum");
}

// Random shapes and strided views (permuted, stepped, reversed, broadcast) against their
// contiguous copies. Sums follow one fixed order over the logical elements, so even floating
// results must match bit for bit.
TEST(ReduceStress, StridedViewsMatchContiguousCopies) {
  manual_seed(11);
  std::vector<int64_t> draws = ints(randint(0, 1 << 20, {4000}));
  size_t next = 0;
  auto pick = [&](int64_t n) { return draws[next++ % draws.size()] % n; };
  for (int it = 0; it < 150; ++it) {
    const int64_t nd = 1 + pick(4);
    Shape shape;
    for (int64_t d = 0; d < nd; ++d) shape.push_back(pick(8) == 0 ? pick(2) : 1 + pick(9));
    Tensor v = randn(shape, {it % 3 == 0 ? Dtype::Float64 : Dtype::Float32});
    std::vector<int64_t> perm(nd);
    for (int64_t d = 0; d < nd; ++d) perm[d] = d;
    for (int64_t d = nd - 1; d > 0; --d) std::swap(perm[d], perm[pick(d + 1)]);
    v = v.permute(perm);
    const int64_t sd = pick(nd);
    if (v.shape()[sd] > 1) v = pick(2) ? v.slice(sd, 0, v.shape()[sd], 2) : v.slice(sd, -1, -v.shape()[sd] - 1, -1);
    for (int64_t d = 0; d < nd; ++d) {
      if (v.shape()[d] == 1 && pick(2)) {
        Shape big = v.shape();
        big[d] = 3;
        v = v.expand(big);
      }
    }
    const Tensor c = v.contiguous();
    std::vector<int64_t> dims;
    for (int64_t d = 0; d < nd; ++d)
      if (pick(2)) dims.push_back(pick(2) ? d : d - nd);
    const DimList dl = dims.empty() ? DimList{} : DimList{dims};
    const bool kd = pick(2);
    SCOPED_TRACE("shape " + describe(v) + " iteration " + std::to_string(it));
    EXPECT_TRUE(same_bits(sum(v, dl, kd), sum(c, dl, kd)));
    EXPECT_TRUE(same_bits(mean(v, dl, kd), mean(c, dl, kd)));
    EXPECT_TRUE(same_bits(prod(v, dl, kd), prod(c, dl, kd)));
    EXPECT_TRUE(same_bits(var(v, dl, 1.0, kd), var(c, dl, 1.0, kd)));
    EXPECT_TRUE(same_bits(norm(v, 2.0, dl, kd), norm(c, 2.0, dl, kd)));
    EXPECT_TRUE(same_bits(norm(v, 3.0, dl, kd), norm(c, 3.0, dl, kd)));
    EXPECT_TRUE(same_bits(logsumexp(v, dl, kd), logsumexp(c, dl, kd)));
    EXPECT_TRUE(same_bits(any(gt(v, Scalar(0.5)), dl, kd), any(gt(c, Scalar(0.5)), dl, kd)));
    EXPECT_TRUE(same_bits(all(gt(v, Scalar(-1.5)), dl, kd), all(gt(c, Scalar(-1.5)), dl, kd)));
    EXPECT_TRUE(same_bits(sum(gt(v, Scalar(0.0)), dl, kd), sum(gt(c, Scalar(0.0)), dl, kd)));
    bool empty_reduced = v.numel() == 0;
    for (int64_t d = 0; d < nd; ++d)
      if (v.shape()[d] == 0 &&
          (dims.empty() || std::count(dims.begin(), dims.end(), d) || std::count(dims.begin(), dims.end(), d - nd)))
        empty_reduced = true;
    if (!empty_reduced) {
      EXPECT_TRUE(same_bits(amax(v, dl, kd), amax(c, dl, kd)));
      EXPECT_TRUE(same_bits(amin(v, dl, kd), amin(c, dl, kd)));
    }
    const int64_t d = pick(nd);
    EXPECT_TRUE(same_bits(cumsum(v, d), cumsum(c, d)));
    EXPECT_TRUE(same_bits(cumprod(v, d), cumprod(c, d)));
    EXPECT_TRUE(same_bits(softmax(v, d), softmax(c, d)));
    EXPECT_TRUE(same_bits(log_softmax(v, d), log_softmax(c, d)));
    ValuesIndices sv = sort(v, d, kd), sc = sort(c, d, kd);
    EXPECT_TRUE(same_bits(sv.values, sc.values) && same_bits(sv.indices, sc.indices));
    const int64_t k = std::min<int64_t>(v.shape()[d], 2);
    ValuesIndices tv = topk(v, k, d, kd), tc = topk(c, k, d, kd);
    EXPECT_TRUE(same_bits(tv.values, tc.values) && same_bits(tv.indices, tc.indices));
    if (v.shape()[d] > 0) {
      ValuesIndices mv = max(v, d, kd), mc = max(c, d, kd);
      EXPECT_TRUE(same_bits(mv.values, mc.values) && same_bits(mv.indices, mc.indices));
      EXPECT_TRUE(same_bits(argmin(v, d), argmin(c, d)));
    }
  }
}

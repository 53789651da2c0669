// Op families through the C++ API: reductions, indexing, joins, linalg, printing.
#include <gtest/gtest.h>

#include <cmath>

#include "lamina/lamina.h"

using namespace lamina;

namespace {
std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}
Tensor iota(const Shape& shape) { return arange(Scalar(shape_numel(shape))).to(Dtype::Float32).reshape(shape); }
}  // namespace

TEST(Ops, Reductions) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(values(sum(x)), (std::vector<double>{15}));
  EXPECT_EQ(values(sum(x, std::vector<int64_t>{1})), (std::vector<double>{3, 12}));
  EXPECT_EQ(sum(x, std::vector<int64_t>{0}, true).shape(), (Shape{1, 3}));
  EXPECT_EQ(values(mean(x, std::vector<int64_t>{0})), (std::vector<double>{1.5, 2.5, 3.5}));
  ValuesIndices m = max(x, 1);
  EXPECT_EQ(values(m.values), (std::vector<double>{2, 5}));
  EXPECT_EQ(values(m.indices), (std::vector<double>{2, 2}));
  EXPECT_EQ(argmin(x).item<int64_t>(), 0);
  EXPECT_NEAR(var(x).item<double>(), 3.5, 1e-6);
  EXPECT_EQ(sum(tensor<int32_t>({1, 2})).dtype(), Dtype::Int64);
  EXPECT_THROW(mean(tensor<int32_t>({1, 2})), DTypeError);
  EXPECT_THROW(max(zeros({0})), ValueError);
  EXPECT_THROW(sum(x, std::vector<int64_t>{2}), IndexError);
}

TEST(Ops, SoftmaxIsStable) {
  Tensor x = tensor<float>({1000.0f, 1000.0f, -1000.0f});
  std::vector<double> s = values(softmax(x, 0));
  EXPECT_NEAR(s[0], 0.5, 1e-7);
  EXPECT_NEAR(s[2], 0.0, 1e-7);
  EXPECT_NEAR(values(log_softmax(x, 0))[0], std::log(0.5), 1e-6);
}

TEST(Ops, IndexingViewsAndCopies) {
  Tensor x = iota({3, 4});
  Tensor row = index(x, {int64_t{1}});
  EXPECT_EQ(row.storage(), x.storage());
  EXPECT_EQ(values(row), (std::vector<double>{4, 5, 6, 7}));
  Tensor picked = index(x, {Slice{}, tensor<int64_t>({3, 0})});
  EXPECT_EQ(picked.shape(), (Shape{3, 2}));
  EXPECT_EQ(values(picked), (std::vector<double>{3, 0, 7, 4, 11, 8}));
  Tensor masked = index(x, {gt(x, Scalar(9))});
  EXPECT_EQ(values(masked), (std::vector<double>{10, 11}));
  index_put_(x, {tensor<int64_t>({0, 2}), tensor<int64_t>({0, 3})}, tensor<float>({-1, -2}));
  EXPECT_EQ(values(x)[0], -1);
  EXPECT_EQ(values(x)[11], -2);
  uint64_t v = x.version();
  EXPECT_THROW(index_put_(x, {tensor<int64_t>({5})}, scalar_tensor(Scalar(1.0))), IndexError);
  EXPECT_EQ(x.version(), v);
  EXPECT_EQ(values(gather(iota({2, 2}), 1, tensor<int64_t>({1, 0, 0, 0}, {2, 2}))), (std::vector<double>{1, 0, 2, 2}));
}

TEST(Ops, JoinAndTriangles) {
  Tensor a = iota({2, 2});
  Tensor c = cat({a, a}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 4}));
  EXPECT_EQ(values(c), (std::vector<double>{0, 1, 0, 1, 2, 3, 2, 3}));
  EXPECT_EQ(stack({a, a}).shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(split(iota({5}), 2).size(), 3u);
  EXPECT_EQ(values(tril(a)), (std::vector<double>{0, 0, 2, 3}));
  EXPECT_EQ(values(pad(iota({2}), {1, 1})), (std::vector<double>{0, 0, 1, 0}));
  EXPECT_EQ(values(one_hot(tensor<int64_t>({1}), 3)), (std::vector<double>{0, 1, 0}));
  EXPECT_THROW(cat({a, iota({3})}), ShapeError);
}

TEST(Ops, MatmulAndEinsum) {
  Tensor a = iota({2, 3}), b = iota({3, 2});
  EXPECT_EQ(values(matmul(a, b)), (std::vector<double>{10, 13, 28, 40}));
  EXPECT_EQ(values(matmul(a.t().contiguous().t(), b)), (std::vector<double>{10, 13, 28, 40}));
  EXPECT_EQ(values(einsum("ij,jk->ik", {a, b})), (std::vector<double>{10, 13, 28, 40}));
  EXPECT_EQ(values(einsum("ii", {iota({2, 2})})), (std::vector<double>{3}));
  EXPECT_EQ(matmul(iota({4, 1, 2, 3}), iota({5, 3, 2})).shape(), (Shape{4, 5, 2, 2}));
  EXPECT_EQ(values(matmul(a.to(Dtype::Int32), b.to(Dtype::Int32))), (std::vector<double>{10, 13, 28, 40}));
  EXPECT_THROW(matmul(a, a), ShapeError);
}

TEST(Ops, PrintsLikePyTorch) {
  EXPECT_EQ(iota({3}).str(), "tensor([0., 1., 2.])");
  EXPECT_EQ(tensor<float>({1.5f, -2.0f, 3.0f, 4.0f}, {2, 2}).str(),
            "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]])");
  EXPECT_EQ(tensor<int64_t>({1, 2, 3}).str(), "tensor([1, 2, 3])");
  EXPECT_EQ(tensor<bool>({true, false}).str(), "tensor([ True, False])");
  EXPECT_EQ(scalar_tensor(Scalar(3.5)).str(), "tensor(3.5000)");
  EXPECT_EQ(tensor<float>({1e-5f, 1e5f}).str(), "tensor([1.0000e-05, 1.0000e+05])");
  EXPECT_EQ(zeros({0, 3}).str(), "tensor([], size=(0, 3))");
  EXPECT_EQ(tensor<int32_t>({1, 2}).str(), "tensor([1, 2], dtype=lamina.int32)");
  EXPECT_EQ(tensor<float>({NAN, INFINITY, 1.0f}).str(), "tensor([nan, inf, 1.])");
  EXPECT_EQ(arange(Scalar(int64_t{2000})).str(), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
}

TEST(ElementwiseTable, TypedIdsAreTheInternedIds) {
  EXPECT_EQ(runtime::op_id("add"), runtime::op_id(kernels::Op::add));
  EXPECT_EQ(runtime::op_id("hypot"), runtime::op_id(kernels::Op::hypot));
  EXPECT_EQ(runtime::op_name(runtime::op_id(kernels::Op::logaddexp)), "logaddexp");
  EXPECT_EQ(kernels::op_name(kernels::Op::clamp), "clamp");
  EXPECT_TRUE(runtime::has_kernel(runtime::op_id(kernels::Op::copysign), kCPU, Dtype::Float32));
  EXPECT_FALSE(runtime::has_kernel(runtime::op_id(kernels::Op::copysign), kCPU, Dtype::Int32));
}

TEST(ElementwiseTable, HypotLogAddExpCopySign) {
  const Tensor a = tensor(std::vector<double>{3.0, -1e30, 0.0, -2.0}),
               b = tensor(std::vector<double>{4.0, 5.0, -0.0, 0.5});
  const Tensor h = hypot(a, b), l = logaddexp(a, b), c = copysign(a, b);
  const double* ph = h.data<double>();
  const double* pl = l.data<double>();
  const double* pc = c.data<double>();
  for (int i = 0; i < 4; ++i) {
    const double x = a.data<double>()[i], y = b.data<double>()[i];
    EXPECT_DOUBLE_EQ(ph[i], std::hypot(x, y));
    EXPECT_DOUBLE_EQ(pl[i], x == y ? x + std::log(2.0) : std::max(x, y) + std::log1p(std::exp(-std::fabs(x - y))));
    EXPECT_EQ(std::signbit(pc[i]), std::signbit(y));
    EXPECT_DOUBLE_EQ(std::fabs(pc[i]), std::fabs(x));
  }
  EXPECT_EQ(hypot(tensor(std::vector<int64_t>{3, 5}), Scalar(4)).dtype(),
            Dtype::Float32);  // integers compute in float32
  EXPECT_THROW(hypot(ones({2, 3}), ones({4})), ShapeError);
  Tensor i = tensor(std::vector<int64_t>{1, 2});
  EXPECT_THROW(copysign_(i, tensor(std::vector<double>{1.0, -1.0})), DTypeError);
  EXPECT_EQ(i.data<int64_t>()[1], 2);
}

TEST(ElementwiseTable, EveryKernelFamilyHasTypedIds) {
  EXPECT_EQ(runtime::op_id("sum"), runtime::op_id(kernels::Op::sum));
  EXPECT_EQ(runtime::op_id("adagrad_step"), runtime::op_id(kernels::Op::adagrad_step));
  EXPECT_EQ(kernels::op_name(kernels::Op::max_pool2d), "max_pool2d");
  EXPECT_EQ(runtime::op_id(kernels::Op::adagrad_step) + 1, kernels::kNumTypedOps);
  EXPECT_TRUE(runtime::has_kernel(runtime::op_id(kernels::Op::cumulative), kCPU, Dtype::Int64));
}

// The integer division kernels find a zero divisor themselves (KernelParams::status); the op
// raises after the launch, and the in-place form leaves its operand as it was.
TEST(ElementwiseTable, KernelsReportBadIntegerInputs) {
  std::vector<int32_t> values(100000), divisors(100000, 7);
  for (size_t k = 0; k < values.size(); ++k) values[k] = static_cast<int32_t>(k * 37 % 1001) - 500;
  divisors[99999] = 0;
  Tensor a = tensor(values), b = tensor(divisors);
  EXPECT_THROW(floor_divide(a, b), ValueError);
  EXPECT_THROW(remainder_(a, b), ValueError);
  EXPECT_THROW(fmod_(a, Scalar(0)), ValueError);
  for (size_t k = 0; k < values.size(); ++k) ASSERT_EQ(a.data<int32_t>()[k], values[k]);
  divisors[99999] = -3;
  const Tensor q = floor_divide(a, tensor(divisors));
  EXPECT_EQ(q.data<int32_t>()[99999], static_cast<int32_t>(std::floor(values[99999] / -3.0)));
  EXPECT_THROW(pow(a, tensor(std::vector<int32_t>(100000, -1))), ValueError);
  EXPECT_THROW(pow_(a, Scalar(-2)), ValueError);
  EXPECT_EQ(a.data<int32_t>()[1], values[1]);
  EXPECT_NO_THROW(floor_divide(tensor(std::vector<double>{1.0}), Scalar(0.0)));  // floats: inf, no error
}

// Indexing through the C++ API: basic and advanced index / index_put_, index_select, take,
// gather / scatter, take_along_dim, masks and nonzero; every error leaves inputs unchanged.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lamina/lamina.h"

using namespace lamina;

namespace {

std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}
Tensor iota(const Shape& shape, Dtype dt = Dtype::Float32) {
  return arange(Scalar(shape_numel(shape))).to(dt).reshape(shape);
}
Tensor ints(const std::vector<int64_t>& v, const Shape& shape = {}) {
  return shape.empty() ? tensor<int64_t>(v) : tensor<int64_t>(v, shape);
}
Tensor bools(const std::vector<bool>& v, const Shape& shape) {
  std::vector<uint8_t> raw(v.begin(), v.end());
  return tensor<uint8_t>(raw, shape).to(Dtype::Bool);
}
bool same(const Tensor& a, const Tensor& b) { return a.shape() == b.shape() && values(a) == values(b); }

}  // namespace

TEST(IndexBasic, IntegersSlicesNoneEllipsisAreViews) {
  Tensor x = iota({2, 3, 4});
  Tensor r = index(x, {int64_t{1}, Slice{std::nullopt, std::nullopt, -2}, NewAxis{}, int64_t{-1}});
  EXPECT_EQ(r.shape(), (Shape{2, 1}));
  EXPECT_EQ(values(r), (std::vector<double>{23, 15}));
  EXPECT_EQ(r.storage(), x.storage());
  Tensor e = index(x, {Ellipsis{}, int64_t{0}});
  EXPECT_EQ(e.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(e), (std::vector<double>{0, 4, 8, 12, 16, 20}));
  Tensor a = index(x, {});
  EXPECT_FALSE(a.is_same(x));  // a new handle on the same data
  EXPECT_EQ(a.storage(), x.storage());
  EXPECT_EQ(index(x, {Slice{1, 100}}).shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(index(x, {Slice{-100, -1}}).shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(index(x, {Slice{2, 0}}).shape(), (Shape{0, 3, 4}));
}

TEST(IndexBasic, HugeStepsPickOneElement) {
  Tensor x = iota({10});
  EXPECT_EQ(values(index(x, {Slice{std::nullopt, std::nullopt, INT64_MAX}})), (std::vector<double>{0}));
  EXPECT_EQ(values(index(x, {Slice{std::nullopt, std::nullopt, INT64_MIN + 1}})), (std::vector<double>{9}));
  EXPECT_EQ(values(index(x, {Slice{5, std::nullopt, -(int64_t{1} << 62)}})), (std::vector<double>{5}));
  EXPECT_EQ(values(index(x, {Slice{INT64_MIN, INT64_MAX, 4}})), (std::vector<double>{0, 4, 8}));
  EXPECT_THROW(index(x, {Slice{0, 3, 0}}), ValueError);
}

TEST(IndexBasic, ZeroDim) {
  Tensor s = scalar_tensor(Scalar(2.5));
  EXPECT_EQ(index(s, {}).dim(), 0);
  EXPECT_EQ(index(s, {NewAxis{}}).shape(), (Shape{1}));
  EXPECT_EQ(index(s, {Ellipsis{}}).dim(), 0);
  EXPECT_EQ(index(s, {true}).shape(), (Shape{1}));
  EXPECT_EQ(index(s, {false}).shape(), (Shape{0}));
  EXPECT_EQ(index(s, {scalar_tensor(Scalar(true))}).shape(), (Shape{1}));
  EXPECT_THROW(index(s, {int64_t{0}}), IndexError);
}

TEST(IndexAdvanced, IntegerArraysAndPlacement) {
  Tensor x = iota({2, 3, 4});
  // Adjacent advanced dims stay in place.
  Tensor a = index(x, {Slice{}, ints({2, 0}), ints({-1, 1})});
  EXPECT_EQ(a.shape(), (Shape{2, 2}));
  EXPECT_EQ(values(a), (std::vector<double>{11, 1, 23, 13}));
  // Separated advanced dims go first.
  Tensor b = index(x, {ints({1, 0}), Slice{}, ints({3, 2})});
  EXPECT_EQ(b.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(b), (std::vector<double>{15, 19, 23, 2, 6, 10}));
  // An integer is a select (PyTorch): the array stays in place after it.
  Tensor c = index(x, {int64_t{1}, Slice{}, ints({0, 3})});
  EXPECT_EQ(c.shape(), (Shape{3, 2}));
  EXPECT_EQ(values(c), (std::vector<double>{12, 15, 16, 19, 20, 23}));
  // A 0-d integer tensor acts as an integer.
  EXPECT_EQ(index(x, {scalar_tensor(Scalar(int64_t{1})), Slice{}, ints({0, 3})}).shape(), (Shape{3, 2}));
  // Broadcasting index arrays: (2, 1) with (3,) -> (2, 3).
  Tensor d = index(x, {ints({0, 1}, {2, 1}), ints({0, 2, 1}), int64_t{3}});
  EXPECT_EQ(d.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(d), (std::vector<double>{3, 11, 7, 15, 23, 19}));
  // Index dtypes int32 and int8 work like int64; a uint8 tensor is a mask (PyTorch).
  EXPECT_TRUE(same(index(x, {ints({1, 0}).to(Dtype::Int32)}), index(x, {ints({1, 0})})));
  EXPECT_TRUE(same(index(x, {ints({-1}).to(Dtype::Int8)}), index(x, {ints({1})})));
  EXPECT_EQ(index(x, {ints({1, 0}).to(Dtype::UInt8)}).shape(), (Shape{1, 3, 4}));
  // Results are copies.
  EXPECT_NE(a.storage(), x.storage());
}

TEST(IndexAdvanced, MasksAndBools) {
  Tensor x = iota({2, 3});
  Tensor m = gt(x, Scalar(2.5));
  EXPECT_EQ(values(index(x, {m})), (std::vector<double>{3, 4, 5}));
  EXPECT_EQ(values(index(x, {Slice{}, bools({true, false, true}, {3})})), (std::vector<double>{0, 2, 3, 5}));
  EXPECT_EQ(index(x, {gt(x, Scalar(100))}).shape(), (Shape{0}));
  EXPECT_EQ(index(x, {true, int64_t{1}}).shape(), (Shape{1, 3}));
  EXPECT_EQ(index(x, {false}).shape(), (Shape{0, 2, 3}));
  // Mask on a reversed, transposed view.
  Tensor v = x.t().slice(0, INT64_MAX, INT64_MIN, -1);  // (3, 2)
  Tensor mv = gt(v, Scalar(1.5));
  EXPECT_EQ(values(index(v, {mv})), (std::vector<double>{2, 5, 4, 3}));
  // Mask and an index array together broadcast: mask has 2 true rows -> (2,) with (1,).
  Tensor y = iota({3, 4});
  EXPECT_EQ(values(index(y, {bools({true, false, true}, {3}), ints({1})})), (std::vector<double>{1, 9}));
}

TEST(IndexAdvanced, EmptyAndNonContiguous) {
  Tensor x = iota({0, 3});
  EXPECT_EQ(index(x, {ints({})}).shape(), (Shape{0, 3}));
  EXPECT_EQ(index(x, {Slice{}, ints({2, 2})}).shape(), (Shape{0, 2}));
  EXPECT_THROW(index(x, {ints({0})}), IndexError);
  Tensor t = iota({4, 5}, Dtype::Float64).t();  // (5, 4), strided
  Tensor r = index(t, {ints({4, 0}), Slice{1, std::nullopt, 2}});
  EXPECT_EQ(values(r), (std::vector<double>{9, 19, 5, 15}));
}

TEST(IndexAdvanced, EveryDtype) {
  for (Dtype dt : {Dtype::Float32, Dtype::Float64, Dtype::Float16, Dtype::BFloat16, Dtype::Int8, Dtype::UInt8,
                   Dtype::Int32, Dtype::Int64, Dtype::Bool}) {
    Tensor x = remainder(iota({3, 4}, Dtype::Float32), Scalar(7)).to(dt);
    Tensor r = index(x, {ints({2, 0}), ints({3, 1})});
    EXPECT_EQ(r.dtype(), dt);
    Tensor ref = remainder(iota({3, 4}, Dtype::Float32), Scalar(7)).to(dt).to(Dtype::Float64);
    EXPECT_EQ(values(r), (std::vector<double>{values(ref)[11], values(ref)[1]}));
    Tensor y = zeros({3, 4}, {dt});
    index_put_(y, {ints({1}), Slice{}}, ones({4}, {dt}));
    EXPECT_EQ(values(sum(y.to(Dtype::Float64))), (std::vector<double>{4}));
  }
}

TEST(IndexErrors, TypedAndNamed) {
  Tensor x = iota({3, 4});
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THROW(index(x, {int64_t{3}}), IndexError);
  EXPECT_THROW(index(x, {int64_t{-4}}), IndexError);
  EXPECT_THROW(index(x, {ints({0, 3})}), IndexError);
  EXPECT_THROW(index(x, {Slice{}, ints({-5})}), IndexError);
  EXPECT_THROW(index(x, {int64_t{0}, int64_t{0}, int64_t{0}}), IndexError);
  EXPECT_THROW(index(x, {Ellipsis{}, Ellipsis{}}), IndexError);
  EXPECT_THROW(index(x, {bools({true, false}, {2})}), IndexError);
  EXPECT_THROW(index(x, {bools({true, false}, {2})}), ShapeError);  // IndexError is a ShapeError
  EXPECT_THROW(index(x, {tensor<float>({0.0f})}), IndexError);
  EXPECT_THROW(index(x, {ints({0, 1}), ints({0, 1, 2})}), IndexError);
  EXPECT_THROW(index(x, {Tensor()}), ValueError);
  EXPECT_NE(message([&] { index(x, {ints({7})}); }).find("[index] index 7 is out of bounds for dimension 0"),
            std::string::npos);
  EXPECT_NE(message([&] { index(x, {ints({0, 1}), ints({0, 1, 2})}); }).find("shape mismatch"), std::string::npos);
}

TEST(IndexPut, BasicAndAdvancedAssignment) {
  Tensor x = zeros({3, 4});
  index_put_(x, {int64_t{1}}, tensor<float>({1, 2, 3, 4}));
  index_put_(x, {Slice{}, int64_t{0}}, Scalar(9.0));
  index_put_(x, {ints({0, 2}), ints({3, 1})}, tensor<double>({-1.5, -2.5}));  // converts dtype
  EXPECT_EQ(values(x), (std::vector<double>{9, 0, 0, -1.5, 9, 2, 3, 4, 9, -2.5, 0, 0}));
  // Values broadcast, and extra leading size-1 dims are dropped.
  Tensor y = zeros({2, 3});
  index_put_(y, {ints({1, 0})}, tensor<float>({1, 2, 3}, {1, 1, 3}));
  EXPECT_EQ(values(y), (std::vector<double>{1, 2, 3, 1, 2, 3}));
  index_put_(y, {int64_t{0}}, tensor<float>({7, 8, 9}, {1, 3}));
  EXPECT_EQ(values(y), (std::vector<double>{7, 8, 9, 1, 2, 3}));
  // Mask assignment and int conversion (truncation) of a float scalar.
  Tensor z = iota({2, 3}, Dtype::Int64);
  index_put_(z, {gt(z, Scalar(3))}, Scalar(2.7));
  EXPECT_EQ(values(z), (std::vector<double>{0, 1, 2, 3, 2, 2}));
  // Repeated indices: last write wins; accumulate adds them up.
  Tensor w = zeros({3});
  index_put_(w, {ints({0, 0, 2})}, tensor<float>({1, 2, 3}));
  EXPECT_EQ(values(w), (std::vector<double>{2, 0, 3}));
  index_put_(w, {ints({0, 0, 2})}, tensor<float>({1, 2, 3}), true);
  EXPECT_EQ(values(w), (std::vector<double>{5, 0, 6}));
  // Separated advanced dims: values are laid out with the index dims first.
  Tensor s = zeros({2, 3, 2});
  index_put_(s, {ints({0, 1}), Slice{}, ints({1, 0})}, iota({2, 3}));
  EXPECT_EQ(values(s), (std::vector<double>{0, 0, 0, 1, 0, 2, 3, 0, 4, 0, 5, 0}));
  // A copy-returning variant leaves the input alone.
  Tensor c = index_put(s, {int64_t{0}}, scalar_tensor(Scalar(1.0)));
  EXPECT_EQ(values(sum(c)), (std::vector<double>{6 + 12}));
  EXPECT_EQ(values(sum(s)), (std::vector<double>{15}));
}

TEST(IndexPut, AliasedValuesAreReadBeforeWriting) {
  Tensor x = iota({4});
  index_put_(x, {ints({1, 2, 3, 0})}, x);
  EXPECT_EQ(values(x), (std::vector<double>{3, 0, 1, 2}));
  Tensor y = iota({5});
  index_put_(y, {Slice{1}}, index(y, {Slice{std::nullopt, -1}}));
  EXPECT_EQ(values(y), (std::vector<double>{0, 0, 1, 2, 3}));
  Tensor z = iota({2, 3});
  index_put_(z, {ints({1, 0})}, z);
  EXPECT_EQ(values(z), (std::vector<double>{3, 4, 5, 0, 1, 2}));
}

TEST(IndexPut, FailuresLeaveTensorUnchanged) {
  Tensor x = iota({3, 4});
  const std::vector<double> before = values(x);
  const uint64_t version = x.version();
  EXPECT_THROW(index_put_(x, {ints({0, 3})}, Scalar(1.0)), IndexError);
  EXPECT_THROW(index_put_(x, {ints({0, 1}), ints({0, 9})}, Scalar(1.0)), IndexError);
  EXPECT_THROW(index_put_(x, {ints({0, 1})}, ones({3, 4})), ShapeError);
  EXPECT_THROW(index_put_(x, {int64_t{0}}, ones({5})), ShapeError);
  EXPECT_THROW(index_put_(x, {int64_t{0}}, ones({2, 4})), ShapeError);
  EXPECT_THROW(index_put_(x, {bools({true}, {1})}, Scalar(1.0)), IndexError);
  EXPECT_THROW(index_put_(x, {tensor<float>({1.0f})}, Scalar(1.0)), IndexError);
  EXPECT_THROW(index_put_(x.expand({2, 3, 4}), {int64_t{0}}, Scalar(1.0)), ValueError);
  EXPECT_EQ(values(x), before);
  EXPECT_EQ(x.version(), version);
  index_put_(x, {int64_t{0}}, Scalar(1.0));
  EXPECT_GT(x.version(), version);
}

TEST(IndexSelect, MatchesIndexAndRejectsBadIndices) {
  Tensor x = iota({3, 4});
  EXPECT_EQ(values(index_select(x, 1, ints({3, 0, 3}))), (std::vector<double>{3, 0, 3, 7, 4, 7, 11, 8, 11}));
  EXPECT_EQ(index_select(x, -2, ints({2}).to(Dtype::Int32)).shape(), (Shape{1, 4}));
  EXPECT_EQ(index_select(x, 0, scalar_tensor(Scalar(int64_t{1}))).shape(), (Shape{1, 4}));
  EXPECT_EQ(index_select(scalar_tensor(Scalar(4.0)), 0, ints({0})).dim(), 0);
  EXPECT_THROW(index_select(x, 0, ints({-1})), IndexError);  // no wrapping, like PyTorch
  EXPECT_THROW(index_select(x, 0, ints({3})), IndexError);
  EXPECT_THROW(index_select(x, 2, ints({0})), IndexError);
  EXPECT_THROW(index_select(x, 0, ints({0, 1}, {1, 2})), IndexError);
  EXPECT_THROW(index_select(x, 0, tensor<float>({0})), IndexError);
  EXPECT_EQ(values(take(x, ints({-1, 5, 0}, {1, 3}))), (std::vector<double>{11, 5, 0}));
  EXPECT_EQ(take(x.t(), ints({1})).item<float>(), 4.0f);
  EXPECT_THROW(take(x, ints({12})), IndexError);
}

TEST(IndexGather, GatherScatterAlongDims) {
  Tensor x = iota({3, 4});
  Tensor g = gather(x, 1, ints({3, 0, 1, 1, 2, 2}, {3, 2}));
  EXPECT_EQ(values(g), (std::vector<double>{3, 0, 5, 5, 10, 10}));
  EXPECT_EQ(values(gather(x.t(), 0, ints({1, 0}, {1, 2}))), (std::vector<double>{1, 4}));
  EXPECT_EQ(values(gather(x, -2, ints({2, 0}, {1, 2}))), (std::vector<double>{8, 1}));
  Tensor s = scatter(zeros({2, 3}), 1, ints({2, 0}, {2, 1}), iota({2, 1}) + Scalar(1.0));
  EXPECT_EQ(values(s), (std::vector<double>{0, 0, 1, 2, 0, 0}));
  Tensor a = scatter_add(ones({4}), 0, ints({0, 0, 3}), tensor<float>({1, 2, 3}));
  EXPECT_EQ(values(a), (std::vector<double>{4, 1, 1, 4}));
  Tensor mul_ = scatter(full({3}, Scalar(2.0)), 0, ints({1, 1}), tensor<float>({3, 4}), "multiply");
  EXPECT_EQ(values(mul_), (std::vector<double>{2, 24, 2}));
  Tensor v = zeros({2, 2}, {Dtype::Int32});
  scatter_(v, 0, ints({1, 0}, {1, 2}), Scalar(7));
  EXPECT_EQ(values(v), (std::vector<double>{0, 7, 7, 0}));
  EXPECT_EQ(values(take_along_dim(x, ints({0, 2}, {1, 2}), 1)), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(values(take_along_dim(x, ints({11, 0}))), (std::vector<double>{11, 0}));
  // Index aliasing the destination: the kernel reads a private copy.
  Tensor self_idx = ints({1, 0, 0});
  scatter_(self_idx, 0, self_idx, ints({5, 2, 9}));
  EXPECT_EQ(values(self_idx), (std::vector<double>{9, 5, 0}));
}

TEST(IndexGather, ErrorsLeaveInputsUnchanged) {
  Tensor x = iota({2, 3});
  const uint64_t version = x.version();
  EXPECT_THROW(gather(x, 1, ints({3}, {1, 1})), IndexError);
  EXPECT_THROW(gather(x, 1, ints({-1}, {1, 1})), IndexError);
  EXPECT_THROW(gather(x, 1, ints({0})), ShapeError);
  EXPECT_THROW(gather(x, 1, ints({0}, {1, 1}).to(Dtype::Int32)), DTypeError);
  EXPECT_THROW(gather(x, 2, ints({0}, {1, 1})), IndexError);
  EXPECT_THROW(scatter_(x, 1, ints({0, 3}, {1, 2}), iota({1, 2})), IndexError);
  EXPECT_THROW(scatter_(x, 1, ints({0, 1}, {1, 2}), iota({1, 1})), ShapeError);
  EXPECT_THROW(scatter_(x, 1, ints({0}, {1, 1}), iota({1, 1}, Dtype::Float64)), DTypeError);
  EXPECT_THROW(scatter_(x, 1, ints({0}, {1, 1}), Scalar(1.0), "max"), ValueError);
  EXPECT_THROW(scatter_add_(x, 0, ints({0, 0}, {2, 1}), iota({1, 1})), ShapeError);
  EXPECT_THROW(take_along_dim(x, ints({0}, {1, 1, 1}), 0), ShapeError);
  EXPECT_EQ(values(x), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(x.version(), version);
}

TEST(IndexMask, MaskedFillSelectNonzero) {
  Tensor x = iota({2, 3});
  Tensor row = bools({true, false, true}, {3});
  EXPECT_EQ(values(masked_fill(x, row, Scalar(-1.0))), (std::vector<double>{-1, 1, -1, -1, 4, -1}));
  EXPECT_EQ(values(masked_fill(x, row, scalar_tensor(Scalar(2.0)))), (std::vector<double>{2, 1, 2, 2, 4, 2}));
  EXPECT_EQ(values(masked_select(x, row)), (std::vector<double>{0, 2, 3, 5}));
  EXPECT_EQ(values(masked_select(x.t(), gt(x.t(), Scalar(2.0)))), (std::vector<double>{3, 4, 5}));
  EXPECT_EQ(values(masked_select(scalar_tensor(Scalar(3.0)), row)), (std::vector<double>{3, 3}));
  EXPECT_EQ(masked_select(scalar_tensor(Scalar(3.0)), scalar_tensor(Scalar(false))).shape(), (Shape{0}));
  Tensor y = x.clone();
  const uint64_t v0 = y.version();
  masked_fill_(y, gt(y, Scalar(3.0)), Scalar(0.0));
  EXPECT_EQ(values(y), (std::vector<double>{0, 1, 2, 3, 0, 0}));
  EXPECT_GT(y.version(), v0);
  EXPECT_THROW(masked_fill(x, ones({3}), Scalar(0.0)), DTypeError);
  EXPECT_THROW(masked_fill(x, bools({true, false}, {2}), Scalar(0.0)), ShapeError);
  EXPECT_THROW(masked_fill(x, row, ones({1})), ShapeError);
  EXPECT_THROW(masked_fill_(x.t(), bools({true, false, true, false}, {2, 2}), Scalar(0.0)), ShapeError);
  Tensor nz = nonzero(tensor<float>({0, 3, 0, -1, NAN, 0}, {2, 3}));
  EXPECT_EQ(nz.dtype(), Dtype::Int64);
  EXPECT_EQ(values(nz), (std::vector<double>{0, 1, 1, 0, 1, 1}));
  EXPECT_EQ(nonzero(zeros({2, 2})).shape(), (Shape{0, 2}));
  EXPECT_EQ(nonzero(scalar_tensor(Scalar(5))).shape(), (Shape{1, 0}));
  std::vector<Tensor> parts = nonzero_as_tuple(x.t());
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(values(parts[0]), (std::vector<double>{0, 1, 1, 2, 2}));
  EXPECT_EQ(values(parts[1]), (std::vector<double>{1, 0, 1, 0, 1}));
}

// Randomized: advanced indexing agrees with selecting element by element.
TEST(IndexRandom, AdvancedMatchesSelects) {
  std::mt19937 rng(11);
  for (int it = 0; it < 100; ++it) {
    const int64_t n0 = 1 + rng() % 4, n1 = 1 + rng() % 4, n2 = 1 + rng() % 4, k = rng() % 5;
    Tensor x = randn({n0, n1, n2}, {Dtype::Float64});
    if (it % 2) x = x.transpose(0, 2).contiguous().transpose(0, 2);
    Tensor i = randint(-n0, n0, {k}), j = randint(-n2, n2, {k});
    Tensor r = index(x, {i, Slice{}, j});  // separated: (k, n1)
    ASSERT_EQ(r.shape(), (Shape{k, n1}));
    for (int64_t a = 0; a < k; ++a) {
      Tensor expect = x.select(0, i.select(0, a).item<int64_t>()).select(1, j.select(0, a).item<int64_t>());
      ASSERT_TRUE(same(r.select(0, a), expect));
    }
    Tensor m = gt(x, Scalar(0.0));
    ASSERT_NEAR(values(sum(index(x, {m})))[0], values(sum(where(m, x, Scalar(0.0))))[0], 1e-9);
  }
}

TEST(IndexPut, IndexSharingTheDestination) {
  Tensor x = ints({1, 0, 3, 2});
  index_put_(x, {x}, ints({9, 8, 7, 6}));  // x[x] = ...: indices read before any write
  EXPECT_EQ(values(x), (std::vector<double>{8, 9, 6, 7}));
  Tensor y = ints({2, 0, 1});
  EXPECT_EQ(values(index(y, {y})), (std::vector<double>{1, 2, 0}));
}

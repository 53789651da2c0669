// Joining, splitting, padding, one_hot, triangles, flip/roll/repeat/movedim through the C++ API.
#include <gtest/gtest.h>

#include <string>

#include "lamina/lamina.h"

using namespace lamina;

namespace {

using V = std::vector<double>;

V values(const Tensor& t) {
  Tensor c = t.to(Dtype::Float64).contiguous();
  return V(c.data<double>(), c.data<double>() + c.numel());
}
Tensor iota(const Shape& shape, Dtype dt = Dtype::Float32) {
  return arange(Scalar(shape_numel(shape))).to(dt).reshape(shape);
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
bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(JoinCat, ValuesDimsAndPromotion) {
  Tensor a = iota({2, 2}), b = iota({2, 1}) + Scalar(10.0);
  EXPECT_EQ(values(cat({a, b}, 1)), (V{0, 1, 10, 2, 3, 11}));
  EXPECT_EQ(values(cat({a, b}, -1)), (V{0, 1, 10, 2, 3, 11}));
  EXPECT_EQ(values(cat({a, a.t()}, 0)), (V{0, 1, 2, 3, 0, 2, 1, 3}));  // a transposed input
  EXPECT_EQ(cat({iota({2}, Dtype::Int64), iota({1}, Dtype::Float32)}).dtype(), Dtype::Float32);
  EXPECT_EQ(cat({iota({2}, Dtype::Bool), iota({1}, Dtype::Int32)}).dtype(), Dtype::Int32);
  // Legacy empty 1-d tensors are skipped whatever the other shapes.
  Tensor c = cat({zeros({0}), a, zeros({0}, {Dtype::Float64})});
  EXPECT_EQ(c.shape(), (Shape{2, 2}));
  EXPECT_EQ(c.dtype(), Dtype::Float64);
  EXPECT_EQ(cat({zeros({0}), zeros({0})}).shape(), (Shape{0}));
  EXPECT_EQ(cat({zeros({0, 3}), iota({2, 3})}).shape(), (Shape{2, 3}));
  EXPECT_EQ(values(cat({a.slice(1, 0, 2, 2), a.slice(1, 1, 2, 2)}, 1)), (V{0, 1, 2, 3}));
}

TEST(JoinCat, Errors) {
  Tensor a = iota({2, 2});
  EXPECT_TRUE(has(error_of<ValueError>([] { cat({}); }), "[cat]"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { cat({a, scalar_tensor(Scalar(1.0))}); }), "zero-dimensional"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { cat({a, iota({3})}); }), "same number of dimensions"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { cat({a, iota({2, 3})}, 0); }), "[cat] sizes of tensors must match"));
  EXPECT_TRUE(has(error_of<IndexError>([&] { cat({a}, 2); }), "[cat]"));
  EXPECT_THROW(cat({a, Tensor()}), ValueError);
}

TEST(JoinStack, NewDim) {
  Tensor a = iota({2, 3}), b = iota({2, 3}) * Scalar(2.0);
  EXPECT_EQ(stack({a, b}).shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(values(stack({a, b}, 2)), values(stack({a, b}, -1)));
  EXPECT_EQ(values(stack({a, b}, 2).select(2, 1)), values(b));
  EXPECT_EQ(values(stack({scalar_tensor(Scalar(1.0)), scalar_tensor(Scalar(2.0))})), (V{1, 2}));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { stack({a, iota({3, 2})}); }), "[stack]"));
  EXPECT_TRUE(has(error_of<IndexError>([&] { stack({a, b}, 3); }), "[stack]"));
  EXPECT_TRUE(has(error_of<ValueError>([] { stack({}); }), "[stack]"));
}

TEST(JoinSplit, SplitChunkUnbind) {
  Tensor x = iota({7, 2});
  auto parts = split(x, 3);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2].shape(), (Shape{1, 2}));
  EXPECT_EQ(parts[1].storage(), x.storage());  // views
  EXPECT_EQ(values(parts[1]), (V{6, 7, 8, 9, 10, 11}));
  auto sized = split(x, std::vector<int64_t>{2, 0, 5}, -2);
  EXPECT_EQ(sized[1].shape(), (Shape{0, 2}));
  EXPECT_EQ(values(sized[2].select(0, 0)), (V{4, 5}));
  EXPECT_EQ(chunk(x, 3).size(), 3u);
  EXPECT_EQ(chunk(iota({5}), 6).size(), 5u);
  EXPECT_EQ(chunk(zeros({0, 2}), 3).size(), 3u);  // an empty dim still gives `chunks` pieces
  auto rows = unbind(x, 1);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(values(rows[1]), (V{1, 3, 5, 7, 9, 11, 13}));
  EXPECT_EQ(split(zeros({0}), 2).size(), 1u);
  EXPECT_TRUE(has(error_of<ValueError>([&] { split(x, 0); }), "[split]"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { split(x, std::vector<int64_t>{3, 3}); }), "sum to 6"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { split(x, std::vector<int64_t>{-1, 8}); }), "non-negative"));
  EXPECT_TRUE(has(error_of<ShapeError>([] { split(scalar_tensor(Scalar(1.0)), 1); }), "[split]"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { chunk(x, 0); }), "[chunk]"));
  EXPECT_TRUE(has(error_of<IndexError>([] { unbind(scalar_tensor(Scalar(1.0))); }), "[unbind]"));
  EXPECT_TRUE(has(error_of<IndexError>([&] { unbind(x, 2); }), "[unbind]"));
}

TEST(JoinPad, ConstantAndCrop) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(values(pad(x, {1, 0}, "constant", 9.0)), (V{9, 0, 1, 2, 9, 3, 4, 5}));
  EXPECT_EQ(pad(x, {1, 2, 3, 4}).shape(), (Shape{9, 6}));
  EXPECT_EQ(values(pad(x, {-1, 1})), (V{1, 2, 0, 4, 5, 0}));
  EXPECT_EQ(values(pad(x, {0, 0, -1, 0})), (V{3, 4, 5}));
  EXPECT_EQ(pad(x, {-3, 0}).shape(), (Shape{2, 0}));
  EXPECT_EQ(values(pad(iota({2}, Dtype::Int32), {1, 1}, "constant", 7)), (V{7, 0, 1, 7}));
  EXPECT_EQ(pad(iota({2}, Dtype::Int32), {1, 1}).dtype(), Dtype::Int32);
  EXPECT_EQ(values(pad(x.t(), {0, 1})), (V{0, 3, 0, 1, 4, 0, 2, 5, 0}));
}

TEST(JoinPad, ReflectReplicateCircular) {
  Tensor x = iota({1, 4});
  EXPECT_EQ(values(pad(x, {2, 1}, "reflect")), (V{2, 1, 0, 1, 2, 3, 2}));
  EXPECT_EQ(values(pad(x, {2, 1}, "replicate")), (V{0, 0, 0, 1, 2, 3, 3}));
  EXPECT_EQ(values(pad(x, {2, 1}, "circular")), (V{2, 3, 0, 1, 2, 3, 0}));
  EXPECT_EQ(values(pad(iota({2, 2}), {0, 0, 1, 0}, "reflect")), (V{2, 3, 0, 1, 2, 3}));
}

TEST(JoinPad, Errors) {
  Tensor x = iota({2, 3});
  EXPECT_TRUE(has(error_of<ShapeError>([&] { pad(x, {1, 2, 3}); }), "[pad]"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { pad(x, {1, 1, 1, 1, 1, 1}); }), "[pad]"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { pad(x, {-2, -2}); }), "negative size"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { pad(x, {3, 0}, "reflect"); }), "reflect"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { pad(x, {4, 0}, "circular"); }), "circular"));
  EXPECT_TRUE(has(error_of<ShapeError>([] { pad(zeros({2, 0}), {1, 1}, "replicate"); }), "[pad]"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { pad(x, {1, 1}, "mirror"); }), "unsupported mode"));
}

TEST(JoinOneHot, ValuesAndErrors) {
  Tensor idx = tensor<int64_t>({0, 2, 1, 1}, {2, 2});
  Tensor oh = one_hot(idx, 3);
  EXPECT_EQ(oh.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(oh.dtype(), Dtype::Int64);
  EXPECT_EQ(values(oh), (V{1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0}));
  EXPECT_EQ(one_hot(tensor<int64_t>({3})).shape(), (Shape{1, 4}));
  EXPECT_EQ(one_hot(scalar_tensor(Scalar(int64_t{1}))).shape(), (Shape{2}));
  EXPECT_EQ(one_hot(zeros({0}, {Dtype::Int64}), 3).shape(), (Shape{0, 3}));
  EXPECT_EQ(values(one_hot(tensor<int64_t>({0, 1, 2, 3}).slice(0, 0, 4, 2), 4)), (V{1, 0, 0, 0, 0, 0, 1, 0}));
  EXPECT_TRUE(has(error_of<ValueError>([&] { one_hot(idx, 2); }), "[one_hot]"));
  EXPECT_TRUE(has(error_of<ValueError>([] { one_hot(tensor<int64_t>({-1})); }), "non-negative"));
  EXPECT_TRUE(has(error_of<ValueError>([] { one_hot(zeros({0}, {Dtype::Int64})); }), "empty"));
  EXPECT_TRUE(has(error_of<DTypeError>([] { one_hot(tensor<int32_t>({1})); }), "int64"));
}

TEST(JoinTriangles, TrilTriuAndInPlace) {
  Tensor x = iota({2, 3, 4}) + Scalar(1.0);
  for (int64_t k : {-3, -1, 0, 1, 5}) {
    V lo = values(tril(x, k)), hi = values(triu(x, k)), all = values(x);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j) {
          const size_t at = static_cast<size_t>((b * 3 + i) * 4 + j);
          EXPECT_EQ(lo[at], j - i <= k ? all[at] : 0.0);
          EXPECT_EQ(hi[at], j - i >= k ? all[at] : 0.0);
        }
  }
  EXPECT_EQ(tril(iota({2, 2}, Dtype::Int32)).dtype(), Dtype::Int32);
  EXPECT_EQ(values(triu(ones({2, 2}, {Dtype::Bool}))), (V{1, 1, 0, 1}));
  EXPECT_EQ(values(tril(iota({3, 2}).t())), (V{0, 0, 0, 1, 3, 0}));  // a transposed input
  Tensor y = x.clone();
  const uint64_t v = y.version();
  tril_(y, 1);
  EXPECT_GT(y.version(), v);
  EXPECT_EQ(values(y), values(tril(x, 1)));
  Tensor z = x.clone();
  triu_(z.select(0, 1));
  EXPECT_EQ(values(z.select(0, 0)), values(x.select(0, 0)));
  EXPECT_EQ(values(z.select(0, 1)), values(triu(x.select(0, 1))));
  EXPECT_EQ(tril(zeros({0, 3})).shape(), (Shape{0, 3}));
  EXPECT_TRUE(has(error_of<ShapeError>([] { tril(ones({3})); }), "[tril]"));
  EXPECT_TRUE(has(error_of<ShapeError>([] { triu_(ones({3})); }), "[triu"));
  Tensor expanded = ones({1, 3}).expand({3, 3});
  EXPECT_THROW(tril_(expanded), ValueError);
  EXPECT_EQ(values(expanded), V(9, 1.0));
}

TEST(JoinFlipRoll, ValuesAndErrors) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(values(flip(x, {1})), (V{2, 1, 0, 5, 4, 3}));
  EXPECT_EQ(values(flip(x, {0, -1})), (V{5, 4, 3, 2, 1, 0}));
  Tensor f = flip(x, {});
  EXPECT_NE(f.storage(), x.storage());
  EXPECT_EQ(values(flip(scalar_tensor(Scalar(3.0)), {0})), (V{3}));
  EXPECT_TRUE(has(error_of<ValueError>([&] { flip(x, {0, -2}); }), "multiple times"));
  EXPECT_TRUE(has(error_of<IndexError>([&] { flip(x, {2}); }), "[flip]"));
  EXPECT_EQ(values(roll(x, {1}, {1})), (V{2, 0, 1, 5, 3, 4}));
  EXPECT_EQ(values(roll(x, {-1, 4}, {0, 1})), (V{5, 3, 4, 2, 0, 1}));
  EXPECT_EQ(values(roll(x, {2}, {})), (V{4, 5, 0, 1, 2, 3}));
  EXPECT_NE(roll(x, {3}, {1}).storage(), x.storage());
  EXPECT_TRUE(has(error_of<ShapeError>([&] { roll(x, {1, 2}, {0}); }), "[roll]"));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { roll(x, {1, 2}, {}); }), "[roll]"));
}

TEST(JoinRepeat, RepeatTileMovedimStacks) {
  Tensor x = iota({2, 2});
  EXPECT_EQ(values(repeat(x, {1, 2})), (V{0, 1, 0, 1, 2, 3, 2, 3}));
  Tensor r = repeat(x, {2, 1, 1});
  EXPECT_EQ(r.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(values(r), (V{0, 1, 2, 3, 0, 1, 2, 3}));
  EXPECT_EQ(repeat(scalar_tensor(Scalar(1.0)), {2, 3}).shape(), (Shape{2, 3}));
  EXPECT_EQ(repeat(x, {0, 2}).shape(), (Shape{0, 4}));
  EXPECT_NE(repeat(x, {1, 1}).storage(), x.storage());
  EXPECT_EQ(values(repeat(x.t(), {2, 1})), (V{0, 2, 1, 3, 0, 2, 1, 3}));
  // More dims than a single view allows still works.
  Tensor deep = ones({1, 1, 1, 1, 1, 1, 1, 1, 1, 2});
  EXPECT_EQ(repeat(deep, {2, 2, 2, 2, 2, 2, 2, 2, 2, 2}).shape(), (Shape{2, 2, 2, 2, 2, 2, 2, 2, 2, 4}));
  EXPECT_TRUE(has(error_of<ShapeError>([&] { repeat(x, {2}); }), "[repeat]"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { repeat(x, {-1, 1}); }), "[repeat]"));
  EXPECT_EQ(values(tile(x, {2})), (V{0, 1, 0, 1, 2, 3, 2, 3}));
  EXPECT_EQ(tile(x, {2, 1, 1}).shape(), (Shape{2, 2, 2}));
  Tensor m = iota({2, 3, 4});
  EXPECT_EQ(movedim(m, {0}, {2}).shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(movedim(m, {0, 1}, {2, 0}).shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(movedim(m, {-1}, {0}).shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(movedim(m, {-1}, {0}).storage(), m.storage());
  EXPECT_EQ(values(movedim(m, {2}, {0}).select(0, 1)), values(m.select(2, 1)));
  EXPECT_TRUE(has(error_of<ValueError>([&] { movedim(m, {0, 0}, {1, 2}); }), "repeated dim"));
  EXPECT_TRUE(has(error_of<ValueError>([&] { movedim(m, {0, 1}, {1}); }), "same length"));
  EXPECT_TRUE(has(error_of<IndexError>([&] { movedim(m, {3}, {0}); }), "[movedim]"));
  EXPECT_EQ(hstack({iota({2}), iota({3})}).shape(), (Shape{5}));
  EXPECT_EQ(hstack({iota({2, 1}), iota({2, 2})}).shape(), (Shape{2, 3}));
  EXPECT_EQ(vstack({iota({2}), iota({2})}).shape(), (Shape{2, 2}));
  EXPECT_EQ(vstack({scalar_tensor(Scalar(1.0)), scalar_tensor(Scalar(2.0))}).shape(), (Shape{2, 1}));
  EXPECT_EQ(dstack({iota({2}), iota({2})}).shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(values(dstack({iota({2}), iota({2})})), (V{0, 0, 1, 1}));
  EXPECT_TRUE(has(error_of<ShapeError>([] { vstack({iota({2}), iota({3})}); }), "[vstack]"));
  EXPECT_TRUE(has(error_of<ValueError>([] { hstack({}); }), "[hstack]"));
}

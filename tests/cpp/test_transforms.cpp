// Transforms: values against hand-computed references, crop/flip geometry, batched forms, and
// determinism under a sample stream; TransformDataset.
#include <gtest/gtest.h>

#include <set>

#include "lamina/data/sample_rng.h"
#include "lamina/data/transforms.h"
#include "lamina/lamina.h"

using namespace lamina;

namespace {

bool same(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && all(eq(a, b)).item<bool>();
}

// 1..n reshaped, as float32.
Tensor iota(const Shape& shape) {
  return arange(Scalar(1.0), Scalar(static_cast<double>(shape_numel(shape)) + 1), Scalar(1.0)).reshape(shape);
}

double at3(const Tensor& t, int64_t c, int64_t h, int64_t w) { return t.select(0, c).select(0, h).select(0, w).item<double>(); }

}  // namespace

TEST(DataTransforms, ToTensorScalesUint8AndMovesChannelsFirst) {
  const Tensor hwc = remainder(arange(Scalar(int64_t{24})), Scalar(int64_t{256})).reshape({2, 4, 3}).to(Dtype::UInt8);
  const Tensor chw = data::ToTensor()(hwc);
  EXPECT_EQ(chw.shape(), Shape({3, 2, 4}));
  EXPECT_EQ(chw.dtype(), Dtype::Float32);
  EXPECT_FLOAT_EQ(at3(chw, 2, 1, 3), 23.0f / 255.0f);  // hwc[1][3][2] = 1*12 + 3*3 + 2
  EXPECT_EQ(data::ToTensor()(full({5, 6}, Scalar(int64_t{255}), {Dtype::UInt8, kCPU})).shape(), Shape({1, 5, 6}));
  EXPECT_EQ(data::ToTensor()(zeros({2, 5, 6, 3})).shape(), Shape({2, 3, 5, 6}));
  EXPECT_THROW(data::ToTensor()(zeros({5})), ShapeError);
}

TEST(DataTransforms, NormalizePerChannel) {
  const Tensor x = iota({2, 2, 2});
  const Tensor y = data::Normalize({1.0, 2.0}, {2.0, 4.0})(x);
  EXPECT_FLOAT_EQ(at3(y, 0, 1, 1), (4.0f - 1.0f) / 2.0f);
  EXPECT_FLOAT_EQ(at3(y, 1, 0, 0), (5.0f - 2.0f) / 4.0f);
  const Tensor batch = stack({x, x}, 0);
  EXPECT_TRUE(same(data::Normalize({1.0, 2.0}, {2.0, 4.0})(batch).select(0, 1), y));
  EXPECT_THROW(data::Normalize({0.5}, {0.0}), ConfigError);
  EXPECT_THROW(data::Normalize({0.5, 0.5}, {1.0}), ConfigError);
  EXPECT_THROW(data::Normalize({0, 0, 0}, {1, 1, 1})(x), ShapeError);
  EXPECT_THROW(data::Normalize({0}, {1})(x.to(Dtype::Int32)), DTypeError);
}

TEST(DataTransforms, RandomCropIsAWindowOfThePaddedImage) {
  const Tensor x = iota({1, 4, 5});
  std::set<std::pair<int64_t, int64_t>> corners;
  for (uint64_t key = 0; key < 200; ++key) {
    data::SampleRngScope scope(7, key);
    const Tensor c = data::RandomCrop(3, 3, 1)(x);
    ASSERT_EQ(c.shape(), Shape({1, 3, 3}));
    // Find the window: the padded image is x with a zero border of 1.
    const Tensor padded = pad(x, {1, 1, 1, 1});
    bool found = false;
    for (int64_t top = 0; top <= 3 && !found; ++top)
      for (int64_t left = 0; left <= 4 && !found; ++left)
        if (same(padded.narrow(1, top, 3).narrow(2, left, 3).contiguous(), c)) {
          corners.insert({top, left});
          found = true;
        }
    EXPECT_TRUE(found);
  }
  EXPECT_EQ(corners.size(), 20u);  // every one of the 4 x 5 windows occurs
  EXPECT_TRUE(same(data::RandomCrop(4, 5)(x), x));
  EXPECT_THROW(data::RandomCrop(5, 5)(x), ShapeError);
  EXPECT_THROW(data::RandomCrop(0, 3), ConfigError);
}

TEST(DataTransforms, RandomHorizontalFlipMirrorsWidth) {
  const Tensor x = iota({2, 3, 4});
  EXPECT_TRUE(same(data::RandomHorizontalFlip(1.0)(x), flip(x, {2})));
  EXPECT_TRUE(same(data::RandomHorizontalFlip(0.0)(x), x));
  int flipped = 0;
  for (uint64_t key = 0; key < 400; ++key) {
    data::SampleRngScope scope(3, key);
    flipped += same(data::RandomHorizontalFlip(0.25)(x), flip(x, {2}));
  }
  EXPECT_GT(flipped, 60);
  EXPECT_LT(flipped, 140);
  EXPECT_THROW(data::RandomHorizontalFlip(1.5), ConfigError);
}

TEST(DataTransforms, BatchesDrawPerSampleAndSeedsReproduce) {
  const Tensor batch = iota({16, 1, 4, 4});
  auto run = [&](uint64_t seed) {
    data::SampleRngScope scope(seed, 1);
    return data::Compose({data::RandomCrop(3, 3, 2), data::RandomHorizontalFlip(0.5)})(batch);
  };
  const Tensor a = run(11), b = run(11), c = run(12);
  EXPECT_EQ(a.shape(), Shape({16, 1, 3, 3}));
  EXPECT_TRUE(same(a, b));
  EXPECT_FALSE(same(a, c));
  int distinct = 0;  // samples of one batch get different windows
  for (int64_t n = 1; n < 16; ++n) distinct += !same(sub(a.select(0, n), a.select(0, 0)), sub(a.select(0, 1), a.select(0, 0)));
  EXPECT_GT(distinct, 2);
}

TEST(DataTransforms, TransformDatasetTransformsOneField) {
  auto base = std::make_shared<data::TensorDataset>(
      std::vector<Tensor>{zeros({4, 2, 2, 3}, {Dtype::UInt8, kCPU}), arange(Scalar(int64_t{4}))});
  data::TransformDataset ds(base, 0, data::Compose({data::ToTensor(), data::Normalize({0.5}, {0.5})}));
  EXPECT_EQ(ds.size(), 4);
  const data::Example ex = ds.get(2);
  EXPECT_EQ(ex[0].shape(), Shape({3, 2, 2}));
  EXPECT_FLOAT_EQ(at3(ex[0], 1, 1, 1), -1.0f);
  EXPECT_EQ(ex[1].item<int64_t>(), 2);
  EXPECT_THROW(data::TransformDataset(base, 2, data::ToTensor()).get(0), IndexError);
  EXPECT_THROW(data::TransformDataset(nullptr, 0, data::ToTensor()), ValueError);
}

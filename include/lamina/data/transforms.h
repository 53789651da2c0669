#pragma once
// Image transforms (torchvision.transforms' names) on (C, H, W) samples or (N, C, H, W) batches,
// and a dataset that applies a transform to one field of each example. Random transforms draw
// from current_sample_rng(), so inside the DataLoader each sample's result depends only on the
// loader's seed, the epoch and the sample's position.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "lamina/data/dataset.h"

namespace lamina::data {

/// A transform of one tensor: any callable Tensor(const Tensor&).
using Transform = std::function<Tensor(const Tensor&)>;

/// (H, W, C) or (H, W) images (or (N, H, W, C) batches) -> (C, H, W) (or (N, C, H, W)). uint8
/// scales to float32 in [0, 1] as torchvision does; floating types keep their dtype and values;
/// other integers and bool become float32 unscaled. ShapeError for fewer than 2 or more than 4 dims.
class ToTensor {
 public:
  /// The converted image.
  Tensor operator()(const Tensor& image) const;
};

/// (x - mean[c]) / std[c] per channel of a floating (..., C, H, W) tensor.
class Normalize {
 public:
  /// One mean and std per channel (or one for all); ConfigError for empty or unequal lengths or
  /// a std that is not positive.
  Normalize(std::vector<double> mean, std::vector<double> std);
  /// The normalized tensor; ShapeError when the channel count differs, DTypeError for integers.
  Tensor operator()(const Tensor& x) const;
  /// The per-channel means.
  const std::vector<double>& mean() const { return mean_; }
  /// The per-channel standard deviations.
  const std::vector<double>& std() const { return std_; }

 private:
  std::vector<double> mean_, std_;
};

/// A random (height, width) window of the image zero-padded by `padding` on every side; each
/// sample of an (N, C, H, W) batch gets its own window.
class RandomCrop {
 public:
  /// ConfigError for a non-positive size or a negative padding.
  RandomCrop(int64_t height, int64_t width, int64_t padding = 0);
  /// The crop of a (C, H, W) or (N, C, H, W) tensor (any (..., H, W) works for one window);
  /// ShapeError when the padded image is smaller than the crop.
  Tensor operator()(const Tensor& x) const;

 private:
  int64_t height_, width_, padding_;
};

/// Mirrors the last (width) dim with probability p; each sample of an (N, C, H, W) batch draws
/// its own coin.
class RandomHorizontalFlip {
 public:
  /// ConfigError unless 0 <= p <= 1.
  explicit RandomHorizontalFlip(double p = 0.5);
  /// The possibly mirrored tensor (a new tensor either way).
  Tensor operator()(const Tensor& x) const;
  /// The flip probability.
  double p() const { return p_; }

 private:
  double p_;
};

/// Transforms applied in order.
class Compose {
 public:
  /// ConfigError for an empty transform.
  explicit Compose(std::vector<Transform> transforms);
  /// The result of the last transform.
  Tensor operator()(const Tensor& x) const;

 private:
  std::vector<Transform> transforms_;
};

/// `dataset` with `transform` applied to field `field` of each example (other fields unchanged).
class TransformDataset : public Dataset {
 public:
  /// ValueError for a null dataset or empty transform; `field` may be negative (from the end).
  TransformDataset(std::shared_ptr<Dataset> dataset, int64_t field, Transform transform);
  /// The underlying dataset's size.
  int64_t size() const override;
  /// The example with its field transformed; IndexError when the example lacks the field.
  Example get(int64_t index) const override;
  /// The underlying dataset.
  const std::shared_ptr<Dataset>& dataset() const { return dataset_; }

 private:
  std::shared_ptr<Dataset> dataset_;
  int64_t field_;
  Transform transform_;
};

}  // namespace lamina::data

#include "lamina/data/transforms.h"

#include "lamina/data/sample_rng.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/join.h"

namespace lamina::data {

Tensor ToTensor::operator()(const Tensor& image) const {
  const int64_t d = image.dim();
  LAMINA_CHECK(d >= 2 && d <= 4, ShapeError, "ToTensor", "expected an (H, W), (H, W, C) or (N, H, W, C) image, got ",
               describe(image));
  Tensor chw;
  if (d == 2) chw = image.unsqueeze(0);
  else if (d == 3) chw = image.permute({2, 0, 1});
  else chw = image.permute({0, 3, 1, 2});
  if (image.dtype() == Dtype::UInt8) return div(chw.to(Dtype::Float32), Scalar(255.0));
  if (is_floating(image.dtype())) return chw.contiguous();
  return chw.to(Dtype::Float32).contiguous();
}

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) : mean_(std::move(mean)), std_(std::move(std)) {
  LAMINA_CHECK(!mean_.empty() && mean_.size() == std_.size(), ConfigError, "Normalize",
               "mean and std need the same non-zero length, got ", mean_.size(), " and ", std_.size());
  for (double s : std_) LAMINA_CHECK(s > 0, ConfigError, "Normalize", "std must be positive, got ", s);
}

Tensor Normalize::operator()(const Tensor& x) const {
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, "Normalize", "expected a floating tensor, got ", describe(x),
               "; apply ToTensor first");
  LAMINA_CHECK(x.dim() >= 3, ShapeError, "Normalize", "expected a (..., C, H, W) tensor, got ", describe(x));
  const auto channels = static_cast<int64_t>(mean_.size());
  LAMINA_CHECK(channels == 1 || x.size(-3) == channels, ShapeError, "Normalize", "got ", channels,
               " means and stds for ", describe(x), " with ", x.size(-3), " channels");
  const Shape per_channel{channels, 1, 1};
  const Tensor m = tensor(mean_, per_channel, x.dtype()).to(x.device());
  const Tensor s = tensor(std_, per_channel, x.dtype()).to(x.device());
  return div(sub(x, m), s);
}

RandomCrop::RandomCrop(int64_t height, int64_t width, int64_t padding)
    : height_(height), width_(width), padding_(padding) {
  LAMINA_CHECK(height > 0 && width > 0, ConfigError, "RandomCrop", "size must be positive, got (", height, ", ",
               width, ")");
  LAMINA_CHECK(padding >= 0, ConfigError, "RandomCrop", "padding must be >= 0, got ", padding);
}

Tensor RandomCrop::operator()(const Tensor& x) const {
  LAMINA_CHECK(x.dim() >= 2, ShapeError, "RandomCrop", "expected a (..., H, W) tensor, got ", describe(x));
  const Tensor padded = padding_ > 0 ? pad(x, {padding_, padding_, padding_, padding_}) : x;
  const int64_t h = padded.size(-2), w = padded.size(-1);
  LAMINA_CHECK(h >= height_ && w >= width_, ShapeError, "RandomCrop", "crop (", height_, ", ", width_,
               ") is larger than the padded image (", h, ", ", w, ") of ", describe(x));
  SampleRng& rng = current_sample_rng();
  auto window = [&](const Tensor& img) {
    const int64_t top = rng.randint(h - height_ + 1);  // torchvision draws the row first
    const int64_t left = rng.randint(w - width_ + 1);
    return img.narrow(-2, top, height_).narrow(-1, left, width_);
  };
  if (x.dim() != 4) return window(padded).contiguous();
  Shape shape = padded.shape();
  shape[2] = height_;
  shape[3] = width_;
  Tensor out = empty(shape, {x.dtype(), x.device()});
  for (int64_t n = 0; n < x.size(0); ++n) copy_(out.select(0, n), window(padded.select(0, n)));
  return out;
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  LAMINA_CHECK(p >= 0 && p <= 1, ConfigError, "RandomHorizontalFlip", "p must be in [0, 1], got ", p);
}

Tensor RandomHorizontalFlip::operator()(const Tensor& x) const {
  LAMINA_CHECK(x.dim() >= 1, ShapeError, "RandomHorizontalFlip", "expected a (..., W) tensor, got ", describe(x));
  SampleRng& rng = current_sample_rng();
  if (x.dim() != 4) return rng.uniform() < p_ ? flip(x, {-1}) : x.clone();
  Tensor out = x.clone();
  for (int64_t n = 0; n < x.size(0); ++n) {
    if (rng.uniform() < p_) copy_(out.select(0, n), flip(x.select(0, n), {-1}));
  }
  return out;
}

Compose::Compose(std::vector<Transform> transforms) : transforms_(std::move(transforms)) {
  for (const Transform& t : transforms_) LAMINA_CHECK(static_cast<bool>(t), ConfigError, "Compose", "got an empty transform");
}

Tensor Compose::operator()(const Tensor& x) const {
  Tensor y = x;
  for (const Transform& t : transforms_) y = t(y);
  return y;
}

TransformDataset::TransformDataset(std::shared_ptr<Dataset> dataset, int64_t field, Transform transform)
    : dataset_(std::move(dataset)), field_(field), transform_(std::move(transform)) {
  LAMINA_CHECK(dataset_ != nullptr, ValueError, "TransformDataset", "got a null dataset");
  LAMINA_CHECK(static_cast<bool>(transform_), ValueError, "TransformDataset", "got an empty transform");
}

int64_t TransformDataset::size() const { return dataset_->size(); }

Example TransformDataset::get(int64_t index) const {
  Example ex = dataset_->get(index);
  const auto n = static_cast<int64_t>(ex.size());
  LAMINA_CHECK(field_ >= -n && field_ < n, IndexError, "TransformDataset", "field ", field_,
               " does not exist: example ", index, " has ", n, " fields");
  Tensor& f = ex[static_cast<size_t>(field_ < 0 ? field_ + n : field_)];
  f = transform_(f);
  return ex;
}

}  // namespace lamina::data

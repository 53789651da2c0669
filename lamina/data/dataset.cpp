#include "lamina/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "lamina/core/error.h"
#include "lamina/data/sample_rng.h"
#include "lamina/data/sampler.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/index.h"

namespace lamina::data {
namespace {

// random_split's permutation stream lies outside the samplers' (epoch, round) keys.
constexpr uint64_t kSplitStream = uint64_t{1} << 62;

}  // namespace

int64_t checked_index(const char* op, int64_t index, int64_t size) {
  LAMINA_CHECK(index >= -size && index < size, IndexError, op, "index ", index, " is out of range for a dataset of ",
               size, " examples");
  return index < 0 ? index + size : index;
}

Batch Dataset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  const SampleRng* batch_rng = scoped_sample_rng();
  for (size_t k = 0; k < indices.size(); ++k) {
    if (batch_rng) {
      SampleRngScope scope(batch_rng->seed(), batch_rng->key() + k);
      examples.push_back(get(indices[k]));
    } else {
      examples.push_back(get(indices[k]));
    }
  }
  return default_collate(examples);
}

TensorDataset::TensorDataset(std::vector<Tensor> tensors) : tensors_(std::move(tensors)) {
  LAMINA_CHECK(!tensors_.empty(), ValueError, "TensorDataset", "needs at least one tensor");
  for (size_t f = 0; f < tensors_.size(); ++f) {
    LAMINA_CHECK(tensors_[f].defined() && tensors_[f].dim() > 0, ShapeError, "TensorDataset", "field ", f,
                 " must be a tensor with at least one dim (its first dim indexes the examples)");
    LAMINA_CHECK(tensors_[f].size(0) == tensors_[0].size(0), ShapeError, "TensorDataset",
                 "size mismatch between tensors: field 0 has ", tensors_[0].size(0), " examples but field ", f,
                 " has ", tensors_[f].size(0));
  }
}

int64_t TensorDataset::size() const { return tensors_[0].size(0); }

Example TensorDataset::get(int64_t index) const {
  const int64_t i = checked_index("TensorDataset", index, size());
  Example out;
  out.reserve(tensors_.size());
  for (const Tensor& t : tensors_) out.push_back(t.select(0, i));
  return out;
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  const int64_t n = size();
  std::vector<int64_t> rows(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) rows[k] = checked_index("TensorDataset", indices[k], n);
  const Tensor index = tensor(rows, Dtype::Int64);
  Batch out;
  out.reserve(tensors_.size());
  for (const Tensor& t : tensors_) out.push_back(index_select(t, 0, index));
  return out;
}

Subset::Subset(std::shared_ptr<Dataset> dataset, std::vector<int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  LAMINA_CHECK(dataset_ != nullptr, ValueError, "Subset", "the dataset is null");
  const int64_t n = dataset_->size();
  for (int64_t& i : indices_) i = checked_index("Subset", i, n);
}

int64_t Subset::size() const { return static_cast<int64_t>(indices_.size()); }

Example Subset::get(int64_t index) const {
  return dataset_->get(indices_[static_cast<size_t>(checked_index("Subset", index, size()))]);
}

Batch Subset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> mapped(indices.size());
  for (size_t k = 0; k < indices.size(); ++k)
    mapped[k] = indices_[static_cast<size_t>(checked_index("Subset", indices[k], size()))];
  return dataset_->get_batch(mapped);
}

ConcatDataset::ConcatDataset(std::vector<std::shared_ptr<Dataset>> datasets) : datasets_(std::move(datasets)) {
  LAMINA_CHECK(!datasets_.empty(), ValueError, "ConcatDataset", "datasets should not be an empty list");
  int64_t total = 0;
  for (size_t d = 0; d < datasets_.size(); ++d) {
    LAMINA_CHECK(datasets_[d] != nullptr, ValueError, "ConcatDataset", "dataset ", d, " is null");
    total += datasets_[d]->size();
    cumulative_.push_back(total);
  }
}

int64_t ConcatDataset::size() const { return cumulative_.back(); }

Example ConcatDataset::get(int64_t index) const {
  const int64_t i = checked_index("ConcatDataset", index, size());
  const size_t d = static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), i) - cumulative_.begin());
  return datasets_[d]->get(d == 0 ? i : i - cumulative_[d - 1]);
}

std::vector<int64_t> split_lengths(int64_t size, const std::vector<double>& fractions) {
  double sum = 0;
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < fractions.size(); ++i) {
    LAMINA_CHECK(fractions[i] >= 0 && fractions[i] <= 1, ValueError, "random_split", "fraction at index ", i,
                 " is ", fractions[i], "; fractions must lie in [0, 1]");
    sum += fractions[i];
    lengths.push_back(static_cast<int64_t>(std::floor(static_cast<double>(size) * fractions[i])));
  }
  LAMINA_CHECK(!fractions.empty() && std::abs(sum - 1.0) <= 1e-9, ValueError, "random_split", "fractions sum to ",
               sum, "; they must sum to 1 (or pass counts summing to the dataset size)");
  int64_t remainder = size;
  for (int64_t l : lengths) remainder -= l;
  for (int64_t i = 0; i < remainder; ++i) ++lengths[static_cast<size_t>(i) % lengths.size()];
  return lengths;
}

std::vector<std::shared_ptr<Subset>> random_split(const std::shared_ptr<Dataset>& dataset,
                                                  const std::vector<int64_t>& lengths, uint64_t seed) {
  LAMINA_CHECK(dataset != nullptr, ValueError, "random_split", "the dataset is null");
  int64_t total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    LAMINA_CHECK(lengths[i] >= 0, ValueError, "random_split", "length at index ", i, " is ", lengths[i],
                 "; lengths must be non-negative");
    total += lengths[i];
  }
  LAMINA_CHECK(total == dataset->size(), ValueError, "random_split", "sum of input lengths (", total,
               ") does not equal the length of the input dataset (", dataset->size(), ")");
  const std::vector<int64_t> perm = random_permutation(total, seed, kSplitStream);
  std::vector<std::shared_ptr<Subset>> out;
  auto first = perm.begin();
  for (int64_t l : lengths) {
    out.push_back(std::make_shared<Subset>(dataset, std::vector<int64_t>(first, first + l)));
    first += l;
  }
  return out;
}

std::vector<std::shared_ptr<Subset>> random_split(const std::shared_ptr<Dataset>& dataset,
                                                  const std::vector<double>& fractions, uint64_t seed) {
  LAMINA_CHECK(dataset != nullptr, ValueError, "random_split", "the dataset is null");
  return random_split(dataset, split_lengths(dataset->size(), fractions), seed);
}

}  // namespace lamina::data

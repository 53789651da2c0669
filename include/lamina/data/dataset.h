#pragma once
// Datasets, torch.utils.data's place: map-style datasets (index -> example), iterable datasets
// (a stream of examples), and the combinators Subset, ConcatDataset and random_split.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "lamina/data/collate.h"

namespace lamina::data {

/// A map-style dataset: examples 0..size()-1. get and get_batch must be thread-safe (the
/// DataLoader's workers call them concurrently).
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// The number of examples.
  virtual int64_t size() const = 0;
  /// Example `index` (negative counts from the end); IndexError when out of range.
  virtual Example get(int64_t index) const = 0;
  /// The examples `indices` collated. The default gets each one and collates them, giving
  /// example k the sample stream key K + k inside a SampleRngScope of key K (the loader's
  /// per-sample keys); datasets of tensor slices override it with one gather per field.
  virtual Batch get_batch(const std::vector<int64_t>& indices) const;
};

/// One pass over an IterableDataset.
class ExampleStream {
 public:
  virtual ~ExampleStream() = default;
  /// The next example, or nullopt at the end of the pass.
  virtual std::optional<Example> next() = 0;
};

/// A dataset read as a stream (files, generators); each call of stream() starts a new pass.
class IterableDataset {
 public:
  virtual ~IterableDataset() = default;
  /// A new pass over the examples, from the first.
  virtual std::unique_ptr<ExampleStream> stream() const = 0;
  /// The number of examples in a pass when known, else nullopt.
  virtual std::optional<int64_t> size() const { return std::nullopt; }
};

/// Examples that are slices of tensors along their first dim (PyTorch's TensorDataset).
class TensorDataset : public Dataset {
 public:
  /// The fields; ValueError for none, ShapeError when their first dims differ or one is 0-d.
  explicit TensorDataset(std::vector<Tensor> tensors);
  /// The common first dim.
  int64_t size() const override;
  /// Row `index` of every field (views).
  Example get(int64_t index) const override;
  /// One index_select per field.
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  /// The fields.
  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  std::vector<Tensor> tensors_;
};

/// The examples of `dataset` at `indices`, in that order.
class Subset : public Dataset {
 public:
  /// IndexError when an index is out of the dataset's range.
  Subset(std::shared_ptr<Dataset> dataset, std::vector<int64_t> indices);
  /// The number of indices.
  int64_t size() const override;
  /// dataset.get(indices[index]).
  Example get(int64_t index) const override;
  /// dataset.get_batch of the mapped indices (keeps the dataset's fast path).
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  /// The underlying dataset.
  const std::shared_ptr<Dataset>& dataset() const { return dataset_; }
  /// The indices into the underlying dataset.
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<Dataset> dataset_;
  std::vector<int64_t> indices_;
};

/// Datasets one after another.
class ConcatDataset : public Dataset {
 public:
  /// ValueError for an empty list or a null dataset.
  explicit ConcatDataset(std::vector<std::shared_ptr<Dataset>> datasets);
  /// The sum of the sizes.
  int64_t size() const override;
  /// Example `index` of the concatenation.
  Example get(int64_t index) const override;
  /// The datasets.
  const std::vector<std::shared_ptr<Dataset>>& datasets() const { return datasets_; }
  /// Running totals of the sizes (PyTorch's cumulative_sizes).
  const std::vector<int64_t>& cumulative_sizes() const { return cumulative_; }

 private:
  std::vector<std::shared_ptr<Dataset>> datasets_;
  std::vector<int64_t> cumulative_;
};

/// Splits `dataset` into disjoint random Subsets of the given sizes (summing to its size).
/// ValueError for negative sizes or a wrong sum.
std::vector<std::shared_ptr<Subset>> random_split(const std::shared_ptr<Dataset>& dataset,
                                                  const std::vector<int64_t>& lengths, uint64_t seed);
/// random_split by fractions summing to 1; floor(f * size) each, the remainder dealt one by one
/// from the first split on (PyTorch's rule). ValueError for fractions outside [0, 1].
std::vector<std::shared_ptr<Subset>> random_split(const std::shared_ptr<Dataset>& dataset,
                                                  const std::vector<double>& fractions, uint64_t seed);
/// The split sizes random_split uses for `fractions` of `size` examples.
std::vector<int64_t> split_lengths(int64_t size, const std::vector<double>& fractions);

/// `index` made non-negative (negative counts from the end); IndexError naming op, index and size.
int64_t checked_index(const char* op, int64_t index, int64_t size);

}  // namespace lamina::data

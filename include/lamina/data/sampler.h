#pragma once
// Samplers: the order of dataset indices in an epoch. Every random sampler is a pure function
// of (seed, epoch) through Philox, so an epoch is reproducible and never depends on, or moves,
// the global generator.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace lamina::data {

/// The indices of one epoch.
class Sampler {
 public:
  virtual ~Sampler() = default;
  /// The number of indices per epoch.
  virtual int64_t size() const = 0;
  /// The indices of epoch `epoch` for the loader seed `seed`.
  virtual std::vector<int64_t> indices(uint64_t seed, uint64_t epoch) const = 0;
};

/// 0, 1, ..., n-1.
class SequentialSampler : public Sampler {
 public:
  /// ValueError for a negative n.
  explicit SequentialSampler(int64_t n);
  /// n.
  int64_t size() const override;
  /// 0..n-1 for every epoch.
  std::vector<int64_t> indices(uint64_t seed, uint64_t epoch) const override;

 private:
  int64_t n_;
};

/// Uniform random indices of 0..n-1: a new permutation each epoch, or draws with replacement.
class RandomSampler : public Sampler {
 public:
  /// num_samples defaults to n (without replacement, more than n chains permutations); `seed`,
  /// when set, replaces the loader's seed. ValueError for n < 0 or num_samples <= 0.
  explicit RandomSampler(int64_t n, bool replacement = false, std::optional<int64_t> num_samples = std::nullopt,
                         std::optional<uint64_t> seed = std::nullopt);
  /// num_samples.
  int64_t size() const override;
  /// The epoch's random indices.
  std::vector<int64_t> indices(uint64_t seed, uint64_t epoch) const override;

 private:
  int64_t n_;
  bool replacement_;
  int64_t num_samples_;
  std::optional<uint64_t> seed_;
};

/// A new random permutation of `indices` each epoch (PyTorch's SubsetRandomSampler).
class SubsetRandomSampler : public Sampler {
 public:
  /// `seed`, when set, replaces the loader's seed.
  explicit SubsetRandomSampler(std::vector<int64_t> indices, std::optional<uint64_t> seed = std::nullopt);
  /// The number of indices.
  int64_t size() const override;
  /// The indices, permuted for the epoch.
  std::vector<int64_t> indices(uint64_t seed, uint64_t epoch) const override;

 private:
  std::vector<int64_t> indices_;
  std::optional<uint64_t> seed_;
};

/// Replica `rank` of `num_replicas`'s share of 0..n-1 (PyTorch's DistributedSampler): the epoch's
/// order (a permutation of its own `seed` and the epoch when shuffling) padded by repeating its
/// start to a multiple of num_replicas (or cut to one with drop_last), then every num_replicas-th
/// index from `rank`. Every replica must use the same seed, which is why the loader's is not used.
class DistributedSampler : public Sampler {
 public:
  /// ValueError for n < 0, num_replicas < 1 or rank outside [0, num_replicas).
  DistributedSampler(int64_t n, int64_t num_replicas, int64_t rank, bool shuffle = true, uint64_t seed = 0,
                     bool drop_last = false);
  /// Indices per replica per epoch.
  int64_t size() const override;
  /// This replica's indices of the epoch (the loader's seed is ignored).
  std::vector<int64_t> indices(uint64_t seed, uint64_t epoch) const override;

 private:
  int64_t n_;
  int64_t num_replicas_;
  int64_t rank_;
  bool shuffle_;
  uint64_t seed_;
  bool drop_last_;
  int64_t num_samples_;
};

/// Index i drawn with probability weights[i] / sum(weights).
class WeightedRandomSampler : public Sampler {
 public:
  /// ValueError for no weights, a negative or non-finite weight, an all-zero sum,
  /// num_samples <= 0, or (without replacement) more samples than non-zero weights.
  WeightedRandomSampler(std::vector<double> weights, int64_t num_samples, bool replacement = true,
                        std::optional<uint64_t> seed = std::nullopt);
  /// num_samples.
  int64_t size() const override;
  /// The epoch's weighted draws.
  std::vector<int64_t> indices(uint64_t seed, uint64_t epoch) const override;

 private:
  std::vector<double> weights_;
  std::vector<double> cumulative_;
  int64_t num_samples_;
  bool replacement_;
  std::optional<uint64_t> seed_;
};

/// Groups a sampler's indices into batches.
class BatchSampler {
 public:
  /// ConfigError for batch_size <= 0; ValueError for a null sampler.
  BatchSampler(std::shared_ptr<Sampler> sampler, int64_t batch_size, bool drop_last = false);
  virtual ~BatchSampler() = default;
  /// Batches per epoch.
  virtual int64_t size() const;
  /// The epoch's batches of indices (the last one short unless drop_last).
  virtual std::vector<std::vector<int64_t>> batches(uint64_t seed, uint64_t epoch) const;
  /// The sampler (null for subclasses that plan batches themselves).
  const std::shared_ptr<Sampler>& sampler() const { return sampler_; }
  /// The batch size.
  int64_t batch_size() const { return batch_size_; }
  /// Whether a short last batch is dropped.
  bool drop_last() const { return drop_last_; }

 protected:
  /// For subclasses that override size() and batches().
  BatchSampler() = default;

 private:
  std::shared_ptr<Sampler> sampler_;
  int64_t batch_size_ = 1;
  bool drop_last_ = false;
};

/// A random permutation of 0..n-1, a pure function of (seed, stream).
std::vector<int64_t> random_permutation(int64_t n, uint64_t seed, uint64_t stream);

}  // namespace lamina::data

#include "lamina/data/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "lamina/core/error.h"
#include "lamina/data/sample_rng.h"

namespace lamina::data {
namespace {

// Samplers draw from seed ^ kSamplerSeed so that their streams never coincide with the
// per-sample streams (seed, key_for(epoch, position)) that transforms use.
constexpr uint64_t kSamplerSeed = 0xa5a5f00dd00d5a5aull;

SampleRng epoch_rng(uint64_t seed, uint64_t epoch, uint64_t round) {
  return SampleRng(seed ^ kSamplerSeed, SampleRng::key_for(epoch, round));
}

}  // namespace

std::vector<int64_t> random_permutation(int64_t n, uint64_t seed, uint64_t stream) {
  std::vector<int64_t> out(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(out.begin(), out.end(), int64_t{0});
  SampleRng rng(seed ^ kSamplerSeed, stream);
  for (int64_t i = n - 1; i > 0; --i) std::swap(out[static_cast<size_t>(i)], out[static_cast<size_t>(rng.randint(i + 1))]);
  return out;
}

SequentialSampler::SequentialSampler(int64_t n) : n_(n) {
  LAMINA_CHECK(n >= 0, ValueError, "SequentialSampler", "the dataset size must be non-negative, got ", n);
}

int64_t SequentialSampler::size() const { return n_; }

std::vector<int64_t> SequentialSampler::indices(uint64_t, uint64_t) const {
  std::vector<int64_t> out(static_cast<size_t>(n_));
  std::iota(out.begin(), out.end(), int64_t{0});
  return out;
}

RandomSampler::RandomSampler(int64_t n, bool replacement, std::optional<int64_t> num_samples,
                             std::optional<uint64_t> seed)
    : n_(n), replacement_(replacement), num_samples_(num_samples.value_or(n)), seed_(seed) {
  LAMINA_CHECK(n >= 0, ValueError, "RandomSampler", "the dataset size must be non-negative, got ", n);
  LAMINA_CHECK(num_samples_ > 0 || (!num_samples && n == 0), ValueError, "RandomSampler",
               "num_samples should be a positive integer, got ", num_samples_);
  LAMINA_CHECK(n > 0 || num_samples_ == 0, ValueError, "RandomSampler", "cannot draw ", num_samples_,
               " samples from an empty dataset");
}

int64_t RandomSampler::size() const { return num_samples_; }

std::vector<int64_t> RandomSampler::indices(uint64_t seed, uint64_t epoch) const {
  const uint64_t s = seed_.value_or(seed);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  if (replacement_) {
    SampleRng rng = epoch_rng(s, epoch, 0);
    for (int64_t i = 0; i < num_samples_; ++i) out.push_back(rng.randint(n_));
    return out;
  }
  // Like PyTorch: more samples than n chain whole permutations, each with its own stream.
  for (uint64_t round = 0; static_cast<int64_t>(out.size()) < num_samples_; ++round) {
    const std::vector<int64_t> perm = random_permutation(n_, s, SampleRng::key_for(epoch, round));
    const size_t take = std::min(perm.size(), static_cast<size_t>(num_samples_) - out.size());
    out.insert(out.end(), perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(take));
  }
  return out;
}

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices, std::optional<uint64_t> seed)
    : indices_(std::move(indices)), seed_(seed) {}

int64_t SubsetRandomSampler::size() const { return static_cast<int64_t>(indices_.size()); }

std::vector<int64_t> SubsetRandomSampler::indices(uint64_t seed, uint64_t epoch) const {
  const std::vector<int64_t> perm = random_permutation(size(), seed_.value_or(seed), SampleRng::key_for(epoch, 0));
  std::vector<int64_t> out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[i] = indices_[static_cast<size_t>(perm[i])];
  return out;
}

DistributedSampler::DistributedSampler(int64_t n, int64_t num_replicas, int64_t rank, bool shuffle, uint64_t seed,
                                       bool drop_last)
    : n_(n), num_replicas_(num_replicas), rank_(rank), shuffle_(shuffle), seed_(seed), drop_last_(drop_last) {
  const char* op = "DistributedSampler";
  LAMINA_CHECK(n >= 0, ValueError, op, "the dataset size must be non-negative, got ", n);
  LAMINA_CHECK(num_replicas >= 1, ValueError, op, "num_replicas must be at least 1, got ", num_replicas);
  LAMINA_CHECK(rank >= 0 && rank < num_replicas, ValueError, op, "Invalid rank ", rank,
               ", rank should be in the interval [0, ", num_replicas - 1, "]");
  // PyTorch's sizes: drop_last cuts to the largest multiple of num_replicas, else pad up.
  num_samples_ = drop_last && n % num_replicas != 0 ? (n - num_replicas + num_replicas - 1) / num_replicas
                                                    : (n + num_replicas - 1) / num_replicas;
  if (num_samples_ < 0) num_samples_ = 0;
}

int64_t DistributedSampler::size() const { return num_samples_; }

std::vector<int64_t> DistributedSampler::indices(uint64_t, uint64_t epoch) const {
  std::vector<int64_t> order =
      shuffle_ ? random_permutation(n_, seed_, SampleRng::key_for(epoch, 0)) : SequentialSampler(n_).indices(0, 0);
  const size_t total = static_cast<size_t>(num_samples_ * num_replicas_);
  if (order.size() < total && !order.empty()) {
    const size_t original = order.size();
    for (size_t i = 0; order.size() < total; ++i) order.push_back(order[i % original]);
  }
  order.resize(std::min(order.size(), total));
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  for (size_t i = static_cast<size_t>(rank_); i < order.size(); i += static_cast<size_t>(num_replicas_))
    out.push_back(order[i]);
  return out;
}

WeightedRandomSampler::WeightedRandomSampler(std::vector<double> weights, int64_t num_samples, bool replacement,
                                             std::optional<uint64_t> seed)
    : weights_(std::move(weights)), num_samples_(num_samples), replacement_(replacement), seed_(seed) {
  const char* op = "WeightedRandomSampler";
  LAMINA_CHECK(!weights_.empty(), ValueError, op, "weights must not be empty");
  LAMINA_CHECK(num_samples > 0, ValueError, op, "num_samples should be a positive integer, got ", num_samples);
  double total = 0;
  int64_t nonzero = 0;
  cumulative_.reserve(weights_.size());
  for (size_t i = 0; i < weights_.size(); ++i) {
    const double w = weights_[i];
    LAMINA_CHECK(std::isfinite(w) && w >= 0, ValueError, op, "weight ", i, " is ", w,
                 "; weights must be finite and non-negative");
    total += w;
    nonzero += w > 0;
    cumulative_.push_back(total);
  }
  LAMINA_CHECK(total > 0, ValueError, op, "the weights sum to zero; at least one must be positive");
  LAMINA_CHECK(replacement || num_samples <= nonzero, ValueError, op, "cannot draw ", num_samples,
               " samples without replacement from ", nonzero, " non-zero weights");
}

int64_t WeightedRandomSampler::size() const { return num_samples_; }

std::vector<int64_t> WeightedRandomSampler::indices(uint64_t seed, uint64_t epoch) const {
  SampleRng rng = epoch_rng(seed_.value_or(seed), epoch, 0);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  if (replacement_) {
    const double total = cumulative_.back();
    for (int64_t i = 0; i < num_samples_; ++i) {
      const double u = rng.uniform() * total;
      // The first running total above u; a zero weight never is (its total equals the one before).
      auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
      if (it == cumulative_.end()) {  // u rounded up to the total: take the last positive weight
        --it;
        while (weights_[static_cast<size_t>(it - cumulative_.begin())] == 0) --it;
      }
      out.push_back(it - cumulative_.begin());
    }
    return out;
  }
  // Without replacement: the num_samples smallest keys -log(u)/w (Efraimidis-Spirakis), which
  // is the distribution of drawing one by one and removing each winner.
  std::vector<std::pair<double, int64_t>> keys;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const double u = rng.uniform();
    if (weights_[i] > 0) keys.emplace_back(-std::log1p(-u) / weights_[i], static_cast<int64_t>(i));
  }
  std::partial_sort(keys.begin(), keys.begin() + num_samples_, keys.end());
  for (int64_t i = 0; i < num_samples_; ++i) out.push_back(keys[static_cast<size_t>(i)].second);
  return out;
}

BatchSampler::BatchSampler(std::shared_ptr<Sampler> sampler, int64_t batch_size, bool drop_last)
    : sampler_(std::move(sampler)), batch_size_(batch_size), drop_last_(drop_last) {
  LAMINA_CHECK(sampler_ != nullptr, ValueError, "BatchSampler", "the sampler is null");
  LAMINA_CHECK(batch_size > 0, ConfigError, "BatchSampler", "batch_size should be a positive integer, got ",
               batch_size);
}

int64_t BatchSampler::size() const {
  const int64_t n = sampler_->size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

std::vector<std::vector<int64_t>> BatchSampler::batches(uint64_t seed, uint64_t epoch) const {
  const std::vector<int64_t> all = sampler_->indices(seed, epoch);
  const int64_t n = static_cast<int64_t>(all.size());
  std::vector<std::vector<int64_t>> out;
  for (int64_t begin = 0; begin < n; begin += batch_size_) {
    const int64_t end = std::min(begin + batch_size_, n);
    if (drop_last_ && end - begin < batch_size_) break;
    out.emplace_back(all.begin() + begin, all.begin() + end);
  }
  return out;
}

}  // namespace lamina::data

// Datasets, samplers, collation, per-sample random streams and the DataLoader (workers or not).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lamina/data/collate.h"
#include "lamina/data/dataset.h"
#include "lamina/data/loader.h"
#include "lamina/data/sample_rng.h"
#include "lamina/data/sampler.h"
#include "lamina/lamina.h"

using namespace lamina;
using data::Batch;
using data::Example;
using data::LoaderState;

namespace {

std::vector<double> values(const Tensor& t) {
  const Tensor c = t.to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

// Same shapes, dtypes and values in every field.
bool same_batch(const Batch& a, const Batch& b) {
  if (a.size() != b.size()) return false;
  for (size_t f = 0; f < a.size(); ++f)
    if (a[f].shape() != b[f].shape() || a[f].dtype() != b[f].dtype() || values(a[f]) != values(b[f])) return false;
  return true;
}

std::vector<Batch> epoch(data::DataLoader& loader) {
  std::vector<Batch> out;
  for (const Batch& b : loader) out.push_back(b);
  return out;
}

bool same_epochs(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same_batch(a[i], b[i])) return false;
  return true;
}

// The first field of every batch, flattened: the order in which examples were delivered.
std::vector<double> order(const std::vector<Batch>& batches) {
  std::vector<double> out;
  for (const Batch& b : batches)
    for (double v : values(b[0])) out.push_back(v);
  return out;
}

template <class Error, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception of the expected type";
  return "";
}

std::shared_ptr<data::TensorDataset> range_dataset(int64_t n) {
  const Tensor x = arange(Scalar(int64_t{0}), Scalar(n)).to(Dtype::Float32);
  const Tensor y = arange(Scalar(int64_t{0}), Scalar(n)) * Scalar(int64_t{10});
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, y});
}

// A random "transform": each example adds a draw of the current sample stream, and optionally
// sleeps a random-ish time so that workers finish out of order.
class NoisyDataset : public data::Dataset {
 public:
  NoisyDataset(int64_t n, bool sleep = false, int64_t fail_at = -1) : n_(n), sleep_(sleep), fail_at_(fail_at) {}
  int64_t size() const override { return n_; }
  Example get(int64_t index) const override {
    const int64_t i = data::checked_index("NoisyDataset", index, n_);
    if (i == fail_at_) throw ValueError("NoisyDataset", "[NoisyDataset] example " + std::to_string(i) + " is bad");
    if (sleep_) std::this_thread::sleep_for(std::chrono::microseconds((i * 7919) % 5 * 200));
    data::SampleRng& rng = data::current_sample_rng();
    const double noise = rng.uniform();
    return {scalar_tensor(Scalar(static_cast<double>(i) + noise), Dtype::Float64), scalar_tensor(Scalar(i))};
  }

 private:
  int64_t n_;
  bool sleep_;
  int64_t fail_at_;
};

class SlowDataset : public data::Dataset {
 public:
  explicit SlowDataset(std::atomic<int>* loads) : loads_(loads) {}
  int64_t size() const override { return 1000; }
  Example get(int64_t index) const override {
    ++*loads_;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return {scalar_tensor(Scalar(index))};
  }

 private:
  std::atomic<int>* loads_;
};

// A stream of 0..n-1 with a random draw per example.
class CountingStream : public data::IterableDataset {
 public:
  explicit CountingStream(int64_t n, bool known_size = true) : n_(n), known_size_(known_size) {}
  std::unique_ptr<data::ExampleStream> stream() const override {
    struct S : data::ExampleStream {
      int64_t i = 0, n = 0;
      std::optional<Example> next() override {
        if (i >= n) return std::nullopt;
        const double noise = data::current_sample_rng().uniform();
        const int64_t v = i++;
        return Example{scalar_tensor(Scalar(static_cast<double>(v) + noise), Dtype::Float64), scalar_tensor(Scalar(v))};
      }
    };
    auto s = std::make_unique<S>();
    s->n = n_;
    return s;
  }
  std::optional<int64_t> size() const override { return known_size_ ? std::optional<int64_t>(n_) : std::nullopt; }

 private:
  int64_t n_;
  bool known_size_;
};

data::DataLoaderOptions opts(int64_t batch_size, bool shuffle, int workers, uint64_t seed = 42) {
  data::DataLoaderOptions o;
  o.batch_size = batch_size;
  o.shuffle = shuffle;
  o.num_workers = workers;
  o.seed = seed;
  return o;
}

}  // namespace

// ---- SampleRng ----

TEST(DataSampleRng, IsAPureFunctionOfSeedKeyAndDrawNumber) {
  data::SampleRng a(7, 3), b(7, 3), c(7, 4), d(8, 3);
  std::vector<uint32_t> va, vb, vc, vd;
  for (int i = 0; i < 10; ++i) {
    va.push_back(a.next_u32());
    vb.push_back(b.next_u32());
    vc.push_back(c.next_u32());
    vd.push_back(d.next_u32());
  }
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
  EXPECT_NE(va, vd);
  EXPECT_EQ(data::SampleRng::key_for(2, 5) + 3, data::SampleRng::key_for(2, 8));
}

TEST(DataSampleRng, UniformAndRandintCoverTheirRangesEvenly) {
  data::SampleRng rng(1, 2);
  std::vector<int> counts(6, 0);
  double sum = 0;
  const int n = 60000;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    const int64_t r = rng.randint(6);
    ASSERT_GE(r, 0);
    ASSERT_LT(r, 6);
    ++counts[static_cast<size_t>(r)];
  }
  EXPECT_NEAR(sum / n, 0.5, 0.01);
  for (int c : counts) EXPECT_NEAR(c, n / 6.0, n / 6.0 * 0.05);
  EXPECT_THROW(rng.randint(0), ValueError);
}

TEST(DataSampleRng, ScopesNestAndRestore) {
  EXPECT_EQ(data::scoped_sample_rng(), nullptr);
  {
    data::SampleRngScope outer(11, 1);
    const uint32_t first = data::current_sample_rng().next_u32();
    EXPECT_EQ(first, data::SampleRng(11, 1).next_u32());
    {
      data::SampleRngScope inner(11, 2);
      EXPECT_EQ(data::current_sample_rng().key(), 2u);
    }
    EXPECT_EQ(data::current_sample_rng().key(), 1u);
    data::SampleRng expected(11, 1);
    expected.next_u32();
    EXPECT_EQ(data::current_sample_rng().next_u32(), expected.next_u32());  // the stream continued
  }
  EXPECT_EQ(data::scoped_sample_rng(), nullptr);
}

TEST(DataSampleRng, OutsideAScopeFollowsManualSeed) {
  manual_seed(123);
  const double a1 = data::current_sample_rng().uniform(), a2 = data::current_sample_rng().uniform();
  manual_seed(123);
  const double b1 = data::current_sample_rng().uniform(), b2 = data::current_sample_rng().uniform();
  EXPECT_EQ(a1, b1);
  EXPECT_EQ(a2, b2);
  EXPECT_NE(a1, a2);  // each call outside a scope is a fresh stream
}

// ---- datasets ----

TEST(DataDataset, TensorDatasetSlicesEveryField) {
  auto ds = range_dataset(5);
  EXPECT_EQ(ds->size(), 5);
  const Example e = ds->get(3);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].item<double>(), 3.0);
  EXPECT_EQ(e[1].item<int64_t>(), 30);
  EXPECT_EQ(ds->get(-1)[1].item<int64_t>(), 40);
  const Batch b = ds->get_batch({4, 0, -2});
  EXPECT_EQ(values(b[0]), (std::vector<double>{4, 0, 3}));
  EXPECT_EQ(b[1].dtype(), Dtype::Int64);
  EXPECT_TRUE(same_batch(b, data::default_collate({ds->get(4), ds->get(0), ds->get(3)})));
  const std::string msg = error_message<IndexError>([&] { ds->get(5); });
  EXPECT_NE(msg.find("index 5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("5 examples"), std::string::npos) << msg;
  EXPECT_THROW(ds->get(-6), IndexError);
  EXPECT_THROW(ds->get_batch({0, 7}), IndexError);
}

TEST(DataDataset, TensorDatasetRejectsMismatchedFields) {
  EXPECT_THROW(data::TensorDataset({zeros({3, 2}), zeros({4})}), ShapeError);
  EXPECT_THROW(data::TensorDataset({zeros({3}), scalar_tensor(Scalar(1.0))}), ShapeError);
  EXPECT_THROW(data::TensorDataset(std::vector<Tensor>{}), ValueError);
}

TEST(DataDataset, SubsetAndConcatIndexLikePyTorch) {
  auto a = range_dataset(3), b = range_dataset(4);
  data::Subset sub(b, {3, 1, -4});
  EXPECT_EQ(sub.size(), 3);
  EXPECT_EQ(sub.get(0)[0].item<double>(), 3.0);
  EXPECT_EQ(sub.get(2)[0].item<double>(), 0.0);
  EXPECT_EQ(values(sub.get_batch({1, 0})[0]), (std::vector<double>{1, 3}));
  EXPECT_THROW(sub.get(3), IndexError);
  EXPECT_THROW(data::Subset(b, {4}), IndexError);

  data::ConcatDataset cat({a, b});
  EXPECT_EQ(cat.size(), 7);
  EXPECT_EQ(cat.cumulative_sizes(), (std::vector<int64_t>{3, 7}));
  std::vector<double> seen;
  for (int64_t i = 0; i < 7; ++i) seen.push_back(cat.get(i)[0].item<double>());
  EXPECT_EQ(seen, (std::vector<double>{0, 1, 2, 0, 1, 2, 3}));
  EXPECT_EQ(cat.get(-1)[0].item<double>(), 3.0);
  EXPECT_EQ(values(cat.get_batch({2, 3, 6})[0]), (std::vector<double>{2, 0, 3}));
  EXPECT_THROW(cat.get(7), IndexError);
  EXPECT_THROW(data::ConcatDataset({}), ValueError);
}

TEST(DataDataset, RandomSplitPartitionsBySeed) {
  auto ds = range_dataset(10);
  const auto parts = data::random_split(ds, std::vector<int64_t>{3, 7}, 5);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0]->size(), 3);
  EXPECT_EQ(parts[1]->size(), 7);
  std::set<int64_t> all(parts[0]->indices().begin(), parts[0]->indices().end());
  all.insert(parts[1]->indices().begin(), parts[1]->indices().end());
  EXPECT_EQ(all.size(), 10u);
  EXPECT_EQ(data::random_split(ds, std::vector<int64_t>{3, 7}, 5)[0]->indices(), parts[0]->indices());
  EXPECT_NE(data::random_split(ds, std::vector<int64_t>{3, 7}, 6)[1]->indices(), parts[1]->indices());
  // PyTorch's rule: floor each fraction, deal the remainder from the first split on.
  EXPECT_EQ(data::split_lengths(10, {0.33, 0.33, 0.34}), (std::vector<int64_t>{4, 3, 3}));
  EXPECT_EQ(data::split_lengths(5, {0.5, 0.5}), (std::vector<int64_t>{3, 2}));
  const auto frac = data::random_split(ds, std::vector<double>{0.8, 0.2}, 1);
  EXPECT_EQ(frac[0]->size(), 8);
  EXPECT_EQ(frac[1]->size(), 2);
  EXPECT_THROW(data::random_split(ds, std::vector<int64_t>{3, 6}, 1), ValueError);
  EXPECT_THROW(data::random_split(ds, std::vector<int64_t>{11, -1}, 1), ValueError);
  EXPECT_THROW(data::random_split(ds, std::vector<double>{0.5, 0.4}, 1), ValueError);
  EXPECT_THROW(data::random_split(ds, std::vector<double>{1.5, -0.5}, 1), ValueError);
}

// ---- samplers ----

TEST(DataSampler, SequentialAndRandomPermutations) {
  data::SequentialSampler seq(4);
  EXPECT_EQ(seq.indices(1, 0), (std::vector<int64_t>{0, 1, 2, 3}));
  data::RandomSampler rnd(50);
  const auto e0 = rnd.indices(9, 0), e0_again = rnd.indices(9, 0), e1 = rnd.indices(9, 1), other = rnd.indices(10, 0);
  EXPECT_EQ(e0, e0_again);
  EXPECT_NE(e0, e1);
  EXPECT_NE(e0, other);
  std::vector<int64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, data::SequentialSampler(50).indices(0, 0));
  // Its own seed wins over the loader's.
  data::RandomSampler fixed(50, false, std::nullopt, 77);
  EXPECT_EQ(fixed.indices(1, 0), fixed.indices(2, 0));
}

TEST(DataSampler, RandomWithReplacementAndMoreSamplesThanData) {
  data::RandomSampler rep(5, true, 1000);
  EXPECT_EQ(rep.size(), 1000);
  const auto draws = rep.indices(3, 0);
  std::vector<int> counts(5, 0);
  for (int64_t i : draws) {
    ASSERT_GE(i, 0);
    ASSERT_LT(i, 5);
    ++counts[static_cast<size_t>(i)];
  }
  for (int c : counts) EXPECT_GT(c, 140);
  data::RandomSampler chained(4, false, 10);
  const auto ix = chained.indices(3, 0);
  ASSERT_EQ(ix.size(), 10u);
  std::vector<int64_t> first(ix.begin(), ix.begin() + 4), second(ix.begin() + 4, ix.begin() + 8);
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  EXPECT_EQ(first, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(second, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_THROW(data::RandomSampler(4, false, 0), ValueError);
  EXPECT_THROW(data::RandomSampler(-1), ValueError);
}

TEST(DataSampler, SubsetRandomPermutesTheGivenIndices) {
  data::SubsetRandomSampler s({10, 20, 30, 40});
  const auto e0 = s.indices(3, 0);
  EXPECT_EQ(std::set<int64_t>(e0.begin(), e0.end()), (std::set<int64_t>{10, 20, 30, 40}));
  EXPECT_EQ(s.indices(3, 0), e0);
  bool differs = false;
  for (uint64_t e = 1; e < 5; ++e) differs |= s.indices(3, e) != e0;
  EXPECT_TRUE(differs);
}

TEST(DataSampler, DistributedSplitsAnEpochAcrossReplicas) {
  // 10 indices over 3 replicas: padded to 12 by repeating the start, every replica gets 4.
  std::vector<int64_t> all;
  for (int64_t rank = 0; rank < 3; ++rank) {
    data::DistributedSampler s(10, 3, rank, false);
    EXPECT_EQ(s.size(), 4);
    const auto ix = s.indices(0, 0);
    all.insert(all.end(), ix.begin(), ix.end());
  }
  EXPECT_EQ(all, (std::vector<int64_t>{0, 3, 6, 9, 1, 4, 7, 0, 2, 5, 8, 1}));
  EXPECT_EQ(data::DistributedSampler(10, 3, 1, false, 0, true).indices(0, 0), (std::vector<int64_t>{1, 4, 7}));
  // Shuffled: the replicas of one epoch partition the same permutation, whatever the loader seed.
  std::multiset<int64_t> seen;
  for (int64_t rank = 0; rank < 4; ++rank) {
    data::DistributedSampler s(12, 4, rank, true, 5);
    EXPECT_EQ(s.indices(1, 2), s.indices(99, 2));
    for (int64_t i : s.indices(1, 2)) seen.insert(i);
  }
  EXPECT_EQ(seen.size(), 12u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 12u);
  EXPECT_NE(data::DistributedSampler(12, 4, 0, true, 5).indices(0, 0),
            data::DistributedSampler(12, 4, 0, true, 5).indices(0, 1));
  EXPECT_THROW(data::DistributedSampler(10, 3, 3), ValueError);
  EXPECT_THROW(data::DistributedSampler(10, 0, 0), ValueError);
}

TEST(DataSampler, WeightedFrequenciesFollowTheWeights) {
  const std::vector<double> w{1, 0, 3, 6};
  data::WeightedRandomSampler s(w, 100000, true);
  std::vector<int> counts(4, 0);
  for (int64_t i : s.indices(5, 0)) ++counts[static_cast<size_t>(i)];
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0] / 1e5, 0.1, 0.01);
  EXPECT_NEAR(counts[2] / 1e5, 0.3, 0.01);
  EXPECT_NEAR(counts[3] / 1e5, 0.6, 0.01);
  EXPECT_NE(s.indices(5, 0), s.indices(5, 1));
  // Without replacement: distinct indices, never a zero weight; the heaviest comes first most often.
  data::WeightedRandomSampler once(w, 3, false);
  int heavy_first = 0;
  for (uint64_t e = 0; e < 2000; ++e) {
    const auto ix = once.indices(1, e);
    EXPECT_EQ(std::set<int64_t>(ix.begin(), ix.end()), (std::set<int64_t>{0, 2, 3}));
    heavy_first += ix[0] == 3;
  }
  EXPECT_NEAR(heavy_first / 2000.0, 0.6, 0.04);
}

TEST(DataSampler, WeightedRejectsBadWeights) {
  EXPECT_THROW(data::WeightedRandomSampler({}, 3), ValueError);
  EXPECT_THROW(data::WeightedRandomSampler({1, -1}, 3), ValueError);
  EXPECT_THROW(data::WeightedRandomSampler({1, NAN}, 3), ValueError);
  EXPECT_THROW(data::WeightedRandomSampler({0, 0}, 3), ValueError);
  EXPECT_THROW(data::WeightedRandomSampler({1, 2}, 0), ValueError);
  EXPECT_THROW(data::WeightedRandomSampler({1, 0, 2}, 3, false), ValueError);
  const std::string msg = error_message<ValueError>([] { data::WeightedRandomSampler({1, -2}, 3); });
  EXPECT_NE(msg.find("weight 1"), std::string::npos) << msg;
}

TEST(DataSampler, BatchSamplerGroupsAndDropsTheShortBatch) {
  auto seq = std::make_shared<data::SequentialSampler>(10);
  data::BatchSampler keep(seq, 4, false), drop(seq, 4, true);
  EXPECT_EQ(keep.size(), 3);
  EXPECT_EQ(drop.size(), 2);
  const auto kb = keep.batches(0, 0);
  ASSERT_EQ(kb.size(), 3u);
  EXPECT_EQ(kb[2], (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(drop.batches(0, 0).size(), 2u);
  EXPECT_THROW(data::BatchSampler(seq, 0), ConfigError);
}

// ---- collation ----

TEST(DataCollate, StacksFieldsAndNamesTheMismatch) {
  const Batch b = data::default_collate({{zeros({2}), scalar_tensor(Scalar(int64_t{1}))},
                                         {ones({2}), scalar_tensor(Scalar(int64_t{2}))}});
  EXPECT_EQ(b[0].shape(), Shape({2, 2}));
  EXPECT_EQ(values(b[1]), (std::vector<double>{1, 2}));
  const std::string shape_msg =
      error_message<ShapeError>([] { data::default_collate({{zeros({2})}, {zeros({3})}}); });
  EXPECT_NE(shape_msg.find("field 0"), std::string::npos) << shape_msg;
  const std::string dtype_msg = error_message<DTypeError>(
      [] { data::default_collate({{zeros({1}), zeros({2})}, {zeros({1}), zeros({2}).to(Dtype::Int64)}}); });
  EXPECT_NE(dtype_msg.find("field 1"), std::string::npos) << dtype_msg;
  EXPECT_THROW(data::default_collate({{zeros({1})}, {zeros({1}), zeros({1})}}), ShapeError);
  EXPECT_THROW(data::default_collate({}), ValueError);
}

// ---- the loader ----

TEST(DataLoader, BatchesInOrderWithDropLast) {
  auto ds = range_dataset(10);
  data::DataLoader keep(ds, opts(4, false, 0));
  EXPECT_EQ(keep.size(), 3);
  const auto batches = epoch(keep);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(values(batches[0][0]), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(values(batches[2][1]), (std::vector<double>{80, 90}));
  EXPECT_EQ(batches[0][0].dtype(), Dtype::Float32);
  auto o = opts(4, false, 0);
  o.drop_last = true;
  data::DataLoader drop(ds, o);
  EXPECT_EQ(drop.size(), 2);
  EXPECT_EQ(epoch(drop).size(), 2u);
}

TEST(DataLoader, ShuffleIsSeededAndNewEachEpoch) {
  auto ds = range_dataset(40);
  data::DataLoader a(ds, opts(8, true, 0, 5)), b(ds, opts(8, true, 0, 5)), c(ds, opts(8, true, 0, 6));
  const auto a0 = epoch(a), a1 = epoch(a), b0 = epoch(b), c0 = epoch(c);
  EXPECT_TRUE(same_epochs(a0, b0));
  EXPECT_FALSE(same_epochs(a0, a1));
  EXPECT_FALSE(same_epochs(a0, c0));
  std::vector<double> seen = order(a0);
  std::sort(seen.begin(), seen.end());
  for (int i = 0; i < 40; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
  EXPECT_EQ(a.epoch(), 2);
}

TEST(DataLoader, SeedZeroTakesOneFromTheGlobalGenerator) {
  auto ds = range_dataset(30);
  manual_seed(99);
  data::DataLoader a(ds, opts(5, true, 0, 0));
  manual_seed(99);
  data::DataLoader b(ds, opts(5, true, 0, 0));
  EXPECT_EQ(a.seed(), b.seed());
  EXPECT_NE(a.seed(), 0u);
  EXPECT_TRUE(same_epochs(epoch(a), epoch(b)));
}

TEST(DataLoader, WorkersGiveTheSameBatchesAsNoWorkers) {
  auto noisy = std::make_shared<NoisyDataset>(53, true);
  auto big = std::make_shared<data::TensorDataset>(std::vector<Tensor>{randn({300, 512}), arange(Scalar(int64_t{300}))});
  for (const std::shared_ptr<data::Dataset>& ds : std::vector<std::shared_ptr<data::Dataset>>{noisy, big}) {
    data::DataLoader reference(ds, opts(6, true, 0, 1234));
    const auto r0 = epoch(reference), r1 = epoch(reference);
    EXPECT_FALSE(same_epochs(r0, r1));
    for (int workers : {1, 2, 4}) {
      for (int prefetch : {1, 3}) {
        auto o = opts(6, true, workers, 1234);
        o.prefetch_factor = prefetch;
        data::DataLoader loader(ds, o);
        EXPECT_TRUE(same_epochs(epoch(loader), r0)) << workers << " workers";
        EXPECT_TRUE(same_epochs(epoch(loader), r1)) << workers << " workers";
      }
    }
  }
}

TEST(DataLoader, RandomTransformsDependOnPositionNotOnTheBatching) {
  // The same example order with batch size 1 or 5 and with a custom collate gets the same draws.
  auto ds = std::make_shared<NoisyDataset>(20);
  data::DataLoader ones_(ds, opts(1, true, 0, 8)), fives(ds, opts(5, true, 2, 8));
  auto custom = opts(5, true, 3, 8);
  std::atomic<int> collated{0};
  custom.collate = [&](const std::vector<Example>& ex) {
    ++collated;
    return data::default_collate(ex);
  };
  data::DataLoader with_collate(ds, custom);
  const auto a = order(epoch(ones_)), b = order(epoch(fives)), c = order(epoch(with_collate));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_EQ(collated.load(), 4);
  for (double v : a) EXPECT_NE(v, std::floor(v));  // a draw was added
}

TEST(DataLoader, WorkerErrorsArriveAtTheirBatch) {
  for (int workers : {0, 1, 3}) {
    auto ds = std::make_shared<NoisyDataset>(30, true, 13);
    data::DataLoader loader(ds, opts(4, false, workers));
    int delivered = 0;
    std::string message;
    try {
      for (const Batch& b : loader) {
        (void)b;
        ++delivered;
      }
    } catch (const ValueError& e) {
      message = e.what();
    }
    EXPECT_EQ(delivered, 3) << workers << " workers";  // batches 0..2 hold examples 0..11
    EXPECT_NE(message.find("example 13 is bad"), std::string::npos) << message;
    // The loader is usable again: a new epoch starts and fails at the same place.
    EXPECT_THROW(epoch(loader), ValueError);
  }
}

TEST(DataLoader, EarlyBreakRestartAndDestructionStopTheWorkers) {
  std::atomic<int> loads{0};
  auto ds = std::make_shared<SlowDataset>(&loads);
  {
    data::DataLoader loader(ds, opts(2, true, 3));
    int seen = 0;
    for (const Batch& b : loader) {
      (void)b;
      if (++seen == 3) break;
    }
    // At most the delivered batches plus num_workers * prefetch_factor batches were loaded.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_LE(loads.load(), 2 * (3 + 3 * 2));
    const LoaderState s = loader.state();
    EXPECT_EQ(s.epoch, 0);
    EXPECT_EQ(s.batches_consumed, 3);
    auto it = loader.begin();  // restarting abandons epoch 0
    EXPECT_EQ(loader.state().epoch, 1);
    EXPECT_EQ(loader.state().batches_consumed, 1);
    EXPECT_EQ((*it)[0].shape(), Shape({2}));
  }  // destroyed mid-epoch
  const int after = loads.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(loads.load(), after);
}

TEST(DataLoader, StateResumesMidEpoch) {
  auto ds = std::make_shared<NoisyDataset>(25);
  data::DataLoader full(ds, opts(4, true, 0, 31));
  epoch(full);
  const auto expected = epoch(full);  // epoch 1
  for (int workers : {0, 2}) {
    data::DataLoader loader(ds, opts(4, true, workers, 31));
    epoch(loader);
    std::vector<Batch> first_part;
    LoaderState saved;
    for (const Batch& b : loader) {
      first_part.push_back(b);
      if (first_part.size() == 3) {
        saved = loader.state();
        break;
      }
    }
    EXPECT_EQ(saved.epoch, 1);
    EXPECT_EQ(saved.batches_consumed, 3);
    data::DataLoader resumed(ds, opts(4, true, workers, 999));
    resumed.load_state(saved);
    EXPECT_EQ(resumed.seed(), 31u);
    std::vector<Batch> all = first_part;
    for (const Batch& b : resumed) all.push_back(b);
    EXPECT_TRUE(same_epochs(all, expected)) << workers << " workers";
    EXPECT_EQ(resumed.state().epoch, 2);
    EXPECT_EQ(resumed.state().batches_consumed, 0);
  }
  data::DataLoader bad(ds, opts(4, true, 0));
  EXPECT_THROW(bad.load_state({1, -1, 0}), ValueError);
}

TEST(DataLoader, IterableDatasetsStreamInOrder) {
  auto stream = std::make_shared<CountingStream>(11);
  data::DataLoader reference(stream, opts(3, false, 0, 4));
  EXPECT_EQ(reference.size(), 4);
  const auto r = epoch(reference);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(values(r[3][1]), (std::vector<double>{9, 10}));
  EXPECT_FALSE(same_epochs(r, epoch(reference)));  // new draws in a new epoch
  data::DataLoader threaded(stream, opts(3, false, 2, 4));
  EXPECT_TRUE(same_epochs(epoch(threaded), r));
  auto o = opts(3, false, 2, 4);
  o.drop_last = true;
  data::DataLoader drop(stream, o);
  EXPECT_EQ(drop.size(), 3);
  EXPECT_EQ(epoch(drop).size(), 3u);
  // Resume after two batches of epoch 0.
  data::DataLoader resumed(stream, opts(3, false, 1, 4));
  resumed.load_state({4, 0, 2});
  const auto rest = epoch(resumed);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_TRUE(same_batch(rest[0], r[2]));
  data::DataLoader unknown(std::make_shared<CountingStream>(5, false), opts(2, false, 0));
  EXPECT_THROW(unknown.size(), NotImplementedError);
  EXPECT_EQ(epoch(unknown).size(), 3u);
}

TEST(DataLoader, SamplerAndBatchSamplerOverrides) {
  auto ds = range_dataset(12);
  auto o = opts(5, false, 2);
  o.sampler = std::make_shared<data::WeightedRandomSampler>(std::vector<double>(12, 0.0 + 1.0), 20);
  data::DataLoader weighted(ds, o);
  EXPECT_EQ(weighted.size(), 4);
  EXPECT_EQ(order(epoch(weighted)).size(), 20u);
  data::DataLoaderOptions bo;
  bo.batch_sampler = std::make_shared<data::BatchSampler>(std::make_shared<data::SequentialSampler>(12), 5, true);
  data::DataLoader batched(ds, bo);
  EXPECT_EQ(batched.size(), 2);
  EXPECT_EQ(order(epoch(batched)), (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(DataLoader, RejectsBadOptions) {
  auto ds = range_dataset(4);
  EXPECT_THROW(data::DataLoader(ds, opts(0, false, 0)), ConfigError);
  EXPECT_THROW(data::DataLoader(ds, opts(1, false, -1)), ConfigError);
  auto o = opts(1, false, 1);
  o.prefetch_factor = 0;
  EXPECT_THROW(data::DataLoader(ds, o), ConfigError);
  auto s = opts(1, true, 0);
  s.sampler = std::make_shared<data::SequentialSampler>(4);
  EXPECT_THROW(data::DataLoader(ds, s), ConfigError);
  auto bs = opts(2, false, 0);
  bs.batch_sampler = std::make_shared<data::BatchSampler>(std::make_shared<data::SequentialSampler>(4), 2);
  EXPECT_THROW(data::DataLoader(ds, bs), ConfigError);
  EXPECT_THROW(data::DataLoader(std::make_shared<CountingStream>(3), opts(1, true, 0)), ConfigError);
  EXPECT_THROW(data::DataLoader(std::shared_ptr<data::Dataset>(), opts(1, false, 0)), ValueError);
}

TEST(DataLoader, EmptyDatasetHasNoBatches) {
  auto ds = std::make_shared<data::TensorDataset>(std::vector<Tensor>{zeros({0, 3})});
  data::DataLoader loader(ds, opts(2, true, 2));
  EXPECT_EQ(loader.size(), 0);
  EXPECT_TRUE(loader.begin() == loader.end());
  EXPECT_EQ(loader.epoch(), 1);
}

// pin_memory: the workers copy each batch into pinned host memory where a CUDA device is usable;
// elsewhere the loader warns once per loader (as PyTorch does) and delivers the same batches unpinned.
TEST(DataLoader, PinMemoryPinsBatchesWhereAGpuIsUsableAndWarnsElsewhere) {
  const auto dataset = std::make_shared<NoisyDataset>(23);
  const bool gpu = cuda_device_count() > 0;
  for (int workers : {0, 2}) {
    data::DataLoaderOptions plain;
    plain.batch_size = 5;
    plain.num_workers = workers;
    plain.seed = 11;
    data::DataLoaderOptions pinned = plain;
    pinned.pin_memory = true;
    data::DataLoader reference(dataset, plain);
    testing::internal::CaptureStderr();
    data::DataLoader loader(dataset, pinned);
    const std::string warning = testing::internal::GetCapturedStderr();
    EXPECT_EQ(warning.find("pin_memory is set but no CUDA device is usable") != std::string::npos, !gpu) << warning;
    const std::vector<Batch> got = epoch(loader);
    EXPECT_TRUE(same_epochs(got, epoch(reference)));
    ASSERT_EQ(got.size(), 5u);
    for (const Batch& b : got)
      for (const Tensor& t : b) {
        EXPECT_EQ(t.is_pinned(), gpu);
        EXPECT_TRUE(t.device().is_cpu());
      }
  }
}

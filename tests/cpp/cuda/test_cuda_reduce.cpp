// The per-row math of the CUDA reductions, softmax, norms and fused cross-entropy
// (lamina/kernels/cuda/reduce_math.cuh), run on the CPU against the CPU ops: each combine is fed
// random splits of random rows joined in random orders (as the kernels' lanes and trees split
// them) and must give the CPU op's result; the norm and cross-entropy gradient formulas must give
// the CPU autograd gradients.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "lamina/kernels/cuda/reduce_math.cuh"
#include "lamina/lamina.h"
#include "lamina/nn/functional.h"
#include "lamina/nn/loss.h"

using namespace lamina;
namespace kc = lamina::kernels::cuda;
namespace ag = lamina::autograd;

namespace lamina {
// Defined in lamina/ops/norm.cpp (its declaration goes to norm.h).
Tensor rms_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, double eps);
}  // namespace lamina

namespace {

std::vector<double> values(const Tensor& t) {
  Tensor c = ag::detach(t).to(Dtype::Float64).contiguous();
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

std::vector<int64_t> ints(const Tensor& t) {
  Tensor c = t.to(Dtype::Int64).contiguous();
  return std::vector<int64_t>(c.data<int64_t>(), c.data<int64_t>() + c.numel());
}

std::vector<double> random_row(std::mt19937& rng, int64_t n, double scale = 3.0) {
  std::normal_distribution<double> dist(0.0, scale);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = dist(rng);
  return v;
}

// Folds `row` as a kernel would: `lanes` threads each taking every lanes-th element (from a
// random starting rotation of the lane numbers), then the lane results joined in a random tree.
template <class Acc, class Map, class Combine>
Acc random_split_fold(std::mt19937& rng, const std::vector<double>& row, Acc identity, const Map& map,
                      const Combine& comb) {
  const int lanes = std::uniform_int_distribution<int>(1, 300)(rng);
  std::vector<Acc> acc(static_cast<size_t>(lanes), identity);
  for (size_t k = 0; k < row.size(); ++k) acc[k % lanes] = comb(acc[k % lanes], map(row[k], static_cast<int64_t>(k)));
  while (acc.size() > 1) {
    const size_t i = std::uniform_int_distribution<size_t>(0, acc.size() - 2)(rng);
    acc[i] = std::uniform_int_distribution<int>(0, 1)(rng) ? comb(acc[i], acc[i + 1]) : comb(acc[i + 1], acc[i]);
    acc.erase(acc.begin() + static_cast<std::ptrdiff_t>(i) + 1);
  }
  return acc[0];
}

const std::vector<int64_t> kLengths = {1, 2, 31, 33, 100, 257, 1000, 5000};

TEST(CudaReduceMath, WelfordMatchesCpuVar) {
  std::mt19937 rng(1);
  for (int64_t n : kLengths) {
    for (double correction : {0.0, 1.0}) {
      std::vector<double> row = random_row(rng, n);
      for (double& x : row) x += 100.0;  // a large mean: the naive sum of squares would lose digits
      const kc::Welford<double> w = random_split_fold(
          rng, row, kc::Welford<double>{0, 0.0, 0.0}, [](double x, int64_t) { return kc::welford_of(x); },
          [](auto a, auto b) { return kc::welford_combine(a, b); });
      EXPECT_EQ(w.n, n);
      const Tensor t = tensor(row);
      for (bool take_sqrt : {false, true}) {
        const double got = kc::welford_finish(w, correction, take_sqrt);
        const double want =
            values(take_sqrt ? lamina::std(t, std::nullopt, correction) : lamina::var(t, std::nullopt, correction))[0];
        if (std::isnan(want) || std::isinf(want)) {
          EXPECT_EQ(std::isnan(got), std::isnan(want)) << n;
          continue;
        }
        EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::fabs(want))) << "n=" << n << " sqrt=" << take_sqrt;
      }
    }
  }
}

kc::MaxSum<double> fold_maxsum(std::mt19937& rng, const std::vector<double>& row) {
  return random_split_fold(
      rng, row, kc::maxsum_identity<double>(), [](double x, int64_t) { return kc::maxsum_of(x); },
      [](auto a, auto b) { return kc::maxsum_combine(a, b); });
}

TEST(CudaReduceMath, OnlineSoftmaxMatchesCpu) {
  std::mt19937 rng(2);
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::vector<double>> rows;
  for (int64_t n : kLengths) rows.push_back(random_row(rng, n, 20.0));
  rows.push_back({-inf, -inf, -inf});
  rows.push_back({1.0, -inf, 2.0});
  rows.push_back({1.0, inf, 2.0});
  rows.push_back({1.0, nan, 2.0});
  rows.push_back({-inf});
  for (const auto& row : rows) {
    const kc::MaxSum<double> ms = fold_maxsum(rng, row);
    const Tensor t = tensor(row);
    const double lse = values(logsumexp(t, std::vector<int64_t>{0}))[0];
    const double got = kc::maxsum_logsumexp(ms);
    if (std::isnan(lse))
      EXPECT_TRUE(std::isnan(got));
    else if (std::isinf(lse))
      EXPECT_EQ(got, lse);
    else
      EXPECT_NEAR(got, lse, 1e-12 * std::max(1.0, std::fabs(lse)));
    for (bool log_form : {false, true}) {
      const std::vector<double> want = values(log_form ? log_softmax(t, 0) : softmax(t, 0));
      for (size_t j = 0; j < row.size(); ++j) {
        const double v = kc::maxsum_degenerate(ms) ? nan : kc::softmax_value(row[j], ms, log_form);
        if (std::isnan(want[j]))
          EXPECT_TRUE(std::isnan(v)) << j;
        else if (std::isinf(want[j]))
          EXPECT_EQ(v, want[j]) << j;
        else
          EXPECT_NEAR(v, want[j], 1e-12 * std::max(1.0, std::fabs(want[j]))) << j;
      }
    }
  }
}

TEST(CudaReduceMath, ArgExtremeMatchesCpu) {
  std::mt19937 rng(3);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int64_t n : kLengths) {
    for (int variant = 0; variant < 3; ++variant) {
      std::vector<double> row = random_row(rng, n);
      for (double& x : row) x = std::round(x);  // many ties
      if (variant == 2 && n > 3) row[n / 2] = row[n - 1] = nan;
      const Tensor t = tensor(row);
      for (bool is_max : {true, false}) {
        const ValuesIndices want = is_max ? lamina::max(t, 0) : lamina::min(t, 0);
        auto map = [](double x, int64_t k) { return kc::ArgExtreme<double>{x, k}; };
        const kc::ArgExtreme<double> got =
            is_max ? random_split_fold(rng, row, kc::extreme_identity<double, true>(), map,
                                       [](auto a, auto b) { return kc::extreme_combine<double, true>(a, b); })
                   : random_split_fold(rng, row, kc::extreme_identity<double, false>(), map,
                                       [](auto a, auto b) { return kc::extreme_combine<double, false>(a, b); });
        const double wv = values(want.values)[0];
        EXPECT_EQ(got.index, ints(want.indices)[0]) << "n=" << n << " max=" << is_max;
        if (std::isnan(wv))
          EXPECT_TRUE(std::isnan(got.value));
        else
          EXPECT_EQ(got.value, wv);
      }
    }
  }
  // Integers: the identity loses against the type's extremes, ties keep the first index.
  const auto lo = std::numeric_limits<int8_t>::lowest();
  kc::ArgExtreme<int8_t> a = kc::extreme_identity<int8_t, true>();
  a = kc::extreme_combine<int8_t, true>(a, {lo, 5});
  a = kc::extreme_combine<int8_t, true>(a, {lo, 2});
  EXPECT_EQ(a.index, 2);
  EXPECT_EQ(a.value, lo);
}

TEST(CudaReduceMath, NormTermsMatchCpu) {
  std::mt19937 rng(4);
  for (int64_t n : kLengths) {
    std::vector<double> row = random_row(rng, n);
    if (n > 2) row[1] = 0.0;
    const Tensor t = tensor(row);
    for (double p : {0.0, 1.0, 2.0, 3.0, 0.5}) {
      const double sum = random_split_fold(
          rng, row, 0.0, [p](double x, int64_t) { return kc::norm_term(x, p); },
          [](double a, double b) { return a + b; });
      const double want = values(lamina::norm(t, p))[0];
      EXPECT_NEAR(kc::norm_finish(sum, p), want, 1e-10 * std::max(1.0, want)) << "n=" << n << " p=" << p;
    }
  }
}

// Per-row cross-entropy from the fused formulas: the rows' (loss, w_target) and the reduced loss.
struct FusedCe {
  std::vector<double> loss, w_target, lse;
  double reduced = 0;
};

FusedCe fused_ce(std::mt19937& rng, const std::vector<double>& x, const std::vector<int64_t>& target,
                 const std::vector<double>& weight, int64_t rows, int64_t classes, int64_t ignore, double eps,
                 const std::string& reduction) {
  FusedCe r;
  double sum_w = 0;
  for (int64_t c = 0; c < classes; ++c) sum_w += weight.empty() ? 1.0 : weight[c];
  double total = 0, total_w = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const std::vector<double> row(x.begin() + i * classes, x.begin() + (i + 1) * classes);
    kc::CrossEntropyRow<double> cr{};
    cr.target = target[i];
    cr.ignored = target[i] == ignore;
    cr.w_target = cr.ignored ? 0.0 : weight.empty() ? 1.0 : weight[target[i]];
    cr.lse = kc::maxsum_logsumexp(fold_maxsum(rng, row));
    cr.sum_w = sum_w;
    for (int64_t c = 0; c < classes; ++c) cr.sum_wx += (weight.empty() ? 1.0 : weight[c]) * row[c];
    const double l = kc::cross_entropy_loss(cr, cr.ignored ? 0.0 : row[cr.target], eps, classes);
    r.loss.push_back(l);
    r.w_target.push_back(cr.w_target);
    r.lse.push_back(cr.lse);
    total += l;
    total_w += cr.w_target;
  }
  r.reduced = reduction == "sum" ? total : total / total_w;
  return r;
}

TEST(CudaReduceMath, CrossEntropyMatchesCpuLossAndGradient) {
  std::mt19937 rng(5);
  const int64_t rows = 37;
  for (int64_t classes : {1, 5, 40}) {
    for (bool weighted : {false, true}) {
      for (double eps : {0.0, 0.1}) {
        for (const std::string reduction : {"none", "sum", "mean"}) {
          const std::vector<double> x = random_row(rng, rows * classes);
          std::vector<int64_t> target(rows);
          for (auto& t : target) t = std::uniform_int_distribution<int64_t>(0, classes - 1)(rng);
          target[3] = target[10] = -100;
          std::vector<double> weight;
          if (weighted)
            for (int64_t c = 0; c < classes; ++c)
              weight.push_back(std::uniform_real_distribution<double>(0.1, 2.0)(rng));
          const FusedCe f = fused_ce(rng, x, target, weight, rows, classes, -100, eps, reduction);

          Tensor xt = tensor(x, Shape{rows, classes});
          ag::set_requires_grad(xt, true);
          const Tensor tt = tensor(target, Shape{rows});
          const Tensor wt = weighted ? tensor(weight) : Tensor();
          const Tensor loss = nn::functional::cross_entropy(xt, tt, wt, -100, reduction, eps);
          const std::vector<double> want = values(loss);
          if (reduction == "none") {
            for (int64_t i = 0; i < rows; ++i) EXPECT_NEAR(f.loss[i], want[i], 1e-10) << i;
          } else {
            EXPECT_NEAR(f.reduced, want[0], 1e-10 * std::max(1.0, std::fabs(want[0])));
          }
          // Upstream gradient: random per row for "none", one value otherwise.
          const std::vector<double> up = random_row(rng, reduction == "none" ? rows : 1, 1.0);
          ag::backward({sum(mul(loss, reduction == "none" ? tensor(up) : tensor(up).reshape({})))});
          const std::vector<double> grad = values(ag::grad(xt));
          double total_w = 0;
          for (double w : f.w_target) total_w += w;
          for (int64_t i = 0; i < rows; ++i) {
            kc::CrossEntropyRow<double> cr{};
            cr.target = target[i];
            cr.ignored = target[i] == -100;
            cr.w_target = f.w_target[i];
            cr.lse = f.lse[i];
            cr.sum_w = 0;
            for (int64_t c = 0; c < classes; ++c) cr.sum_w += weighted ? weight[c] : 1.0;
            const double gs = reduction == "none" ? up[i] : reduction == "sum" ? up[0] : up[0] / total_w;
            for (int64_t c = 0; c < classes; ++c) {
              const double g =
                  gs * kc::cross_entropy_grad(cr, x[i * classes + c], weighted ? weight[c] : 1.0, c, eps, classes);
              EXPECT_NEAR(g, grad[i * classes + c], 1e-10) << "row " << i << " class " << c;
            }
          }
        }
      }
    }
  }
}

// Row gradients of layer norm / RMS norm from the device formulas vs the CPU autograd.
TEST(CudaReduceMath, NormGradientsMatchCpuAutograd) {
  std::mt19937 rng(6);
  const int64_t rows = 9;
  for (int64_t d : {1, 7, 64, 300}) {
    const std::vector<double> x = random_row(rng, rows * d, 2.0), w = random_row(rng, d, 1.0);
    const std::vector<double> dy = random_row(rng, rows * d, 1.0);
    const double eps = 1e-5;
    for (bool rms : {false, true}) {
      Tensor xt = tensor(x, Shape{rows, d});
      ag::set_requires_grad(xt, true);
      const Tensor wt = tensor(w);
      const Tensor y =
          rms ? nn::functional::rms_norm(xt, {d}, wt, eps) : nn::functional::layer_norm(xt, {d}, wt, Tensor(), eps);
      ag::backward({sum(mul(y, tensor(dy, Shape{rows, d})))});
      const std::vector<double> want = values(ag::grad(xt));
      const std::vector<double> yv = values(y);
      for (int64_t r = 0; r < rows; ++r) {
        const double* xr = x.data() + r * d;
        const double* gr = dy.data() + r * d;
        double mean = 0, ss = 0;
        if (!rms) {
          for (int64_t i = 0; i < d; ++i) mean += xr[i];
          mean /= static_cast<double>(d);
        }
        for (int64_t i = 0; i < d; ++i) ss += (xr[i] - mean) * (xr[i] - mean);
        const double rstd = rms ? kc::rms_rstd(ss, d, eps) : 1.0 / std::sqrt(ss / static_cast<double>(d) + eps);
        double c1 = 0, c2 = 0;
        for (int64_t i = 0; i < d; ++i) {
          c1 += gr[i] * w[i] * (rms ? xr[i] : (xr[i] - mean) * rstd);
          c2 += gr[i] * w[i];
        }
        c1 /= static_cast<double>(d);
        c2 /= static_cast<double>(d);
        for (int64_t i = 0; i < d; ++i) {
          EXPECT_NEAR((xr[i] - mean) * rstd * w[i], yv[r * d + i], 1e-10);
          const double g = rms ? kc::rms_norm_dx(gr[i] * w[i], xr[i], rstd, c1)
                               : kc::layer_norm_dx(gr[i] * w[i], (xr[i] - mean) * rstd, rstd, c1, c2);
          EXPECT_NEAR(g, want[r * d + i], 1e-8 * std::max(1.0, std::fabs(want[r * d + i])))
              << "d=" << d << " rms=" << rms;
        }
      }
    }
  }
}

// The fused RMS-norm op on the CPU (the composite there) equals functional::rms_norm, gradients too.
TEST(CudaReduceMath, RmsNormOpMatchesFunctional) {
  Tensor x = randn({4, 6}, {Dtype::Float64});
  Tensor w = randn({6}, {Dtype::Float64});
  ag::set_requires_grad(x, true);
  ag::set_requires_grad(w, true);
  const Tensor a = lamina::rms_norm(x, 1, w, 1e-6);
  const Tensor b = nn::functional::rms_norm(x, {6}, w, 1e-6);
  const std::vector<double> va = values(a), vb = values(b);
  for (size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(va[i], vb[i], 1e-12);
}

// fused_cross_entropy on CPU tensors is functional::cross_entropy.
TEST(CudaReduceMath, FusedCrossEntropyCpuFallback) {
  const Tensor x = randn({5, 4}, {Dtype::Float64});
  const Tensor t = tensor(std::vector<int64_t>{0, 3, -100, 1, 2});
  const double a = values(nn::fused_cross_entropy(x, t, Tensor(), -100, "mean", 0.2))[0];
  const double b = values(nn::functional::cross_entropy(x, t, Tensor(), -100, "mean", 0.2))[0];
  EXPECT_EQ(a, b);
}

}  // namespace

// Convolution and pooling: values against direct loops, gradients against finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "lamina/lamina.h"

using namespace lamina;
namespace ag = lamina::autograd;

namespace {

Tensor leaf(const Shape& shape) {
  Tensor t = sub(mul(rand(shape, {Dtype::Float64, kCPU}), Scalar(2.0)), Scalar(1.0));
  ag::set_requires_grad(t);
  return t;
}

double at(const Tensor& t, std::initializer_list<int64_t> idx) {
  Tensor v = t;
  for (int64_t i : idx) v = v.select(0, i);
  return v.item<double>();
}

// conv2d by its definition.
Tensor conv_reference(const Tensor& x, const Tensor& w, const Tensor& b, Pair s, Pair p, Pair d, int64_t groups) {
  const int64_t n = x.shape()[0], h = x.shape()[2], wd = x.shape()[3];
  const int64_t o = w.shape()[0], cg = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
  const int64_t oh = (h + 2 * p[0] - d[0] * (kh - 1) - 1) / s[0] + 1, ow = (wd + 2 * p[1] - d[1] * (kw - 1) - 1) / s[1] + 1;
  Tensor out = zeros({n, o, oh, ow}, {Dtype::Float64, kCPU});
  double* po = out.data<double>();
  const int64_t og = o / groups;
  for (int64_t in = 0; in < n; ++in)
    for (int64_t io = 0; io < o; ++io)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) {
          double acc = b.defined() ? at(b, {io}) : 0.0;
          const int64_t grp = io / og;
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t yy = y * s[0] - p[0] + i * d[0], xw = xx * s[1] - p[1] + j * d[1];
                if (yy < 0 || yy >= h || xw < 0 || xw >= wd) continue;
                acc += at(x, {in, grp * cg + ic, yy, xw}) * at(w, {io, ic, i, j});
              }
          po[((in * o + io) * oh + y) * ow + xx] = acc;
        }
  return out;
}

double max_abs_diff(const Tensor& a, const Tensor& b) { return amax(abs(sub(a, b))).item<double>(); }

}  // namespace

TEST(Conv, MatchesTheDefinition) {
  manual_seed(4);
  struct Case {
    Shape x, w;
    Pair s, p, d;
    int64_t groups;
    bool bias;
  };
  for (const Case& c : {Case{{2, 3, 7, 6}, {4, 3, 3, 3}, {1, 1}, {0, 0}, {1, 1}, 1, true},
                        Case{{1, 4, 9, 8}, {6, 2, 3, 2}, {2, 1}, {1, 2}, {1, 2}, 2, false},
                        Case{{2, 2, 5, 5}, {2, 1, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 2, true},
                        Case{{1, 3, 8, 8}, {5, 3, 3, 3}, {2, 2}, {1, 1}, {2, 2}, 1, true}}) {
    const Tensor x = leaf(c.x), w = leaf(c.w), b = c.bias ? leaf({c.w[0]}) : Tensor();
    const Tensor got = conv2d(x, w, b, c.s, c.p, c.d, c.groups);
    const Tensor want = conv_reference(x, w, b, c.s, c.p, c.d, c.groups);
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_LT(max_abs_diff(got, want), 1e-12);
    const Tensor xf = x.to(Dtype::Float32), wf = w.to(Dtype::Float32);
    EXPECT_LT(max_abs_diff(conv2d(xf, wf, b.defined() ? b.to(Dtype::Float32) : Tensor(), c.s, c.p, c.d, c.groups)
                               .to(Dtype::Float64), want), 1e-4);
    std::vector<Tensor> inputs{x, w};
    if (c.bias) inputs.push_back(b);
    const std::string report = ag::gradcheck(
        [&](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], c.bias ? t[2] : Tensor(), c.s, c.p, c.d, c.groups); },
        inputs);
    EXPECT_TRUE(report.empty()) << report;
  }
}

TEST(Conv, PoolingValuesAndGradients) {
  manual_seed(5);
  const Tensor x = leaf({2, 3, 7, 6});
  const Tensor mp = max_pool2d(x, {3, 2}, {2, 2}, {1, 1});
  EXPECT_EQ(mp.shape(), Shape({2, 3, 4, 4}));
  // Window (1, 1) of the padded input covers rows 1..3, cols 1..2 of x.
  double want = -std::numeric_limits<double>::infinity();
  for (int64_t i = 1; i <= 3; ++i)
    for (int64_t j = 1; j <= 2; ++j) want = std::max(want, at(x, {1, 2, i, j}));
  EXPECT_EQ(at(mp, {1, 2, 1, 1}), want);
  const Tensor ap = avg_pool2d(x, {2, 2}, {2, 2});
  EXPECT_NEAR(at(ap, {0, 1, 2, 1}), (at(x, {0, 1, 4, 2}) + at(x, {0, 1, 4, 3}) + at(x, {0, 1, 5, 2}) + at(x, {0, 1, 5, 3})) / 4,
              1e-12);
  const Tensor ap_pad = avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, false);
  EXPECT_NEAR(at(ap_pad, {0, 0, 0, 0}), (at(x, {0, 0, 0, 0}) + at(x, {0, 0, 0, 1}) + at(x, {0, 0, 1, 0}) + at(x, {0, 0, 1, 1})) / 4,
              1e-12);
  const Tensor ad = adaptive_avg_pool2d(x, {3, 4});
  EXPECT_EQ(ad.shape(), Shape({2, 3, 3, 4}));
  // Row bin 1 of 7 -> 3 is [2, 5); column bin 0 of 6 -> 4 is [0, 2).
  double bin = 0;
  for (int64_t i = 2; i < 5; ++i)
    for (int64_t j = 0; j < 2; ++j) bin += at(x, {0, 0, i, j});
  EXPECT_NEAR(at(ad, {0, 0, 1, 0}), bin / 6, 1e-12);
  EXPECT_LT(max_abs_diff(adaptive_avg_pool2d(x, {1, 1}), mean(x, std::vector<int64_t>{2, 3}, true)), 1e-12);
  using V = const std::vector<Tensor>&;
  for (auto [fn, what] : std::vector<std::pair<std::function<Tensor(V)>, const char*>>{
           {[](V t) { return max_pool2d(t[0], {3, 2}, {2, 2}, {1, 1}); }, "max_pool2d"},
           {[](V t) { return max_pool2d(t[0], {2, 2}, {1, 1}, {0, 0}, {2, 2}); }, "dilated max_pool2d"},
           {[](V t) { return avg_pool2d(t[0], {3, 3}, {2, 1}, {1, 1}); }, "avg_pool2d"},
           {[](V t) { return avg_pool2d(t[0], {3, 3}, {1, 1}, {1, 1}, false); }, "avg_pool2d without pad"},
           {[](V t) { return adaptive_avg_pool2d(t[0], {3, 4}); }, "adaptive_avg_pool2d"}}) {
    const std::string report = ag::gradcheck(fn, {x});
    EXPECT_TRUE(report.empty()) << what << ": " << report;
  }
}

TEST(Conv, BadArgumentsAreTypedErrors) {
  const Tensor x = rand({1, 3, 5, 5}), w = rand({4, 3, 3, 3});
  EXPECT_THROW(conv2d(rand({3, 5, 5}), w), ShapeError);
  EXPECT_THROW(conv2d(x, rand({4, 2, 3, 3})), ShapeError);
  EXPECT_THROW(conv2d(x, w, Tensor(), {0, 1}), ConfigError);
  EXPECT_THROW(conv2d(x, w, Tensor(), {1, 1}, {-1, 0}), ConfigError);
  EXPECT_THROW(conv2d(x, rand({4, 1, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 2), ConfigError);
  EXPECT_THROW(conv2d(x, rand({4, 3, 7, 7})), ShapeError);
  EXPECT_THROW(conv2d(x, w, rand({5})), ShapeError);
  EXPECT_THROW(conv2d(x, w.to(Dtype::Float64)), DTypeError);
  EXPECT_THROW(max_pool2d(x, {0, 2}, {1, 1}), ConfigError);
  EXPECT_THROW(max_pool2d(x, {2, 2}, {1, 1}, {2, 0}), ConfigError);
  EXPECT_THROW(avg_pool2d(tensor<int64_t>({1}).reshape({1, 1, 1, 1}), {1, 1}, {1, 1}), DTypeError);
  EXPECT_THROW(adaptive_avg_pool2d(x, {0, 1}), ConfigError);
}

TEST(Conv, TransposedConvolutionIsTheAdjointAndDifferentiable) {
  manual_seed(6);
  struct Case {
    Shape z, w;
    Pair s, p, d;
    int64_t groups;
  };
  for (const Case& c : {Case{{2, 3, 7, 6}, {4, 3, 3, 3}, {1, 1}, {0, 0}, {1, 1}, 1},
                        Case{{1, 4, 9, 8}, {6, 2, 3, 2}, {2, 1}, {1, 0}, {1, 2}, 2}}) {
    // <conv2d(z, W), x> == <z, conv_transpose2d(x, W)> for x of conv2d's output shape.
    const Tensor z = leaf(c.z), w = leaf(c.w);
    const Tensor y = conv2d(z, w, Tensor(), c.s, c.p, c.d, c.groups);
    const Tensor x = leaf(y.shape());
    const Tensor zt = conv_transpose2d(x, w, Tensor(), c.s, c.p, {0, 0}, c.groups, c.d);
    // Rows or columns conv2d never reached (its floor) are absent from zt: compare on zt's extent.
    const Tensor zc = z.narrow(2, 0, zt.shape()[2]).narrow(3, 0, zt.shape()[3]);
    EXPECT_NEAR(sum(mul(y, x)).item<double>(), sum(mul(zc, zt)).item<double>(), 1e-9);
    const Tensor b = leaf({c.w[1] * c.groups});
    const std::string report = ag::gradcheck(
        [&](const std::vector<Tensor>& t) { return conv_transpose2d(t[0], t[1], t[2], c.s, c.p, {0, 0}, c.groups, c.d); },
        {x, w, b});
    EXPECT_TRUE(report.empty()) << report;
  }
  const Tensor x1 = leaf({2, 3, 11}), w1 = leaf({4, 3, 3});
  const Tensor c1 = conv1d(x1, w1, Tensor(), 2, 1, 1, 1);
  EXPECT_LT(max_abs_diff(c1, conv2d(x1.unsqueeze(2), w1.unsqueeze(2), Tensor(), {1, 2}, {0, 1}).squeeze(2)), 1e-12);
  EXPECT_THROW(conv_transpose2d(rand({1, 3, 4, 4}), rand({3, 2, 3, 3}), Tensor(), {2, 2}, {0, 0}, {2, 0}), ConfigError);
  EXPECT_THROW(conv1d(rand({1, 3, 4, 4}), rand({2, 3, 3})), ShapeError);
}

TEST(Conv, BatchNormStatisticsAndGradients) {
  manual_seed(7);
  const Tensor x = leaf({4, 3, 5, 2}), w = leaf({3}), b = leaf({3});
  Tensor rm = zeros({3}, {Dtype::Float64, kCPU}), rv = ones({3}, {Dtype::Float64, kCPU});
  const Tensor y = batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5);
  // Per channel the normalized values have mean 0 and (biased) variance ~1 before the affine map.
  const Tensor z = div(sub(y, b.reshape({1, 3, 1, 1})), w.reshape({1, 3, 1, 1}));
  EXPECT_LT(amax(abs(mean(z, std::vector<int64_t>{0, 2, 3}))).item<double>(), 1e-10);
  EXPECT_LT(amax(abs(sub(var(z, std::vector<int64_t>{0, 2, 3}, 0.0), Scalar(1.0)))).item<double>(), 1e-3);
  const Tensor batch_mean = mean(x, std::vector<int64_t>{0, 2, 3});
  EXPECT_LT(max_abs_diff(rm, mul(batch_mean, Scalar(0.1))), 1e-12);
  const Tensor unbiased = var(x, std::vector<int64_t>{0, 2, 3}, 1.0);
  EXPECT_LT(max_abs_diff(rv, add(mul(unbiased, Scalar(0.1)), Scalar(0.9))), 1e-12);
  const Tensor eval = batch_norm(x, rm, rv, w, b, false);
  EXPECT_LT(max_abs_diff(eval, add(mul(div(sub(x, rm.reshape({1, 3, 1, 1})), sqrt(add(rv.reshape({1, 3, 1, 1}), Scalar(1e-5)))),
                                       w.reshape({1, 3, 1, 1})), b.reshape({1, 3, 1, 1}))), 1e-12);
  const std::string report = ag::gradcheck(
      [](const std::vector<Tensor>& t) { return batch_norm(t[0], Tensor(), Tensor(), t[1], t[2], true); }, {x, w, b});
  EXPECT_TRUE(report.empty()) << report;
  EXPECT_THROW(batch_norm(x, rm, rv, rand({4}), b, true), ShapeError);
  EXPECT_THROW(batch_norm(x, Tensor(), Tensor(), w, b, false), ValueError);
  EXPECT_THROW(batch_norm(rand({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true), ValueError);
}

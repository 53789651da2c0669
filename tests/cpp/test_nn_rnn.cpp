// Recurrent layers through the C++ API: shapes, PyTorch's parameter names, gradients by finite
// differences (padded and packed), and typed errors.
#include <gtest/gtest.h>

#include "lamina/lamina.h"
#include "lamina/nn/nn.h"

using namespace lamina;

namespace {
const TensorOptions kF64{Dtype::Float64, kCPU};
}

TEST(NnRnn, ShapesNamesAndRepr) {
  manual_seed(2);
  nn::LSTM lstm(3, 5, 2, true, true, 0.0, true, Dtype::Float64);
  std::vector<std::string> names;
  for (const auto& [k, v] : lstm.named_parameters()) names.push_back(k);
  ASSERT_EQ(names.size(), 16u);
  EXPECT_EQ(names[0], "weight_ih_l0");
  EXPECT_EQ(names[4], "weight_ih_l0_reverse");
  EXPECT_EQ(lstm.param("weight_ih_l1").shape(), Shape({20, 10}));
  EXPECT_EQ(lstm.repr(), "LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True)");
  nn::RnnOutput r = lstm.forward(randn({4, 6, 3}, kF64), {});
  EXPECT_EQ(r.output.shape(), Shape({4, 6, 10}));
  EXPECT_EQ(r.last.h.shape(), Shape({4, 4, 5}));
  EXPECT_EQ(r.last.c.shape(), Shape({4, 4, 5}));
  nn::GRU gru(3, 4);
  nn::RnnOutput unbatched = gru.forward(randn({7, 3}), {});
  EXPECT_EQ(unbatched.output.shape(), Shape({7, 4}));
  EXPECT_EQ(unbatched.last.h.shape(), Shape({1, 4}));
  EXPECT_FALSE(unbatched.last.c.defined());
  nn::GRUCell cell(3, 4, false);
  EXPECT_EQ(cell.repr(), "GRUCell(3, 4, bias=False)");
  EXPECT_EQ(cell.step(randn({2, 3})).h.shape(), Shape({2, 4}));
}

TEST(NnRnn, GradientsMatchFiniteDifferences) {
  manual_seed(3);
  nn::GRU gru(2, 3, 2, true, false, 0.0, true, Dtype::Float64);
  Tensor x = randn({4, 2, 2}, kF64);
  Tensor h0 = randn({4, 2, 3}, kF64);
  autograd::set_requires_grad(x);
  autograd::set_requires_grad(h0);
  std::string report = autograd::gradcheck(
      [&](const std::vector<Tensor>& t) {
        return gru.forward(t[0], {t[1], Tensor()}).output;
      },
      {x, h0});
  EXPECT_TRUE(report.empty()) << report;

  nn::LSTM lstm(2, 3, 1, true, false, 0.0, true, Dtype::Float64);
  Tensor packed = randn({6, 2}, kF64);  // steps of 3, 2, 1 sequences
  autograd::set_requires_grad(packed);
  report = autograd::gradcheck(
      [&](const std::vector<Tensor>& t) {
        nn::RnnOutput r = lstm.forward_packed(t[0], {3, 2, 1}, {});
        return cat({r.output.reshape({-1}), r.last.h.reshape({-1}), r.last.c.reshape({-1})}, 0);
      },
      {packed});
  EXPECT_TRUE(report.empty()) << report;

  nn::LSTMCell cell(3, 2, true, Dtype::Float64);
  Tensor in = randn({2, 3}, kF64);
  Tensor h = randn({2, 2}, kF64);
  Tensor c = randn({2, 2}, kF64);
  for (Tensor* t : {&in, &h, &c}) autograd::set_requires_grad(*t);
  report = autograd::gradcheck(
      [&](const std::vector<Tensor>& t) {
        nn::RnnState s = cell.step(t[0], {t[1], t[2]});
        return cat({s.h, s.c}, 1);
      },
      {in, h, c});
  EXPECT_TRUE(report.empty()) << report;
}

TEST(NnRnn, BadInputRaisesTypedErrors) {
  nn::LSTM lstm(3, 4, 2);
  EXPECT_THROW(lstm.forward(randn({5, 2, 4}), {}), ShapeError);
  EXPECT_THROW(lstm.forward(randn({5, 2, 3}), {zeros({1, 2, 4}), zeros({2, 2, 4})}), ShapeError);
  EXPECT_THROW(lstm.forward(randn({5, 2, 3}, kF64), {}), DTypeError);
  EXPECT_THROW(lstm.forward_packed(randn({4, 3}), {1, 3}, {}), ShapeError);
  EXPECT_THROW(lstm.forward_packed(randn({5, 3}), {3, 1}, {}), ShapeError);
  EXPECT_THROW(lstm.forward_packed(randn({4, 3}), {3, 0, 1}, {}), ShapeError);
  EXPECT_THROW(nn::RNN(3, 4, 1, "sigmoid"), ConfigError);
  EXPECT_THROW(nn::GRU(3, 4, 0), ConfigError);
  EXPECT_THROW(nn::LSTM(3, 4, 1, true, false, -0.1), ConfigError);
  EXPECT_THROW(nn::RNNCell(0, 4), ConfigError);
  nn::GRUCell cell(3, 4);
  EXPECT_THROW(cell.step(randn({2, 3}), {randn({3, 4}), Tensor()}), ShapeError);
}

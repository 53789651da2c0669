#include "lamina/nn/rnn.h"

#include <cmath>

#include "lamina/core/print.h"
#include "lamina/nn/functional.h"
#include "lamina/nn/init.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/join.h"
#include "lamina/runtime/profiler.h"

namespace lamina::nn {
namespace {

int64_t gates_of(RnnMode mode) { return mode == RnnMode::Lstm ? 4 : mode == RnnMode::Gru ? 3 : 1; }

RnnMode rnn_mode(const std::string& nonlinearity, const char* op) {
  LAMINA_CHECK(nonlinearity == "tanh" || nonlinearity == "relu", ConfigError, op,
               "nonlinearity must be 'tanh' or 'relu', got '", nonlinearity, "'");
  return nonlinearity == "tanh" ? RnnMode::Tanh : RnnMode::Relu;
}

void check_sizes(int64_t input_size, int64_t hidden_size, Dtype dtype, const std::string& op) {
  LAMINA_CHECK(input_size > 0 && hidden_size > 0, ConfigError, op, "input_size and hidden_size must be positive, got ",
               input_size, " and ", hidden_size);
  LAMINA_CHECK(is_floating(dtype), ConfigError, op, "parameters need a floating dtype, got ", dtype_name(dtype));
}

// One step given the input's projection xg = x W_ih^T + b_ih (rows, gates * hidden).
RnnState cell(RnnMode mode, const Tensor& xg, const RnnState& s, const Tensor& w_hh, const Tensor& b_hh) {
  const Tensor hg = functional::linear(s.h, w_hh, b_hh);
  const int64_t last = xg.dim() - 1;
  switch (mode) {
    case RnnMode::Tanh:
      return {tanh(add(xg, hg)), Tensor()};
    case RnnMode::Relu:
      return {relu(add(xg, hg)), Tensor()};
    case RnnMode::Lstm: {
      const std::vector<Tensor> g = chunk(add(xg, hg), 4, last);
      Tensor c = add(mul(sigmoid(g[1]), s.c), mul(sigmoid(g[0]), tanh(g[2])));
      Tensor h = mul(sigmoid(g[3]), tanh(c));
      return {h, c};
    }
    case RnnMode::Gru: {
      const std::vector<Tensor> x3 = chunk(xg, 3, last), h3 = chunk(hg, 3, last);
      const Tensor r = sigmoid(add(x3[0], h3[0]));
      const Tensor z = sigmoid(add(x3[1], h3[1]));
      const Tensor n = tanh(add(x3[2], mul(r, h3[2])));
      return {add(n, mul(z, sub(s.h, n))), Tensor()};
    }
  }
  return {};
}

RnnState narrow_state(const RnnState& s, int64_t start, int64_t rows) {
  return {s.h.narrow(0, start, rows), s.c.defined() ? s.c.narrow(0, start, rows) : Tensor()};
}

RnnState cat_state(const std::vector<RnnState>& parts) {
  std::vector<Tensor> h, c;
  for (const RnnState& p : parts) {
    h.push_back(p.h);
    if (p.c.defined()) c.push_back(p.c);
  }
  return {parts.size() == 1 ? h[0] : cat(h, 0), c.empty() ? Tensor() : (parts.size() == 1 ? c[0] : cat(c, 0))};
}

struct Weights {
  Tensor w_ih, w_hh, b_ih, b_hh;
};

// One direction of one layer over padded steps x (T, N, in): the outputs (T, N, H), final state.
std::pair<Tensor, RnnState> run_padded(RnnMode mode, const Tensor& x, RnnState s, const Weights& w, bool reverse) {
  const Tensor xg = functional::linear(x, w.w_ih, w.b_ih);
  const int64_t steps = x.size(0);
  std::vector<Tensor> outs(steps);
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = reverse ? steps - 1 - k : k;
    s = cell(mode, xg.select(0, t), s, w.w_hh, w.b_hh);
    outs[t] = s.h;
  }
  return {stack(outs, 0), s};
}

// One direction of one layer over packed rows x (sum of batch_sizes, in). Forward, the batch
// shrinks as sequences end (their final states are set aside); reversed, it grows, each
// sequence starting from its initial state at its own last step.
std::pair<Tensor, RnnState> run_packed(RnnMode mode, const Tensor& x, const RnnState& s0, const Weights& w,
                                       const std::vector<int64_t>& sizes, bool reverse) {
  const Tensor xg = functional::linear(x, w.w_ih, w.b_ih);
  const int64_t steps = static_cast<int64_t>(sizes.size());
  std::vector<int64_t> offset(steps + 1, 0);
  for (int64_t t = 0; t < steps; ++t) offset[t + 1] = offset[t] + sizes[t];
  std::vector<Tensor> outs(steps);
  if (!reverse) {
    RnnState s = s0;
    std::vector<RnnState> finished;
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t rows = s.h.size(0), b = sizes[t];
      if (b < rows) {
        finished.push_back(narrow_state(s, b, rows - b));
        s = narrow_state(s, 0, b);
      }
      s = cell(mode, xg.narrow(0, offset[t], b), s, w.w_hh, w.b_hh);
      outs[t] = s.h;
    }
    std::vector<RnnState> parts{s};
    parts.insert(parts.end(), finished.rbegin(), finished.rend());
    return {cat(outs, 0), cat_state(parts)};
  }
  RnnState s = narrow_state(s0, 0, sizes[steps - 1]);
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t rows = s.h.size(0), b = sizes[t];
    if (b > rows) s = cat_state({s, narrow_state(s0, rows, b - rows)});
    s = cell(mode, xg.narrow(0, offset[t], b), s, w.w_hh, w.b_hh);
    outs[t] = s.h;
  }
  return {cat(outs, 0), s};
}

void check_state(const Tensor& t, const Shape& want, const Tensor& like, const char* what, const std::string& op) {
  if (!t.defined()) return;
  LAMINA_CHECK(t.shape() == want, ShapeError, op, "expected ", what, " of shape ", want, ", got ", describe(t));
  LAMINA_CHECK(t.dtype() == like.dtype() && t.device() == like.device(), DTypeError, op, what,
               " must match the input's dtype and device, got ", describe(t), " for input ", describe(like));
}

}  // namespace

// ------------------------------------------------------------------------------------- cells
RNNCellBase::RNNCellBase(std::string type_name, RnnMode m, int64_t in, int64_t hid, bool b, Dtype dtype)
    : Module(std::move(type_name)), mode(m), input_size(in), hidden_size(hid), bias(b) {
  check_sizes(in, hid, dtype, op_name());
  const int64_t g = gates_of(m) * hid;
  register_parameter("weight_ih", empty({g, in}, {dtype}));
  register_parameter("weight_hh", empty({g, hid}, {dtype}));
  register_parameter("bias_ih", b ? empty({g}, {dtype}) : Tensor());
  register_parameter("bias_hh", b ? empty({g}, {dtype}) : Tensor());
  reset_parameters();
}

void RNNCellBase::reset_parameters() {
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (const Tensor& p : parameters(false)) init::uniform_(p, -k, k);
}

std::string RNNCellBase::extra_repr() const {
  std::string s = std::to_string(input_size) + ", " + std::to_string(hidden_size);
  if (!bias) s += ", bias=False";
  if (mode == RnnMode::Relu) s += ", nonlinearity=relu";
  return s;
}

RnnState RNNCellBase::step(const Tensor& input, const RnnState& state) {
  const std::string op = op_name();
  LAMINA_PROFILE_OP(type_name().c_str(), input);
  LAMINA_CHECK(input.defined() && (input.dim() == 1 || input.dim() == 2) && input.size(-1) == input_size, ShapeError,
               op, "expected input (N, ", input_size, ") or (", input_size, "), got ",
               input.defined() ? describe(input) : "undefined");
  const bool batched = input.dim() == 2;
  const Tensor x = batched ? input : input.unsqueeze(0);
  const int64_t n = x.size(0);
  const Shape want = batched ? Shape{n, hidden_size} : Shape{hidden_size};
  check_state(state.h, want, input, "hx", op);
  check_state(state.c, want, input, "cx", op);
  auto prepare = [&](const Tensor& t) {
    if (!t.defined()) return zeros({n, hidden_size}, {x.dtype(), x.device()});
    return batched ? t : t.unsqueeze(0);
  };
  RnnState s{prepare(state.h), mode == RnnMode::Lstm ? prepare(state.c) : Tensor()};
  const Tensor xg = functional::linear(x, param("weight_ih"), param("bias_ih"));
  RnnState out = cell(mode, xg, s, param("weight_hh"), param("bias_hh"));
  if (!batched) out = {out.h.squeeze(0), out.c.defined() ? out.c.squeeze(0) : Tensor()};
  return out;
}

RNNCell::RNNCell(int64_t in, int64_t hid, bool b, const std::string& nonlinearity, Dtype dtype)
    : RNNCellBase("RNNCell", rnn_mode(nonlinearity, "RNNCell"), in, hid, b, dtype) {}

LSTMCell::LSTMCell(int64_t in, int64_t hid, bool b, Dtype dtype)
    : RNNCellBase("LSTMCell", RnnMode::Lstm, in, hid, b, dtype) {}

GRUCell::GRUCell(int64_t in, int64_t hid, bool b, Dtype dtype)
    : RNNCellBase("GRUCell", RnnMode::Gru, in, hid, b, dtype) {}

// ------------------------------------------------------------------------------------ layers
RNNBase::RNNBase(std::string type_name, RnnMode m, int64_t in, int64_t hid, int64_t layers, bool b, bool bf, double p,
                 bool bidi, Dtype dtype)
    : Module(std::move(type_name)),
      mode(m),
      input_size(in),
      hidden_size(hid),
      num_layers(layers),
      bias(b),
      batch_first(bf),
      dropout(p),
      bidirectional(bidi) {
  check_sizes(in, hid, dtype, op_name());
  LAMINA_CHECK(layers > 0, ConfigError, op_name(), "num_layers must be positive, got ", layers);
  LAMINA_CHECK(p >= 0 && p <= 1, ConfigError, op_name(), "dropout must be in [0, 1], got ", p);
  const int64_t g = gates_of(m) * hid, dirs = bidi ? 2 : 1;
  for (int64_t l = 0; l < layers; ++l) {
    for (int64_t d = 0; d < dirs; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      register_parameter("weight_ih" + sfx, empty({g, l == 0 ? in : hid * dirs}, {dtype}));
      register_parameter("weight_hh" + sfx, empty({g, hid}, {dtype}));
      register_parameter("bias_ih" + sfx, b ? empty({g}, {dtype}) : Tensor());
      register_parameter("bias_hh" + sfx, b ? empty({g}, {dtype}) : Tensor());
    }
  }
  reset_parameters();
}

void RNNBase::reset_parameters() {
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (const Tensor& p : parameters(false)) init::uniform_(p, -k, k);
}

std::string RNNBase::extra_repr() const {
  std::string s = std::to_string(input_size) + ", " + std::to_string(hidden_size);
  if (num_layers != 1) s += ", num_layers=" + std::to_string(num_layers);
  if (!bias) s += ", bias=False";
  if (batch_first) s += ", batch_first=True";
  if (dropout != 0) s += ", dropout=" + format_float(dropout);
  if (bidirectional) s += ", bidirectional=True";
  return s;
}

RnnOutput RNNBase::forward(const Tensor& input, const RnnState& state) {
  const std::string op = op_name();
  LAMINA_PROFILE_OP(type_name().c_str(), input);
  LAMINA_CHECK(input.defined() && (input.dim() == 2 || input.dim() == 3) && input.size(-1) == input_size, ShapeError,
               op, "expected input (T, N, ", input_size, ")", batch_first ? " with batch_first (N, T, ...)" : "",
               " or unbatched (T, ", input_size, "), got ", input.defined() ? describe(input) : "undefined");
  const bool batched = input.dim() == 3;
  Tensor x = batched ? (batch_first ? input.transpose(0, 1) : input) : input.unsqueeze(1);
  LAMINA_CHECK(x.size(0) > 0, ShapeError, op, "expected a sequence of at least one step, got ", describe(input));
  RnnState s = state;
  if (!batched) {
    const Shape want{num_layers * (bidirectional ? 2 : 1), hidden_size};
    check_state(s.h, want, input, "hx", op);
    check_state(s.c, want, input, "cx", op);
    s = {s.h.defined() ? s.h.unsqueeze(1) : Tensor(), s.c.defined() ? s.c.unsqueeze(1) : Tensor()};
  }
  RnnOutput out = run(x, nullptr, s, x.size(1));
  if (!batched) {
    out.output = out.output.squeeze(1);
    out.last = {out.last.h.squeeze(1), out.last.c.defined() ? out.last.c.squeeze(1) : Tensor()};
  } else if (batch_first) {
    out.output = out.output.transpose(0, 1);
  }
  return out;
}

RnnOutput RNNBase::forward_packed(const Tensor& data, const std::vector<int64_t>& batch_sizes, const RnnState& state) {
  const std::string op = op_name();
  LAMINA_PROFILE_OP(type_name().c_str(), data);
  LAMINA_CHECK(data.defined() && data.dim() == 2 && data.size(1) == input_size, ShapeError, op,
               "expected packed data (rows, ", input_size, "), got ", data.defined() ? describe(data) : "undefined");
  LAMINA_CHECK(!batch_sizes.empty() && batch_sizes[0] > 0, ShapeError, op,
               "batch_sizes must be non-empty and positive");
  int64_t total = 0;
  for (size_t t = 0; t < batch_sizes.size(); ++t) {
    LAMINA_CHECK(batch_sizes[t] > 0 && (t == 0 || batch_sizes[t] <= batch_sizes[t - 1]), ShapeError, op,
                 "batch_sizes must be positive and non-increasing, got ", batch_sizes[t], " at step ", t);
    total += batch_sizes[t];
  }
  LAMINA_CHECK(total == data.size(0), ShapeError, op, "batch_sizes add up to ", total, " rows but the data has ",
               data.size(0));
  return run(data, &batch_sizes, state, batch_sizes[0]);
}

RnnOutput RNNBase::run(const Tensor& x, const std::vector<int64_t>* sizes, const RnnState& state, int64_t batch) {
  const std::string op = op_name();
  const int64_t dirs = bidirectional ? 2 : 1;
  const Shape want{num_layers * dirs, batch, hidden_size};
  check_state(state.h, want, x, "hx", op);
  if (mode == RnnMode::Lstm) check_state(state.c, want, x, "cx", op);
  auto initial = [&](const Tensor& t) { return t.defined() ? t : zeros(want, {x.dtype(), x.device()}); };
  const Tensor h0 = initial(state.h);
  const Tensor c0 = mode == RnnMode::Lstm ? initial(state.c) : Tensor();
  std::vector<Tensor> hn, cn;
  Tensor layer_input = x;
  for (int64_t l = 0; l < num_layers; ++l) {
    if (l > 0 && dropout > 0 && is_training()) layer_input = functional::dropout(layer_input, dropout, true);
    std::vector<Tensor> outs;
    for (int64_t d = 0; d < dirs; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      const Weights w{param("weight_ih" + sfx), param("weight_hh" + sfx), param("bias_ih" + sfx),
                      param("bias_hh" + sfx)};
      const int64_t idx = l * dirs + d;
      const RnnState s0{h0.select(0, idx), c0.defined() ? c0.select(0, idx) : Tensor()};
      auto [o, s] =
          sizes ? run_packed(mode, layer_input, s0, w, *sizes, d == 1) : run_padded(mode, layer_input, s0, w, d == 1);
      outs.push_back(o);
      hn.push_back(s.h);
      if (s.c.defined()) cn.push_back(s.c);
    }
    layer_input = dirs == 1 ? outs[0] : cat(outs, layer_input.dim() - 1);
  }
  return {layer_input, {stack(hn, 0), cn.empty() ? Tensor() : stack(cn, 0)}};
}

RNN::RNN(int64_t in, int64_t hid, int64_t layers, const std::string& nonlinearity, bool b, bool bf, double p, bool bidi,
         Dtype dtype)
    : RNNBase("RNN", rnn_mode(nonlinearity, "RNN"), in, hid, layers, b, bf, p, bidi, dtype) {}

LSTM::LSTM(int64_t in, int64_t hid, int64_t layers, bool b, bool bf, double p, bool bidi, Dtype dtype)
    : RNNBase("LSTM", RnnMode::Lstm, in, hid, layers, b, bf, p, bidi, dtype) {}

GRU::GRU(int64_t in, int64_t hid, int64_t layers, bool b, bool bf, double p, bool bidi, Dtype dtype)
    : RNNBase("GRU", RnnMode::Gru, in, hid, layers, b, bf, p, bidi, dtype) {}

}  // namespace lamina::nn

#pragma once
// Recurrent layers (torch.nn.RNN / LSTM / GRU and their cells) from lamina ops, so they are
// differentiable on every backend. Parameter names, shapes, gate order and initialization are
// PyTorch's, so state dicts move between the two unchanged.
#include <string>
#include <utility>
#include <vector>

#include "lamina/nn/module.h"

namespace lamina::nn {

/// The recurrence a recurrent layer applies.
enum class RnnMode { Tanh, Relu, Lstm, Gru };

/// A recurrent layer's state: h, plus c for an LSTM (undefined otherwise).
struct RnnState {
  Tensor h;  ///< hidden state
  Tensor c;  ///< cell state (LSTM only)
};

/// One step of a recurrence; the base of RNNCell, LSTMCell and GRUCell.
class RNNCellBase : public Module {
 public:
  /// weight_ih (gates * hidden, input), weight_hh (gates * hidden, hidden), bias_ih, bias_hh,
  /// all U(-1/sqrt(hidden), 1/sqrt(hidden)); ConfigError for a non-positive size.
  RNNCellBase(std::string type_name, RnnMode mode, int64_t input_size, int64_t hidden_size, bool bias, Dtype dtype);
  /// One step on input (N, input_size) or unbatched (input_size); an undefined state is zeros.
  /// ShapeError naming the layer for a wrong input or state shape.
  RnnState step(const Tensor& input, const RnnState& state = {});
  /// The new hidden state for input with a zero state.
  Tensor forward(const Tensor& input) override { return step(input).h; }
  /// "10, 20" plus non-default settings.
  std::string extra_repr() const override;
  /// Draws every parameter from U(-1/sqrt(hidden), 1/sqrt(hidden)) again.
  void reset_parameters();
  RnnMode mode;         ///< the recurrence
  int64_t input_size;   ///< features per input row
  int64_t hidden_size;  ///< features of the hidden state
  bool bias;            ///< whether the biases exist
};

/// h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu).
class RNNCell : public RNNCellBase {
 public:
  /// nonlinearity "tanh" or "relu" (ConfigError otherwise).
  RNNCell(int64_t input_size, int64_t hidden_size, bool bias = true, const std::string& nonlinearity = "tanh",
          Dtype dtype = kDefaultFloat);
};

/// LSTM step, gates in PyTorch's order (input, forget, cell, output).
class LSTMCell : public RNNCellBase {
 public:
  /// See RNNCellBase.
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true, Dtype dtype = kDefaultFloat);
};

/// GRU step, gates in PyTorch's order (reset, update, new).
class GRUCell : public RNNCellBase {
 public:
  /// See RNNCellBase.
  GRUCell(int64_t input_size, int64_t hidden_size, bool bias = true, Dtype dtype = kDefaultFloat);
};

/// A recurrent layer's result: the top layer's output at every step and the final states
/// (num_layers * directions, N, hidden).
struct RnnOutput {
  Tensor output;  ///< (T, N, directions * hidden), (N, T, ...) with batch_first, or packed rows
  RnnState last;  ///< h_n (and c_n)
};

/// A multi-layer, optionally bidirectional recurrence over a sequence; the base of RNN, LSTM, GRU.
/// Parameters weight_ih_l{k}[_reverse], weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} as in PyTorch.
class RNNBase : public Module {
 public:
  /// ConfigError for non-positive sizes or dropout outside [0, 1].
  RNNBase(std::string type_name, RnnMode mode, int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias,
          bool batch_first, double dropout, bool bidirectional, Dtype dtype);
  /// Runs input (T, N, input_size) ((N, T, ...) with batch_first) or unbatched (T, input_size);
  /// an undefined state is zeros. Dropout applies between layers in training mode.
  RnnOutput forward(const Tensor& input, const RnnState& state);
  /// Runs a packed batch: data (sum of batch_sizes, input_size) holds step t's rows for the
  /// batch_sizes[t] longest sequences (non-increasing sizes); the output is packed the same way.
  RnnOutput forward_packed(const Tensor& data, const std::vector<int64_t>& batch_sizes, const RnnState& state);
  /// The output for input with a zero state.
  Tensor forward(const Tensor& input) override { return forward(input, RnnState{}).output; }
  /// "10, 20, num_layers=2" plus non-default settings.
  std::string extra_repr() const override;
  /// Draws every parameter from U(-1/sqrt(hidden), 1/sqrt(hidden)) again.
  void reset_parameters();
  RnnMode mode;         ///< the recurrence
  int64_t input_size;   ///< features per input step
  int64_t hidden_size;  ///< features of the hidden state
  int64_t num_layers;   ///< stacked layers
  bool bias;            ///< whether the biases exist
  bool batch_first;     ///< (N, T, features) input and output
  double dropout;       ///< dropout probability on the outputs of all but the last layer
  bool bidirectional;   ///< a second, reversed recurrence per layer

 private:
  RnnOutput run(const Tensor& input, const std::vector<int64_t>* batch_sizes, const RnnState& state, int64_t batch);
};

/// Elman RNN (torch.nn.RNN) with tanh or relu.
class RNN : public RNNBase {
 public:
  /// nonlinearity "tanh" or "relu" (ConfigError otherwise).
  RNN(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, const std::string& nonlinearity = "tanh",
      bool bias = true, bool batch_first = false, double dropout = 0.0, bool bidirectional = false,
      Dtype dtype = kDefaultFloat);
};

/// Long short-term memory (torch.nn.LSTM); its state is (h, c).
class LSTM : public RNNBase {
 public:
  /// See RNNBase.
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bias = true, bool batch_first = false,
       double dropout = 0.0, bool bidirectional = false, Dtype dtype = kDefaultFloat);
};

/// Gated recurrent unit (torch.nn.GRU).
class GRU : public RNNBase {
 public:
  /// See RNNBase.
  GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bias = true, bool batch_first = false,
      double dropout = 0.0, bool bidirectional = false, Dtype dtype = kDefaultFloat);
};

}  // namespace lamina::nn

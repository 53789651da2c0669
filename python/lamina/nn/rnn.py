"""Recurrent layers with torch.nn's signatures: RNN, LSTM, GRU and their cells. The recurrence,
parameters and validation are the C++ layers' (lamina._lamina._nn); this file maps PyTorch's
calling conventions (hx tuples, PackedSequence input) onto them."""
from .. import _lamina
from .modules import _Wrapped, _check_device
from .utils.rnn import PackedSequence

_nn = _lamina._nn

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNBase(_Wrapped):
    """Shared forward of RNN, LSTM and GRU."""

    _has_cell_state = False

    def _split_state(self, hx):
        if hx is None:
            return None, None
        if self._has_cell_state:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise _lamina.ValueError(f"[{type(self).__name__}] hx must be a tuple (h_0, c_0)")
            return hx[0], hx[1]
        if isinstance(hx, (tuple, list)):
            raise _lamina.ValueError(f"[{type(self).__name__}] hx must be a tensor h_0, not a tuple")
        return hx, None

    def _join_state(self, h, c):
        return (h, c) if self._has_cell_state else h

    def forward(self, input, hx=None):
        h, c = self._split_state(hx)
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            if sorted_indices is not None:
                h = h.index_select(1, sorted_indices) if h is not None else None
                c = c.index_select(1, sorted_indices) if c is not None else None
            out, h_n, c_n = self._c.run_packed(data, [int(b) for b in batch_sizes.tolist()], h, c)
            if unsorted_indices is not None:
                h_n = h_n.index_select(1, unsorted_indices)
                c_n = c_n.index_select(1, unsorted_indices) if c_n is not None else None
            return PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices), self._join_state(h_n, c_n)
        out, h_n, c_n = self._c.run(input, h, c)
        return out, self._join_state(h_n, c_n)

    def flatten_parameters(self):
        """Does nothing: PyTorch compacts cuDNN's weight buffer here; lamina keeps no such buffer."""

    def reset_parameters(self):
        """PyTorch's default initialization again."""
        self._c.reset_parameters()


def _no_proj(name, proj_size):
    if proj_size:
        raise _lamina.ConfigError(f"[{name}] proj_size={proj_size} (projected LSTM) is not supported; use proj_size=0")


class RNN(RNNBase):
    """Elman RNN, tanh or relu (torch.nn.RNN)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.RNN(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, float(dropout),
                                 bidirectional, dtype))


class LSTM(RNNBase):
    """Long short-term memory (torch.nn.LSTM); hx and the returned state are (h, c)."""

    _has_cell_state = True

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        _check_device(device)
        _no_proj("LSTM", proj_size)
        super().__init__(_nn.LSTM(input_size, hidden_size, num_layers, bias, batch_first, float(dropout),
                                  bidirectional, dtype))
        self.__dict__["proj_size"] = 0


class GRU(RNNBase):
    """Gated recurrent unit (torch.nn.GRU)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.GRU(input_size, hidden_size, num_layers, bias, batch_first, float(dropout),
                                 bidirectional, dtype))


class RNNCellBase(_Wrapped):
    """Shared forward of the cells: one step of the recurrence."""

    _has_cell_state = False

    def forward(self, input, hx=None):
        if self._has_cell_state:
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise _lamina.ValueError(f"[{type(self).__name__}] hx must be a tuple (h, c)")
            h, c = hx if hx is not None else (None, None)
            return self._c.step(input, h, c)
        if isinstance(hx, (tuple, list)):
            raise _lamina.ValueError(f"[{type(self).__name__}] hx must be a tensor, not a tuple")
        return self._c.step(input, hx, None)[0]

    def reset_parameters(self):
        """PyTorch's default initialization again."""
        self._c.reset_parameters()


class RNNCell(RNNCellBase):
    """One Elman RNN step (torch.nn.RNNCell)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.RNNCell(input_size, hidden_size, bias, nonlinearity, dtype))


class LSTMCell(RNNCellBase):
    """One LSTM step (torch.nn.LSTMCell); returns (h', c')."""

    _has_cell_state = True

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.LSTMCell(input_size, hidden_size, bias, dtype))


class GRUCell(RNNCellBase):
    """One GRU step (torch.nn.GRUCell)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.GRUCell(input_size, hidden_size, bias, dtype))

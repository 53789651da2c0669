"""Built-in layers, containers and losses of lamina.nn with torch.nn's signatures. Layers and
losses hold their C++ implementation (lamina._lamina._nn) in ``_c``: parameters, validation,
initialization and forward are the C++ ones. Its submodules (activation, linear, rnn, ...) are
torch.nn.modules' file names, so `torch.nn.modules.linear.Linear` paths in programs and in
allowlists resolve; lamina.nn loads them once every layer exists."""
import functools
import operator
import sys
from collections import OrderedDict
from itertools import islice

from ... import _lamina
from .. import functional as F
from ..module import Module

_nn = _lamina._nn

__all__ = ["MultiheadAttention", "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "Linear", "Embedding", "LayerNorm", "RMSNorm", "GroupNorm", "Dropout", "ReLU", "GELU", "SiLU",
           "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Flatten", "Identity", "Sequential", "ModuleList",
           "ModuleDict", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "BCELoss",
           "BCEWithLogitsLoss", "KLDivLoss"]


def _check_device(device):
    if device is not None and str(device) != "cpu":
        raise _lamina.DeviceNotAvailableError(f"nn layers are created on the CPU; got device={device!r} "
                                              "(create on the CPU, then call .to(device))")


def _shape(s):
    return [int(s)] if isinstance(s, int) else [int(d) for d in s]


class _Wrapped(Module):
    """A Module whose own parameters and forward live in a C++ layer. Each built-in layer's
    constructor records its arguments, so a pickled layer (lamina.save(model)) is rebuilt by
    calling it again and then given the saved tensors (Module.__setstate__)."""

    def __init__(self, c):
        super().__init__()
        self.__dict__["_c"] = c
        c.train(True)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or not cls.__module__.startswith("lamina."):
            return

        @functools.wraps(init)
        def recording_init(self, *args, **kw):
            # The outermost built-in constructor records (a subclass's super().__init__ call).
            self.__dict__.setdefault("_init_args", (args, kw))
            init(self, *args, **kw)
        recording_init._lamina_records_init = True
        cls.__init__ = recording_init


class Linear(_Wrapped):
    """y = x W^T + b (torch.nn.Linear)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.Linear(in_features, out_features, bias, dtype))

    def reset_parameters(self):
        """PyTorch's default initialization again."""
        self._c.reset_parameters()


class Embedding(_Wrapped):
    """A lookup table (torch.nn.Embedding); the padding_idx row is zero and gets no gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None, _weight=None):
        _check_device(device)
        super().__init__(_nn.Embedding(num_embeddings, embedding_dim, padding_idx, dtype))
        if _weight is not None:
            self.load_state_dict({"weight": _weight})

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding holding a copy of `embeddings` (rows, dim)."""
        rows, dim = embeddings.shape
        emb = cls(rows, dim, padding_idx=padding_idx, dtype=embeddings.dtype, _weight=embeddings)
        emb.weight.requires_grad_(not freeze)
        return emb


class LayerNorm(_Wrapped):
    """Layer normalization over the trailing normalized_shape dims (torch.nn.LayerNorm)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.LayerNorm(_shape(normalized_shape), eps, elementwise_affine, bias, dtype))


class RMSNorm(_Wrapped):
    """Root-mean-square normalization (torch.nn.RMSNorm, PyTorch 2.4+): eps=None uses
    finfo(input.dtype).eps."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.RMSNorm(_shape(normalized_shape), eps, elementwise_affine, dtype))


def _pair(v):
    """An int or a pair as a [h, w] list (PyTorch's _pair)."""
    if isinstance(v, int):
        return [v, v]
    v = list(v)
    return v * 2 if len(v) == 1 else v


class Conv2d(_Wrapped):
    """2-d convolution layer (torch.nn.Conv2d); padding_mode 'zeros' only."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        _check_device(device)
        if padding_mode != "zeros":
            raise _lamina.ConfigError(f"[Conv2d] padding_mode {padding_mode!r} is not supported; pad the input with "
                                     "lamina.pad(..., mode=...) and use padding=0")
        super().__init__(_nn.Conv2d(in_channels, out_channels, _pair(kernel_size), _pair(stride), _pair(padding),
                                    _pair(dilation), groups, bias, dtype))

    def reset_parameters(self):
        """PyTorch's default initialization again."""
        self._c.reset_parameters()


class Conv1d(_Wrapped):
    """1-d convolution layer (torch.nn.Conv1d)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 device=None, dtype=None):
        _check_device(device)
        one = lambda v: v if isinstance(v, int) else list(v)[0]  # noqa: E731
        super().__init__(_nn.Conv1d(in_channels, out_channels, one(kernel_size), one(stride), one(padding),
                                    one(dilation), groups, bias, dtype))


class ConvTranspose2d(_Wrapped):
    """Transposed 2-d convolution layer (torch.nn.ConvTranspose2d)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.ConvTranspose2d(in_channels, out_channels, _pair(kernel_size), _pair(stride),
                                             _pair(padding), _pair(output_padding), groups, bias, _pair(dilation),
                                             dtype))


class MaxPool2d(_Wrapped):
    """Max pooling (torch.nn.MaxPool2d; stride defaults to kernel_size)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        if return_indices or ceil_mode:
            raise _lamina.ConfigError("[MaxPool2d] return_indices and ceil_mode are not supported")
        super().__init__(_nn.MaxPool2d(_pair(kernel_size), _pair(kernel_size if stride is None else stride),
                                       _pair(padding), _pair(dilation)))


class AvgPool2d(_Wrapped):
    """Average pooling (torch.nn.AvgPool2d; stride defaults to kernel_size)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        if ceil_mode or divisor_override is not None:
            raise _lamina.ConfigError("[AvgPool2d] ceil_mode and divisor_override are not supported")
        super().__init__(_nn.AvgPool2d(_pair(kernel_size), _pair(kernel_size if stride is None else stride),
                                       _pair(padding), count_include_pad))


class AdaptiveAvgPool2d(_Wrapped):
    """Average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d)."""

    def __init__(self, output_size):
        super().__init__(_nn.AdaptiveAvgPool2d(_pair(output_size)))


class BatchNorm1d(_Wrapped):
    """Batch normalization of (N, C) or (N, C, L) input (torch.nn.BatchNorm1d)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None):
        _check_device(device)
        super().__init__(_nn.BatchNorm1d(num_features, eps, momentum, affine, track_running_stats, dtype))


class BatchNorm2d(_Wrapped):
    """Batch normalization of (N, C, H, W) input (torch.nn.BatchNorm2d)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None):
        _check_device(device)
        super().__init__(_nn.BatchNorm2d(num_features, eps, momentum, affine, track_running_stats, dtype))


class MultiheadAttention(_Wrapped):
    """Multi-head attention (torch.nn.MultiheadAttention); forward returns (output, weights)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        _check_device(device)
        if add_bias_kv or add_zero_attn or (kdim not in (None, embed_dim)) or (vdim not in (None, embed_dim)):
            raise _lamina.ConfigError("[MultiheadAttention] add_bias_kv, add_zero_attn and kdim/vdim != embed_dim "
                                      "are not supported")
        super().__init__(_nn.MultiheadAttention(embed_dim, num_heads, dropout, bias, batch_first, dtype))
        # The C++ layer's output projection, shown as a child as in PyTorch (out_proj.weight, ...).
        out_proj = Linear.__new__(Linear)
        _Wrapped.__init__(out_proj, self._c.out_proj)
        self.out_proj = out_proj

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        return self._c.forward(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights)


class GroupNorm(_Wrapped):
    """Group normalization of (N, C, *) input (torch.nn.GroupNorm)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.GroupNorm(num_groups, num_channels, eps, affine, dtype))


class Dropout(_Wrapped):
    """Zeroes elements with probability p in training mode (torch.nn.Dropout); lamina's
    generator draws the mask, so lamina.manual_seed reproduces it."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__(_nn.Dropout(float(p)))
        self.__dict__["inplace"] = inplace

    def forward(self, input):
        out = F.dropout(input, self.p, self.training)
        return input.copy_(out) if self.inplace and self.training else out


class ReLU(_Wrapped):
    """max(x, 0) (torch.nn.ReLU)."""

    def __init__(self, inplace=False):
        super().__init__(_nn.ReLU())


class GELU(_Wrapped):
    """GELU, approximate "none" or "tanh" (torch.nn.GELU)."""

    def __init__(self, approximate="none"):
        super().__init__(_nn.GELU(approximate))


class SiLU(_Wrapped):
    """x * sigmoid(x) (torch.nn.SiLU)."""

    def __init__(self, inplace=False):
        super().__init__(_nn.SiLU())


class Tanh(_Wrapped):
    """tanh (torch.nn.Tanh)."""

    def __init__(self):
        super().__init__(_nn.Tanh())


class Sigmoid(_Wrapped):
    """sigmoid (torch.nn.Sigmoid)."""

    def __init__(self):
        super().__init__(_nn.Sigmoid())


class Softmax(_Wrapped):
    """softmax along dim (torch.nn.Softmax)."""

    def __init__(self, dim=None):
        if dim is None:
            raise _lamina.ConfigError("Softmax: dim must be given (implicit dim choice is deprecated in PyTorch)")
        super().__init__(_nn.Softmax(dim))


class LogSoftmax(_Wrapped):
    """log_softmax along dim (torch.nn.LogSoftmax)."""

    def __init__(self, dim=None):
        if dim is None:
            raise _lamina.ConfigError("LogSoftmax: dim must be given (implicit dim choice is deprecated in PyTorch)")
        super().__init__(_nn.LogSoftmax(dim))


class Flatten(_Wrapped):
    """Flattens dims start_dim..end_dim (torch.nn.Flatten)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__(_nn.Flatten(start_dim, end_dim))


class Identity(_Wrapped):
    """Returns its input; accepts and ignores any arguments (torch.nn.Identity)."""

    def __init__(self, *args, **kwargs):
        super().__init__(_nn.Identity())


# ---- containers -------------------------------------------------------------------------

class Sequential(Module):
    """Runs its modules in order (torch.nn.Sequential); Sequential(*mods) or Sequential(OrderedDict)."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for k, m in args[0].items():
                self.add_module(k, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def _index(self, idx):
        n = len(self)
        idx = operator.index(idx)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return next(islice(self._modules.values(), self._index(idx), None))

    def __setitem__(self, idx, module):
        key = list(self._modules)[self._index(idx)]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for k in (keys[idx] if isinstance(idx, slice) else [keys[self._index(idx)]]):
            del self._modules[k]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Adds a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def forward(self, input):
        mods = list(self._modules.values())
        # While lamina.onnx.export traces, every module runs as itself (the exporter converts
        # modules, not the fused ops).
        export = sys.modules.get("lamina.onnx._export")
        fuse = export is None or export._TRACER is None
        i = 0
        while i < len(mods):
            m = mods[i]
            # A Conv2d followed by a ReLU runs as one op (on the CPU the ReLU runs inside the
            # convolution's oneDNN primitive): only the exact built-in types with their own
            # forward, so a subclass or a replaced forward always runs as written.
            if (fuse and i + 1 < len(mods) and type(m) is Conv2d and type(mods[i + 1]) is ReLU
                    and "forward" not in m.__dict__ and "forward" not in mods[i + 1].__dict__):
                input = m._c.forward_relu(input)
                i += 2
                continue
            # Likewise a Linear followed by a GELU: the GELU runs on the GEMM's bands.
            if (fuse and i + 1 < len(mods) and type(m) is Linear and type(mods[i + 1]) is GELU
                    and "forward" not in m.__dict__ and "forward" not in mods[i + 1].__dict__):
                input = m._c.forward_gelu(input, mods[i + 1]._c.approximate)
                i += 2
                continue
            input = m(input)
            i += 1
        return input


class ModuleList(Module):
    """Holds submodules in a list (torch.nn.ModuleList); names "0", "1", ..."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, idx):
        n = len(self)
        idx = operator.index(idx)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(self._index(idx))]

    def __setitem__(self, idx, module):
        self.add_module(str(self._index(idx)), module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        del mods[idx]
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        """Adds a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Appends each module; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Inserts a module before index."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)


class ModuleDict(Module):
    """Holds submodules by name in insertion order (torch.nn.ModuleDict)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        """The names."""
        return self._modules.keys()

    def values(self):
        """The modules."""
        return self._modules.values()

    def items(self):
        """(name, module) pairs."""
        return self._modules.items()

    def pop(self, key):
        """Removes and returns module key."""
        return self._modules.pop(key)

    def clear(self):
        """Removes every module."""
        self._modules.clear()

    def update(self, modules):
        """Adds modules from a mapping or (name, module) pairs."""
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self[k] = m


# ---- losses -----------------------------------------------------------------------------

class _Loss(_Wrapped):
    def forward(self, input, target):
        return self._c.forward(input, target)


class CrossEntropyLoss(_Loss):
    """log_softmax + nll_loss, or soft targets (torch.nn.CrossEntropyLoss)."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        reduction = F._legacy_reduction(size_average, reduce, reduction)
        super().__init__(_nn.CrossEntropyLoss(weight, ignore_index, reduction, float(label_smoothing)))


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (torch.nn.NLLLoss)."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        reduction = F._legacy_reduction(size_average, reduce, reduction)
        super().__init__(_nn.NLLLoss(weight, ignore_index, reduction))


class MSELoss(_Loss):
    """Mean squared error (torch.nn.MSELoss)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(_nn.MSELoss(F._legacy_reduction(size_average, reduce, reduction)))


class L1Loss(_Loss):
    """Mean absolute error (torch.nn.L1Loss)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(_nn.L1Loss(F._legacy_reduction(size_average, reduce, reduction)))


class SmoothL1Loss(_Loss):
    """Quadratic below beta, linear above (torch.nn.SmoothL1Loss)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(_nn.SmoothL1Loss(F._legacy_reduction(size_average, reduce, reduction), float(beta)))


class BCELoss(_Loss):
    """Binary cross entropy of probabilities (torch.nn.BCELoss)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(_nn.BCELoss(weight, F._legacy_reduction(size_average, reduce, reduction)))


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy, numerically stable (torch.nn.BCEWithLogitsLoss)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(_nn.BCEWithLogitsLoss(weight, F._legacy_reduction(size_average, reduce, reduction),
                                               pos_weight))


class KLDivLoss(_Loss):
    """KL divergence of log-probability input (torch.nn.KLDivLoss); reduction may be "batchmean"."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(_nn.KLDivLoss(F._legacy_reduction(size_average, reduce, reduction), bool(log_target)))

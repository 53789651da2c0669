"""Activations with settings, instance norm, channel dropout and padding layers with torch.nn's
signatures; each holds its C++ layer (lamina._lamina._nn) in ``_c``."""
from .. import _lamina
from . import functional as F
from .modules import _Wrapped, _check_device

_nn = _lamina._nn

__all__ = ["LeakyReLU", "ELU", "CELU", "SELU", "PReLU", "Hardtanh", "ReLU6", "Hardswish", "Hardsigmoid", "Mish",
           "Softplus", "LogSigmoid", "Softsign", "InstanceNorm1d", "InstanceNorm2d", "Dropout1d", "Dropout2d",
           "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "ZeroPad1d", "ZeroPad2d",
           "ConstantPad1d", "ConstantPad2d"]


class _InplaceActivation(_Wrapped):
    """An activation whose inplace=True writes the result into its input."""

    def __init__(self, c, inplace):
        super().__init__(c)
        self.__dict__["inplace"] = bool(inplace)

    def forward(self, input):
        out = self._c.forward(input)
        return input.copy_(out) if self.inplace else out

    def extra_repr(self):
        base = self._c.extra_repr()
        if not self.inplace:
            return base
        return base + ", inplace=True" if base else "inplace=True"


class LeakyReLU(_InplaceActivation):
    """x where x > 0, else negative_slope * x (torch.nn.LeakyReLU)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(_nn.LeakyReLU(float(negative_slope)), inplace)


class ELU(_InplaceActivation):
    """x where x > 0, else alpha * (exp(x) - 1) (torch.nn.ELU)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(_nn.ELU(float(alpha)), inplace)


class CELU(_InplaceActivation):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (torch.nn.CELU)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(_nn.CELU(float(alpha)), inplace)


class SELU(_InplaceActivation):
    """Self-normalizing scaled ELU (torch.nn.SELU)."""

    def __init__(self, inplace=False):
        super().__init__(_nn.SELU(), inplace)


class PReLU(_Wrapped):
    """Leaky ReLU with a learned slope, one or one per channel (torch.nn.PReLU)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        _check_device(device)
        super().__init__(_nn.PReLU(int(num_parameters), float(init), dtype))


class Hardtanh(_InplaceActivation):
    """x clamped to [min_val, max_val] (torch.nn.Hardtanh)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__(_nn.Hardtanh(float(min_val), float(max_val)), inplace)


class ReLU6(_InplaceActivation):
    """min(max(x, 0), 6) (torch.nn.ReLU6)."""

    def __init__(self, inplace=False):
        super().__init__(_nn.ReLU6(), inplace)


class Hardswish(_InplaceActivation):
    """x * relu6(x + 3) / 6 (torch.nn.Hardswish)."""

    def __init__(self, inplace=False):
        super().__init__(_nn.Hardswish(), inplace)


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6 (torch.nn.Hardsigmoid)."""

    def __init__(self, inplace=False):
        super().__init__(_nn.Hardsigmoid(), inplace)


class Mish(_InplaceActivation):
    """x * tanh(softplus(x)) (torch.nn.Mish)."""

    def __init__(self, inplace=False):
        super().__init__(_nn.Mish(), inplace)


class Softplus(_Wrapped):
    """log(1 + exp(beta x)) / beta (torch.nn.Softplus)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__(_nn.Softplus(float(beta), float(threshold)))


class LogSigmoid(_Wrapped):
    """log(sigmoid(x)) (torch.nn.LogSigmoid)."""

    def __init__(self):
        super().__init__(_nn.LogSigmoid())


class Softsign(_Wrapped):
    """x / (1 + |x|) (torch.nn.Softsign)."""

    def __init__(self):
        super().__init__(_nn.Softsign())


class _InstanceNorm(_Wrapped):
    _dims = 0

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None):
        _check_device(device)
        name = type(self).__name__ if type(self).__name__ in ("InstanceNorm1d", "InstanceNorm2d") else \
            f"InstanceNorm{self._dims}d"
        super().__init__(_nn.InstanceNorm(name, self._dims, num_features, float(eps), float(momentum), affine,
                                          track_running_stats, dtype))


class InstanceNorm1d(_InstanceNorm):
    """Normalizes each sample's channels of (N, C, L) / (C, L) over L (torch.nn.InstanceNorm1d)."""

    _dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Normalizes each sample's channels of (N, C, H, W) / (C, H, W) over H, W (torch.nn.InstanceNorm2d)."""

    _dims = 2


class _ChannelDropout(_Wrapped):
    _dims = 0

    def __init__(self, p=0.5, inplace=False):
        super().__init__(_nn.ChannelDropout(self._dims, float(p)))
        self.__dict__["inplace"] = bool(inplace)

    def forward(self, input):
        out = self._c.forward(input)
        return input.copy_(out) if self.inplace and self.training else out


class Dropout1d(_ChannelDropout):
    """Zeroes whole channels of (N, C, L) input while training (torch.nn.Dropout1d)."""

    _dims = 1


class Dropout2d(_ChannelDropout):
    """Zeroes whole channels of (N, C, H, W) input while training (torch.nn.Dropout2d)."""

    _dims = 2


def _amounts(padding, dims, name):
    if isinstance(padding, int):
        if padding < 0:
            raise _lamina.ConfigError(f"[{name}] padding must be non-negative, got {padding}")
        return [padding] * (2 * dims)
    padding = [int(p) for p in padding]
    if len(padding) != 2 * dims:
        raise _lamina.ConfigError(f"[{name}] padding needs an int or {2 * dims} values, got {len(padding)}")
    return padding


class _Pad(_Wrapped):
    _dims, _mode = 0, "constant"

    def __init__(self, padding, value=0.0):
        name = type(self).__name__
        super().__init__(_nn.Pad(name, self._dims, _amounts(padding, self._dims, name), self._mode, float(value)))

    @property
    def padding(self):
        """The amounts per side, last dim first."""
        return tuple(self._c.padding)


def _pad_class(name, dims, mode, doc):
    def __init__(self, padding):
        _Pad.__init__(self, padding)

    return type(name, (_Pad,), {"_dims": dims, "_mode": mode, "__init__": __init__, "__doc__": doc,
                                "__module__": __name__})


ReflectionPad1d = _pad_class("ReflectionPad1d", 1, "reflect", "Pads (N, C, L) by reflection (torch.nn.ReflectionPad1d).")
ReflectionPad2d = _pad_class("ReflectionPad2d", 2, "reflect",
                             "Pads (N, C, H, W) by reflection (torch.nn.ReflectionPad2d).")
ReplicationPad1d = _pad_class("ReplicationPad1d", 1, "replicate",
                              "Pads (N, C, L) with the edge values (torch.nn.ReplicationPad1d).")
ReplicationPad2d = _pad_class("ReplicationPad2d", 2, "replicate",
                              "Pads (N, C, H, W) with the edge values (torch.nn.ReplicationPad2d).")
ZeroPad1d = _pad_class("ZeroPad1d", 1, "constant", "Pads (N, C, L) with zeros (torch.nn.ZeroPad1d).")
ZeroPad2d = _pad_class("ZeroPad2d", 2, "constant", "Pads (N, C, H, W) with zeros (torch.nn.ZeroPad2d).")


class ConstantPad1d(_Pad):
    """Pads (N, C, L) with a constant (torch.nn.ConstantPad1d)."""

    _dims = 1

    def __init__(self, padding, value):
        super().__init__(padding, value)


class ConstantPad2d(_Pad):
    """Pads (N, C, H, W) with a constant (torch.nn.ConstantPad2d)."""

    _dims = 2

    def __init__(self, padding, value):
        super().__init__(padding, value)

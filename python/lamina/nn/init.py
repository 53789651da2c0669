"""lamina.nn.init: torch.nn.init's in-place fills (no gradient recorded; lamina's generator)."""
from .. import _lamina

_I = _lamina._nn.init

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "kaiming_uniform_",
           "kaiming_normal_", "xavier_uniform_", "xavier_normal_", "trunc_normal_", "orthogonal_"]


def calculate_gain(nonlinearity, param=None):
    """Recommended gain for a nonlinearity."""
    return _I.calculate_gain(nonlinearity, param)


def _calculate_fan_in_and_fan_out(tensor):
    return _I.calculate_fan_in_and_fan_out(tensor)


def uniform_(tensor, a=0.0, b=1.0):
    """Fills with U(a, b)."""
    return _I.uniform_(tensor, float(a), float(b))


def normal_(tensor, mean=0.0, std=1.0):
    """Fills with N(mean, std^2)."""
    return _I.normal_(tensor, float(mean), float(std))


def constant_(tensor, val):
    """Fills with val."""
    return _I.constant_(tensor, float(val))


def zeros_(tensor):
    """Fills with zeros."""
    return _I.zeros_(tensor)


def ones_(tensor):
    """Fills with ones."""
    return _I.ones_(tensor)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform initialization."""
    return _I.kaiming_uniform_(tensor, float(a), mode, nonlinearity)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal initialization."""
    return _I.kaiming_normal_(tensor, float(a), mode, nonlinearity)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform initialization."""
    return _I.xavier_uniform_(tensor, float(gain))


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal initialization."""
    return _I.xavier_normal_(tensor, float(gain))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fills with N(mean, std^2) truncated to [a, b] (absolute bounds, as torch.nn.init's)."""
    if generator is not None:
        raise _lamina.ConfigError("[trunc_normal_] generator= is not supported: lamina draws from its global "
                                  "generator (seed it with lamina.manual_seed)")
    return _I.trunc_normal_(tensor, float(mean), float(std), float(a), float(b))


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fills with a (semi-)orthogonal matrix times gain; dims after the first are flattened."""
    if generator is not None:
        raise _lamina.ConfigError("[orthogonal_] generator= is not supported: lamina draws from its global "
                                  "generator (seed it with lamina.manual_seed)")
    return _I.orthogonal_(tensor, float(gain))

"""Uniform: the uniform distribution on [low, high) (torch.distributions.Uniform)."""
from numbers import Number

import lamina

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Uniform"]


class Uniform(Distribution):
    """Uniform distribution on the half-open interval [low, high)."""
    arg_constraints = {}  # low < high is checked in __init__, as torch does
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        batch_shape = () if isinstance(low, Number) and isinstance(high, Number) else self.low.shape
        super().__init__(batch_shape, validate_args=validate_args)
        if self._validate_args and not bool(lamina.lt(self.low, self.high).all()):
            raise lamina.ValueError("Uniform is not defined when low>= high")

    def expand(self, batch_shape, _instance=None):
        """This distribution with low and high expanded (no copy) to `batch_shape`."""
        new = self._get_checked_instance(Uniform, _instance)
        batch_shape = tuple(batch_shape)
        new.low = self.low.expand(*batch_shape)
        new.high = self.high.expand(*batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def support(self):
        """[low, high] (closed, as torch checks it)."""
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        """(low + high) / 2."""
        return (self.high + self.low) / 2

    @property
    def mode(self):
        """NaN: every point of the interval is a mode."""
        return float("nan") * self.high

    @property
    def stddev(self):
        """(high - low) / sqrt(12)."""
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        """(high - low)^2 / 12."""
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        """low + u * (high - low) with u ~ U[0, 1): differentiable in low and high."""
        shape = self._extended_shape(sample_shape)
        u = lamina.rand(size=shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        """-log(high - low) inside [low, high), -inf outside."""
        if self._validate_args:
            self._validate_sample(value)
        inside = (self.low.le(value) & self.high.gt(value)).to(self.low.dtype)
        return lamina.log(inside) - lamina.log(self.high - self.low)

    def cdf(self, value):
        """(value - low) / (high - low), clamped into [0, 1]."""
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        """low + value * (high - low)."""
        return value * (self.high - self.low) + self.low

    def entropy(self):
        """log(high - low)."""
        return lamina.log(self.high - self.low)

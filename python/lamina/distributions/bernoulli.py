"""Bernoulli: a distribution over {0, 1} (torch.distributions.Bernoulli)."""
from numbers import Number

import lamina

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli"]


def _bce_with_logits(logits, target):
    """Elementwise binary cross-entropy of sigmoid(logits) against target, computed stably."""
    return lamina.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")


class Bernoulli(Distribution):
    """Bernoulli distribution: 1 with probability `probs` (or sigmoid(`logits`)), else 0."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise lamina.ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            self.probs, = broadcast_all(probs)
        else:
            is_scalar = isinstance(logits, Number)
            self.logits, = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = () if is_scalar else self._param.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """This distribution with its parameter expanded (no copy) to `batch_shape`."""
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = tuple(batch_shape)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(*batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(*batch_shape)
            new._param = new.logits
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def logits(self):
        """Log-odds log(p / (1 - p)) of the clamped probabilities."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """The probability of 1: sigmoid(logits) when built from logits."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        """The shape of the given parameter."""
        return tuple(self._param.shape)

    @property
    def mean(self):
        """probs."""
        return self.probs

    @property
    def mode(self):
        """1 where probs > 0.5, 0 where below, NaN where exactly 0.5."""
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return lamina.where(self.probs == 0.5, float("nan"), mode)

    @property
    def variance(self):
        """probs * (1 - probs)."""
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """0/1 samples (in the parameter's dtype) of shape sample_shape + batch_shape."""
        shape = self._extended_shape(sample_shape)
        with lamina.no_grad():
            probs = self.probs
            u = lamina.rand(size=shape, dtype=probs.dtype, device=probs.device)
            return (u < probs).to(probs.dtype)

    def log_prob(self, value):
        """log p where value is 1, log(1 - p) where it is 0."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        if not value.is_floating_point():
            value = value.to(logits.dtype)
        return -_bce_with_logits(logits, value)

    def entropy(self):
        """-(p log p + (1 - p) log(1 - p))."""
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand=True):
        """The values 0 and 1 along dim 0, expanded over batch_shape unless expand=False."""
        values = lamina.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape(-1, *((1,) * len(self._batch_shape)))
        if expand:
            values = values.expand(-1, *self._batch_shape)
        return values

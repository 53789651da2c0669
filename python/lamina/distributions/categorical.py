"""Categorical: a distribution over the class indices 0 .. K-1 (torch.distributions.Categorical)."""
from numbers import Number

import lamina

from . import constraints
from .distribution import Distribution
from .utils import as_tensor, broadcast_shapes, finfo, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


def _as_parameter(value, name):
    """A probs / logits argument as a tensor of at least one dim (ValueError otherwise)."""
    if isinstance(value, Number):
        value = as_tensor(value, name=name)
    if not isinstance(value, lamina.Tensor):
        raise lamina.ValueError(f"Categorical: `{name}` must be a lamina.Tensor, got {type(value).__name__}")
    if value.dim() < 1:
        raise lamina.ValueError(f"`{name}` parameter must be at least one-dimensional.")
    return value


class Categorical(Distribution):
    """Categorical distribution over the last dim of `probs` (normalized) or `logits` (unnormalized)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise lamina.ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = _as_parameter(probs, "probs")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            logits = _as_parameter(logits, "logits")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = tuple(self._param.shape[:-1])
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """This distribution with its parameter expanded (no copy) to batch_shape + (K,)."""
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = tuple(batch_shape)
        param_shape = batch_shape + (self._num_events,)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(*param_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(*param_shape)
            new._param = new.logits
        new._num_events = self._num_events
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def support(self):
        """The integers 0 .. K-1."""
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        """Normalized log-probabilities (log of the clamped probs when built from probs)."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        """Normalized probabilities (softmax of the logits when built from logits)."""
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        """The shape of the given parameter: batch_shape + (K,)."""
        return tuple(self._param.shape)

    @property
    def mean(self):
        """NaN: class indices have no meaningful mean."""
        return lamina.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mode(self):
        """The most probable class."""
        return self.probs.argmax(-1)

    @property
    def variance(self):
        """NaN: class indices have no meaningful variance."""
        return lamina.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype, device=self.probs.device)

    def sample(self, sample_shape=()):
        """int64 class indices of shape sample_shape + batch_shape, by inverse-CDF sampling."""
        shape = self._extended_shape(sample_shape)
        num_samples = 1
        for size in shape[:len(shape) - len(self._batch_shape)]:
            num_samples *= size
        with lamina.no_grad():
            probs_2d = self.probs.reshape(-1, self._num_events)
            cdf = lamina.cumsum(probs_2d, -1)
            total = cdf[:, -1:]
            u = lamina.rand(size=(num_samples, probs_2d.shape[0], 1), dtype=probs_2d.dtype,
                            device=probs_2d.device) * total
            # Class i is drawn when cdf[i-1] <= u < cdf[i]: classes of probability 0 never are.
            index = (cdf <= u).sum(-1)
            # Rounding can put u at the total; never step past the last class with probability > 0.
            reversed_positive = lamina.flip(probs_2d > 0, [-1])
            last_positive = (self._num_events - 1) - reversed_positive.argmax(-1)
            index = lamina.minimum(index, last_positive)
            return index.reshape(*shape)

    def log_prob(self, value):
        """The log-probability of the class indices in `value` (broadcast against batch_shape)."""
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = broadcast_shapes(value.shape, self.logits.shape)
        log_pmf = self.logits.expand(*shape)
        index = value.expand(*shape)[..., :1]
        return log_pmf.gather(-1, index).squeeze(-1)

    def entropy(self):
        """-sum(p log p) over the classes (classes of probability 0 add 0)."""
        logits = lamina.clamp(self.logits, min=finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        """The class indices 0 .. K-1 along dim 0, expanded over batch_shape unless expand=False."""
        values = lamina.arange(self._num_events, dtype=lamina.int64, device=self._param.device)
        values = values.reshape(-1, *((1,) * len(self._batch_shape)))
        if expand:
            values = values.expand(-1, *self._batch_shape)
        return values

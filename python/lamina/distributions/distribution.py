"""Distribution: the base class of lamina.distributions (torch.distributions.Distribution)."""
import warnings

import lamina

__all__ = ["Distribution"]


def _as_shape(shape, name="sample_shape"):
    """A shape argument (tuple, list or lamina shape) as a tuple of ints."""
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of ints (like torch.Size), got {type(shape).__name__}: "
                        f"{shape!r}; write ({shape!r},) for one dim") from None


class Distribution:
    """Abstract base class of probability distributions, batched over `batch_shape`."""
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value):
        """Turns argument validation on or off for every distribution created afterwards."""
        if value not in (True, False):
            raise lamina.ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = _as_shape(batch_shape, "batch_shape")
        self._event_shape = _as_shape(event_shape, "event_shape")
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._validate_parameters()

    def _validate_parameters(self):
        """Raises lamina.ValueError when a given parameter breaks its constraint."""
        for param, constraint in self.arg_constraints.items():
            if param not in self.__dict__:
                continue  # a parameter computed lazily from the one given
            value = getattr(self, param)
            if not bool(constraint.check(value).all()):
                raise lamina.ValueError(
                    f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                    f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                    f"but found invalid values:\n{value}")

    @property
    def batch_shape(self):
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self):
        """The shape of a single sample (without batching)."""
        return self._event_shape

    @property
    def arg_constraints(self):
        """Maps each parameter's name to the constraint it must satisfy."""
        return {}

    @property
    def support(self):
        """The constraint the values of this distribution satisfy."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not define support")

    @property
    def mean(self):
        """The mean of the distribution."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self):
        """The mode of the distribution."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self):
        """The variance of the distribution."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self):
        """The standard deviation of the distribution."""
        return self.variance.sqrt()

    def expand(self, batch_shape, _instance=None):
        """A new distribution whose parameters are expanded (no copy) to `batch_shape`."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not implement expand")

    def sample(self, sample_shape=()):
        """A sample of shape sample_shape + batch_shape + event_shape, outside the autograd graph."""
        with lamina.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        """A reparameterized sample: differentiable in the parameters (only where has_rsample)."""
        raise lamina.NotImplementedError(
            f"{type(self).__name__} has no reparameterized sampling (has_rsample is False); "
            "use sample(), or a score-function estimator with log_prob()")

    def sample_n(self, n):
        """n samples (deprecated in torch: use sample((n,)))."""
        warnings.warn("sample_n will be deprecated. Use .sample((n,)) instead", UserWarning)
        return self.sample((n,))

    def log_prob(self, value):
        """The log of the probability density/mass function at `value`."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def cdf(self, value):
        """The cumulative distribution function at `value`."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not implement cdf")

    def icdf(self, value):
        """The inverse cumulative distribution function at `value`."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not implement icdf")

    def enumerate_support(self, expand=True):
        """Every value of a discrete distribution along dim 0."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    def entropy(self):
        """The entropy, batched over batch_shape."""
        raise lamina.NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def perplexity(self):
        """exp(entropy()), batched over batch_shape."""
        return lamina.exp(self.entropy())

    def _extended_shape(self, sample_shape=()):
        """sample_shape + batch_shape + event_shape."""
        return _as_shape(sample_shape) + self._batch_shape + self._event_shape

    def _validate_sample(self, value):
        """Raises lamina.ValueError when `value` is not a tensor, does not broadcast with
        batch_shape + event_shape, or lies outside the support."""
        if not isinstance(value, lamina.Tensor):
            raise lamina.ValueError("The value argument to log_prob must be a Tensor")
        actual = tuple(value.shape)
        event_dim_start = len(actual) - len(self._event_shape)
        if actual[event_dim_start:] != self._event_shape:
            raise lamina.ValueError(f"The right-most size of value must match event_shape: "
                                    f"{actual} vs {self._event_shape}.")
        expected = self._batch_shape + self._event_shape
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise lamina.ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                        f"{actual} vs {expected}.")
        support = self.support
        if not bool(support.check(value).all()):
            raise lamina.ValueError(
                f"Expected value argument ({type(value).__name__} of shape {actual}) to be within the "
                f"support ({support!r}) of the distribution {self!r}, but found invalid values:\n{value}")

    def _get_checked_instance(self, cls, _instance=None):
        """A bare instance for expand() of a subclass."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise lamina.NotImplementedError(f"Subclass {type(self).__name__} of {cls.__name__} that defines a "
                                             "custom __init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(f"{k}: {self.__dict__[k] if self.__dict__[k].numel() == 1 else tuple(self.__dict__[k].shape)}"
                         for k in names)
        return f"{type(self).__name__}({args})"


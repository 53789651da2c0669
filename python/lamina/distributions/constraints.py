"""The constraints torch.distributions checks parameters and values against (the common ones)."""
import lamina

__all__ = ["Constraint", "real", "real_vector", "positive", "unit_interval", "simplex", "boolean",
           "integer_interval", "interval", "half_open_interval"]


class Constraint:
    """A region of values; `check(value)` says elementwise (over event_dim) whether value lies in it."""
    is_discrete = False
    event_dim = 0

    def check(self, value):
        """A bool tensor: True where value satisfies the constraint."""
        raise lamina.NotImplementedError(f"{type(self).__name__}.check")

    def __repr__(self):
        return type(self).__name__[1:] + "()"


class _Real(Constraint):
    """Any real number but NaN."""
    def check(self, value):
        return value == value


class _RealVector(Constraint):
    """Vectors (event_dim 1) of real numbers, NaN-free."""
    event_dim = 1

    def check(self, value):
        return (value == value).all(-1)


class _GreaterThan(Constraint):
    """Strictly above lower_bound."""
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    """The closed interval [lower_bound, upper_bound]."""
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    """The half-open interval [lower_bound, upper_bound)."""
    def check(self, value):
        return (value >= self.lower_bound) & (value < self.upper_bound)

    def __repr__(self):
        return f"HalfOpenInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerInterval(_Interval):
    """Integers in [lower_bound, upper_bound]."""
    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & super().check(value)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Boolean(Constraint):
    """The values 0 and 1."""
    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _Simplex(Constraint):
    """Non-negative vectors (event_dim 1) that sum to 1 within 1e-6."""
    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


real = _Real()
real_vector = _RealVector()
positive = _GreaterThan(0.0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
boolean = _Boolean()
integer_interval = _IntegerInterval
interval = _Interval
half_open_interval = _HalfOpenInterval

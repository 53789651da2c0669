"""kl_divergence(p, q) and register_kl, for the pairs of families lamina.distributions defines."""
import lamina

from .bernoulli import Bernoulli
from .categorical import Categorical
from .normal import Normal
from .uniform import Uniform

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY = {}


def register_kl(type_p, type_q):
    """Decorator: registers fn(p, q) as KL(p || q) for instances of type_p and type_q."""
    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        return fn
    return decorator


def _dispatch(type_p, type_q):
    """The registered function of the most specific (type_p, type_q) pair, or None."""
    for base_p in type_p.__mro__:
        for base_q in type_q.__mro__:
            if (base_p, base_q) in _KL_REGISTRY:
                return _KL_REGISTRY[base_p, base_q]
    return None


def kl_divergence(p, q):
    """KL(p || q), batched over the broadcast batch shape; NotImplementedError for an unregistered pair."""
    fn = _dispatch(type(p), type(q))
    if fn is None:
        raise lamina.NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and "
                                         f"q type {type(q).__name__}")
    return fn(p, q)


def _infinite_where(mask, values):
    """values with +inf where mask."""
    return lamina.where(mask, float("inf"), values)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """KL between two normals."""
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """KL between two Bernoullis (inf where q gives probability 0 to what p can draw)."""
    softplus = lamina.softplus
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = lamina.where(p.probs == 0, 0.0, _infinite_where(q.probs == 0, t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = lamina.where(p.probs == 1, 0.0, _infinite_where(q.probs == 1, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    """KL between two categoricals over the same classes."""
    t = p.probs * (p.logits - q.logits)
    t = _infinite_where(q.probs == 0, t)
    t = lamina.where(p.probs == 0, 0.0, t)
    return t.sum(-1)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    """KL between two uniforms (inf where p's interval is not inside q's)."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _infinite_where((q.low > p.low) | (q.high < p.high), result)

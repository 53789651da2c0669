"""lamina.backends.cuda: CUDA math switches (torch.backends.cuda's names).

matmul.allow_tf32 (default False) lets float32 matrix products on CUDA devices run on TF32
tensor cores: about 10 mantissa bits per product, much faster on A100/H100."""
from .. import _lamina

_b = _lamina._backends

__all__ = ["matmul"]


class _MatmulFlags:
    """torch.backends.cuda.matmul: attribute access to the matmul flags."""

    __slots__ = ()

    @property
    def allow_tf32(self):
        """Whether float32 CUDA matrix products may use TF32 tensor cores."""
        return _b.allow_tf32()

    @allow_tf32.setter
    def allow_tf32(self, value):
        _b.set_allow_tf32(bool(value))

    def __repr__(self):
        return f"lamina.backends.cuda.matmul(allow_tf32={self.allow_tf32})"


matmul = _MatmulFlags()

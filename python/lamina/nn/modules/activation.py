"""torch.nn.modules.activation's names (the layers live in lamina.nn)."""
from . import GELU, LogSoftmax, MultiheadAttention, ReLU, SiLU, Sigmoid, Softmax, Tanh  # noqa: F401
from ..activation import CELU, ELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, Mish, PReLU, ReLU6, SELU, Softplus, Softsign  # noqa: F401

__all__ = ["ReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "MultiheadAttention", "LeakyReLU", "ELU", "CELU", "SELU", "PReLU", "Hardtanh", "ReLU6", "Hardswish", "Hardsigmoid", "Mish", "Softplus", "LogSigmoid", "Softsign"]

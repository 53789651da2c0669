"""lamina.nn: modules, layers, losses (torch.nn's names), plus functional, init and utils."""
from . import functional, init, utils  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .activation import *  # noqa: F401,F403
from .activation import __all__ as _activation_all
from .rnn import *  # noqa: F401,F403
from .rnn import __all__ as _rnn_all
from .transformer import *  # noqa: F401,F403
from .transformer import __all__ as _transformer_all

__all__ = ["Module", "Parameter", "functional", "init", "utils"] + list(_modules_all) + list(_activation_all) + list(_rnn_all) + list(_transformer_all)

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

from .modules.batchnorm import SyncBatchNorm  # noqa: E402,F401
from . import parallel  # noqa: E402,F401

__all__ = ["Module", "Parameter", "SyncBatchNorm", "functional", "init", "parallel", "utils"] + list(_modules_all) + list(_activation_all) + list(_rnn_all) + list(_transformer_all)

# torch.nn.modules.<file> paths (torch.nn.modules.linear.Linear, ...), loaded once every layer exists.
from .modules import (activation as _m1, batchnorm as _m2, container as _m3, conv as _m4, dropout as _m5,  # noqa: E402,F401
                      flatten as _m6, instancenorm as _m7, linear as _m8, loss as _m9, module as _m10,
                      normalization as _m11, padding as _m12, pooling as _m13, rnn as _m14, sparse as _m15,
                      transformer as _m16)

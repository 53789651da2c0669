"""Training helpers: seed_everything, Checkpointer, CSVLogger and log lines, train_epoch /
evaluate / fit with callbacks and a tqdm progress bar. Metrics live in lamina.metrics."""
from .seed import *  # noqa: F401,F403
from .loop import *  # noqa: F401,F403
from .checkpoint import *  # noqa: F401,F403
from .logging_utils import *  # noqa: F401,F403
from . import seed as _seed, loop as _loop, checkpoint as _checkpoint, logging_utils as _logging_utils

__all__ = _seed.__all__ + _loop.__all__ + _checkpoint.__all__ + _logging_utils.__all__

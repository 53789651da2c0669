"""Training helpers: seed_everything, train_epoch / evaluate / fit with callbacks and a tqdm
progress bar. Metrics live in lamina.metrics."""
from .seed import *  # noqa: F401,F403
from .loop import *  # noqa: F401,F403
from . import seed as _seed, loop as _loop

__all__ = _seed.__all__ + _loop.__all__

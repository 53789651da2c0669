"""Training checkpoints: lamina.train.Checkpointer saves the model, optimizer, LR scheduler, random
generators, data-loader position, step / epoch, config and reproducibility metadata into one
safetensors file per checkpoint, atomically, every N steps or minutes, keeping the last K. The
files are the C++ Checkpointer's (lamina/train/checkpoint.h): either side resumes the other's."""
import base64
import json
import random

from .. import _lamina

_ck = _lamina._checkpoint

__all__ = ["Checkpointer", "read_checkpoint"]


def _numpy_state():
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return None
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": base64.b64encode(keys.astype("<u4").tobytes()).decode(), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}


def _set_numpy_state(s):
    import numpy as np
    keys = np.frombuffer(base64.b64decode(s["keys"]), dtype="<u4").astype(np.uint32)
    np.random.set_state((s["name"], keys, s["pos"], s["has_gauss"], s["cached_gaussian"]))


def _python_random_state():
    version, internal, gauss = random.getstate()
    return {"version": version, "state": list(internal), "gauss_next": gauss}


def _set_python_random_state(s):
    random.setstate((s["version"], tuple(s["state"]), s["gauss_next"]))


class Checkpointer:
    """Saves and restores a training run in `directory`.

    Tracks any of: ``model`` (a lamina.nn.Module: its state_dict), ``optimizer``, ``scheduler``
    (an LR scheduler), ``loader`` (a lamina.utils.data.DataLoader: its epoch and position, so a
    resume continues mid-epoch), plus lamina's random generator and Python's ``random`` and
    NumPy's global generators (``rng=True``). ``config`` (a JSON-serializable dict) is stored
    with every checkpoint together with the seed, lamina version, git revision and device.

    ``maybe_save(step, epoch)`` saves every ``every_steps`` steps or ``every_minutes`` minutes;
    ``save`` saves now. The newest ``keep_last`` files are kept (0: all). Writes are atomic: a
    crash at any moment leaves the earlier checkpoints intact. ``load_latest()`` restores the
    newest checkpoint and returns its info (step, epoch, config, run_info), or None.
    """

    def __init__(self, directory, model=None, optimizer=None, scheduler=None, loader=None, config=None,
                 every_steps=0, every_minutes=0.0, keep_last=3, prefix="checkpoint", rng=True):
        self._c = _ck.Checkpointer(str(directory), int(every_steps or 0), float(every_minutes or 0.0) * 60.0,
                                   int(keep_last), prefix)
        self.model, self.optimizer, self.scheduler, self.loader = model, optimizer, scheduler, loader
        if model is not None:
            self._c.track_model(lambda: list(model.state_dict().items()),
                                lambda items: model.load_state_dict(dict(items)))
        if optimizer is not None:
            self._c.track_optimizer(optimizer)
        if scheduler is not None:
            self._c.track_scheduler(scheduler)
        if loader is not None:
            self._c.track_loader(loader.state_dict, loader.load_state_dict)
        if rng:
            self._c.track_extra(self._get_rng, self._set_rng)
        self.config = {} if config is None else config
        self._c.set_config(json.dumps(self.config, sort_keys=True))

    @staticmethod
    def _get_rng():
        out = {"python.random": json.dumps(_python_random_state())}
        np_state = _numpy_state()
        if np_state is not None:
            out["numpy.random"] = json.dumps(np_state)
        return out

    @staticmethod
    def _set_rng(extra):
        # Read everything before changing anything, so a malformed entry leaves both generators.
        py = json.loads(extra["python.random"]) if "python.random" in extra else None
        npy = json.loads(extra["numpy.random"]) if "numpy.random" in extra else None
        if py is not None:
            _set_python_random_state(py)
        if npy is not None:
            _set_numpy_state(npy)

    @property
    def directory(self):
        """The checkpoint directory."""
        return self._c.directory

    def due(self, step):
        """True when a save is due at `step`."""
        return self._c.due(int(step))

    def maybe_save(self, step, epoch=0):
        """Saves when due; returns the path written or None."""
        return self._c.maybe_save(int(step), int(epoch))

    def save(self, step, epoch=0):
        """Saves now; returns the path."""
        return self._c.save(int(step), int(epoch))

    def path_for(self, step):
        """The path a save at `step` writes."""
        return self._c.path_for(int(step))

    def list(self):
        """Checkpoint paths, oldest first."""
        return self._c.list()

    def latest(self):
        """The newest checkpoint's path, or None."""
        return self._c.latest()

    def load(self, path):
        """Restores `path` into the tracked objects; returns its info dict. On an error nothing
        tracked changes."""
        info = self._c.load(str(path))
        info["config"] = json.loads(info["config"])
        return info

    def load_latest(self):
        """Restores the newest checkpoint; returns its info dict or None when there is none."""
        info = self._c.load_latest()
        if info is not None:
            info["config"] = json.loads(info["config"])
        return info


def read_checkpoint(path):
    """Reads a checkpoint file without restoring it: a dict with step, epoch, model (name ->
    Tensor), loader, rng, config (parsed), extra and run_info."""
    d = _ck.read_checkpoint(str(path))
    d["config"] = json.loads(d["config"])
    return d

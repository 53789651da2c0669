"""TensorBoard logging with torch.utils.tensorboard's API: ``from lamina.utils.tensorboard import
SummaryWriter``. Event files are encoded and written in C++ (lamina::train::SummaryWriter:
protobuf messages in TFRecord framing), so no TensorFlow or tensorboard package is needed to
write them; TensorBoard reads them as it reads PyTorch's.

Differences from torch: events are flushed every ``max_queue`` events, when ``flush_secs`` have
passed at a write, on flush() and on close() (no background thread); add_hparams records bool
hyper-parameters as bools (torch records them as numbers); images, audio, graphs, embeddings,
figures and meshes are not supported."""
import os

import numpy as np

from .._lamina import _log
from .. import Tensor

__all__ = ["SummaryWriter"]


def _scalar(value, what):
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number or a one-element tensor, got {type(value).__name__}") from None


def _step(global_step):
    return 0 if global_step is None else int(global_step)


def _values(values):
    if isinstance(values, Tensor):
        return values
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor
        values = values.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))


class SummaryWriter:
    """Writes TensorBoard event files into ``log_dir`` (default ``runs/<Mon>DD_HH-MM-SS_<host><comment>``).

    Same signature as torch.utils.tensorboard.SummaryWriter; use it as a context manager or call
    close()."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        self._writer = _log.SummaryWriter(
            log_dir="" if log_dir is None else os.fspath(log_dir), comment=str(comment),
            filename_suffix=str(filename_suffix), flush_secs=float(flush_secs), max_queue=int(max_queue),
            purge_step=None if purge_step is None else int(purge_step))
        self.log_dir = self._writer.log_dir

    def get_logdir(self):
        """The directory event files are written to."""
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None):
        """Logs one scalar (stored as float32, as TensorBoard's simple_value is)."""
        self._writer.add_scalar(str(tag), _scalar(scalar_value, "scalar_value"), _step(global_step),
                                None if walltime is None else float(walltime))

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Logs several scalars on one chart: each key goes to the run <log_dir>/<main_tag>_<key>."""
        if not isinstance(tag_scalar_dict, dict):
            raise TypeError("tag_scalar_dict must be a dict of tag -> number")
        values = {str(k): _scalar(v, f"tag_scalar_dict[{k!r}]") for k, v in tag_scalar_dict.items()}
        self._writer.add_scalars(str(main_tag), values, _step(global_step),
                                 None if walltime is None else float(walltime))

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        """Logs a histogram of ``values`` (lamina/torch tensor, ndarray or list). ``bins``:
        'tensorflow' (TensorBoard's default exponential buckets), an int (equal-width buckets over
        [min, max]), a numpy bin method name ('auto', 'fd', ...) or a sequence of edges."""
        if max_bins is not None:
            raise NotImplementedError("add_histogram: max_bins is not supported; pass fewer bins")
        v = _values(values)
        wt = None if walltime is None else float(walltime)
        if isinstance(bins, str) and bins == "tensorflow":
            self._writer.add_histogram(str(tag), v, _step(global_step), 0, wt)
        elif isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
            if bins < 1:
                raise ValueError(f"add_histogram: bins must be >= 1, got {bins}")
            self._writer.add_histogram(str(tag), v, _step(global_step), int(bins), wt)
        else:
            arr = v.detach().cpu().double().numpy() if isinstance(v, Tensor) else v
            edges = np.histogram_bin_edges(np.asarray(arr, dtype=np.float64), bins=bins)
            self._writer.add_histogram_edges(str(tag), v, [float(e) for e in edges], _step(global_step), wt)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Logs markdown text (tag '<tag>/text_summary', the text plugin's layout)."""
        self._writer.add_text(str(tag), str(text_string), _step(global_step),
                              None if walltime is None else float(walltime))

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """Logs one hyper-parameter session for TensorBoard's HPARAMS tab: the experiment,
        session start/end summaries and each metric as a scalar, in the run <log_dir>/<run_name>
        (default: the current time in seconds). Values: bool, str, int or float."""
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("hparam_dict and metric_dict should be dictionaries.")
        if hparam_domain_discrete is not None:
            raise NotImplementedError("add_hparams: hparam_domain_discrete is not supported")
        hp = {}
        for k, v in hparam_dict.items():
            if v is None:
                continue
            if hasattr(v, "item") and not isinstance(v, (str, bool)):
                v = v.item()
            hp[str(k)] = v
        metrics = {str(k): _scalar(v, f"metric_dict[{k!r}]") for k, v in metric_dict.items()}
        self._writer.add_hparams(hp, metrics, "" if run_name is None else str(run_name), _step(global_step))

    def flush(self):
        """Writes buffered events to disk."""
        self._writer.flush()

    def close(self):
        """Flushes and closes the event files; later add_* calls raise lamina.IOError."""
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

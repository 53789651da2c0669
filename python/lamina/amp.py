"""lamina.amp: automatic mixed precision with torch.amp's names.

``autocast`` runs the ops of a region in a lower-precision dtype where that is safe (GEMMs and
convolutions in bfloat16 / float16) and in float32 where it is not (softmax, normalizations,
losses), while the parameters stay float32 ("master weights"): the casts are recorded by
autograd, so gradients reach the float32 leaves in float32. ``GradScaler`` scales the loss so
that small float16 gradients do not flush to zero, unscales them before the optimizer step,
skips steps whose gradients overflowed and adapts the scale (torch.amp.GradScaler).
"""
import collections.abc as _abc
import functools as _functools
import warnings as _warnings

from . import _lamina
from .autograd import no_grad as _no_grad

_amp = _lamina._amp

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype", "set_autocast_enabled",
           "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled", "clear_autocast_cache"]


def _default_device_type():
    return "cuda" if _lamina._cuda.device_count() > 0 else "cpu"


def is_autocast_enabled(device_type="cuda"):
    """True when autocast is on for device_type ("cpu" or "cuda") on this thread."""
    return _amp.is_enabled(device_type)


def set_autocast_enabled(device_type, enabled):
    """Turns autocast on or off for device_type on this thread (prefer ``with autocast(...)``)."""
    _amp.set_enabled(device_type, bool(enabled))


def get_autocast_dtype(device_type="cuda"):
    """The lower-precision dtype autocast uses for device_type (bfloat16 on CPU, float16 on CUDA by default)."""
    return _amp.get_dtype(device_type)


def set_autocast_dtype(device_type, dtype):
    """Sets the lower-precision dtype of device_type: float16 or bfloat16 (DTypeError otherwise)."""
    _amp.set_dtype(device_type, dtype)


def is_autocast_cache_enabled():
    """True when casts of float32 parameters are cached within an autocast region."""
    return _amp.is_cache_enabled()


def set_autocast_cache_enabled(enabled):
    """Turns the autocast cast cache on or off on this thread."""
    _amp.set_cache_enabled(bool(enabled))


def clear_autocast_cache():
    """Drops the cached casts of this thread (autocast does this when its outermost region ends)."""
    _amp.clear_cache()


class autocast:
    """Context manager and decorator running a region under automatic mixed precision.

    ``device_type`` is "cpu" or "cuda" (None: the default device's type); ``dtype`` the
    lower-precision dtype, float16 or bfloat16 (None: the device type's current one, bfloat16 on
    CPU and float16 on CUDA initially); ``enabled=False`` turns autocast off inside the region;
    ``cache_enabled`` keeps one cast of each float32 parameter per region. Applies to floating
    tensors on ``device_type`` only; float64 tensors are never cast. State is per thread.

    Ops with GEMMs (linear, matmul, mm, bmm, convolutions, attention) run in ``dtype``; softmax,
    log_softmax, layer/group/RMS norm and the losses run in float32; other ops run in the dtype
    of their inputs (mixed inputs promote as usual). Run ``backward()`` outside the region.
    """

    def __init__(self, device_type=None, dtype=None, enabled=True, cache_enabled=None):
        self.device = _amp.device_type(device_type if device_type is not None else _default_device_type())
        self.fast_dtype = _amp.get_dtype(self.device) if dtype is None else dtype
        self._enabled = bool(enabled)
        self._cache_enabled = _amp.is_cache_enabled() if cache_enabled is None else bool(cache_enabled)
        if self._enabled:
            _amp.check_dtype(self.fast_dtype)
        if self._enabled and self.device == "cuda" and _lamina._cuda.device_count() == 0:
            _warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling")
            self._enabled = False

    def __enter__(self):
        self.prev = _amp.is_enabled(self.device)
        self.prev_fastdtype = _amp.get_dtype(self.device)
        self.prev_cache_enabled = _amp.is_cache_enabled()
        if self._enabled or self.fast_dtype in (_lamina.float16, _lamina.bfloat16):
            _amp.set_dtype(self.device, self.fast_dtype)
        _amp.set_enabled(self.device, self._enabled)
        _amp.set_cache_enabled(self._cache_enabled)
        _amp.increment_nesting()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if _amp.decrement_nesting() == 0:
            _amp.clear_cache()
        _amp.set_enabled(self.device, self.prev)
        _amp.set_dtype(self.device, self.prev_fastdtype)
        _amp.set_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func):
        @_functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            # A fresh context per call, so recursive and concurrent calls each restore their own state.
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)

        return decorate_autocast

    def __repr__(self):
        return (f"autocast(device_type={self.device!r}, dtype={self.fast_dtype}, enabled={self._enabled}, "
                f"cache_enabled={self._cache_enabled})")



_READY, _UNSCALED, _STEPPED = 0, 1, 2
_FLOAT32_OVERFLOW = 3.4028235677973366e38  # doubles at or above this round to inf in float32


def _fresh_optimizer_state():
    return {"stage": _READY, "found_inf_per_device": {}}


class GradScaler:
    """Loss scaling for float16 training (torch.amp.GradScaler's semantics).

    Each iteration: ``scaler.scale(loss).backward()``; optionally ``scaler.unscale_(optimizer)``
    (e.g. before clipping); ``scaler.step(optimizer)`` unscales if needed and steps only when
    every gradient is finite; ``scaler.update()`` halves the scale (``backoff_factor``) after a
    step with inf/NaN gradients, and multiplies it by ``growth_factor`` after ``growth_interval``
    finite steps in a row. ``device="cuda"`` without a usable GPU warns and disables the scaler,
    as torch does; a disabled scaler passes everything through.
    """

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = _amp.device_type(str(device).split(":")[0])
        self._enabled = bool(enabled)
        if self._enabled and self._device == "cuda" and _lamina._cuda.device_count() == 0:
            _warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.")
            self._enabled = False
        if self._enabled:
            if not growth_factor > 1.0:
                raise _lamina.ValueError("[GradScaler] The growth factor must be > 1.0.")
            if not backoff_factor < 1.0:
                raise _lamina.ValueError("[GradScaler] The backoff factor must be < 1.0.")
            self._init_scale = float(init_scale)
            self._scale = None  # created on first use, on the device of the first scaled output
            self._growth_factor = float(growth_factor)
            self._backoff_factor = float(backoff_factor)
            self._growth_interval = int(growth_interval)
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = {}

    def _lazy_init_scale_growth_tracker(self, device):
        self._scale = _lamina.full((), self._init_scale, dtype=_lamina.float32, device=device)
        self._growth_tracker = _lamina.full((), self._init_growth_tracker, dtype=_lamina.int32, device=device)

    def _check_scale_growth_tracker(self, funcname):
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration."
        assert self._scale is not None, f"Attempted {funcname} but _scale is None.  " + fix
        assert self._growth_tracker is not None, f"Attempted {funcname} but _growth_tracker is None.  " + fix
        return self._scale, self._growth_tracker

    def _state(self, optimizer):
        return self._per_optimizer_states.setdefault(id(optimizer), _fresh_optimizer_state())

    def scale(self, outputs):
        """outputs (a tensor or an iterable of tensors, nested) multiplied by the scale; as is when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, _lamina.Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * self._scale.to(outputs.device)
        copies = {}

        def apply_scale(val):
            if isinstance(val, _lamina.Tensor):
                if self._scale is None:
                    self._lazy_init_scale_growth_tracker(val.device)
                key = str(val.device)
                if key not in copies:
                    copies[key] = self._scale.to(val.device)
                return val * copies[key]
            if isinstance(val, _abc.Iterable):
                iterable = map(apply_scale, val)
                if isinstance(val, (list, tuple)):
                    return type(val)(iterable)
                return iterable
            raise _lamina.ValueError("[GradScaler] outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale, allow_fp16):
        found = {}  # device -> bool tensor: some gradient there is inf or NaN
        with _no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if not allow_fp16 and grad.dtype == _lamina.float16:
                        raise _lamina.ValueError("[GradScaler] Attempting to unscale FP16 gradients.")
                    key = str(grad.device)
                    bad = _lamina.logical_not(_lamina.isfinite(grad).all())
                    found[key] = bad if key not in found else _lamina.logical_or(found[key], bad)
                    grad.mul_(inv_scale.to(grad.device))
        return {k: v.to(_lamina.float32) for k, v in found.items()}

    def unscale_(self, optimizer):
        """Divides the optimizer's gradients by the scale in place and records whether any is inf/NaN.

        At most once per optimizer between update() calls (RuntimeError otherwise)."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # The reciprocal is taken in float64, then rounded once to float32 (torch's recipe).
        inv_scale = self._scale.to(_lamina.float64).reciprocal().to(_lamina.float32)
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, False)
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscales (unless unscale_ ran) and calls optimizer.step(*args, **kwargs) unless a gradient
        was inf/NaN; returns what step returned (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        assert len(state["found_inf_per_device"]) > 0, "No inf checks were recorded for this optimizer."
        retval = None
        if not sum(v.item() for v in state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return retval

    def update(self, new_scale=None):
        """Sets the scale for the next iteration: new_scale (a float or a 1-element tensor) if
        given, else backoff after inf/NaN gradients or growth after growth_interval clean steps."""
        if not self._enabled:
            return
        scale, tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element lamina.Tensor on the scaler's device with "
                          "requires_grad=False.")
                assert isinstance(new_scale, _lamina.Tensor), reason
                assert new_scale.device.type == self._device, reason
                assert new_scale.numel() == 1, reason
                assert new_scale.requires_grad is False, reason
                scale.copy_(new_scale.reshape(()).to(_lamina.float32))
        else:
            found_infs = [f for st in self._per_optimizer_states.values()
                          for f in st["found_inf_per_device"].values()]
            assert len(found_infs) > 0, "No inf checks were recorded prior to update."
            found = sum(f.item() for f in found_infs)
            current = scale.item()
            if found:
                scale.fill_(current * self._backoff_factor)
                tracker.fill_(0)
            else:
                successful = tracker.item() + 1
                if successful == self._growth_interval:
                    grown = current * self._growth_factor
                    # Kept only when it stays finite once rounded to float32, as torch's kernel does.
                    if abs(grown) < _FLOAT32_OVERFLOW:
                        scale.fill_(grown)
                    tracker.fill_(0)
                else:
                    tracker.fill_(successful)
        self._per_optimizer_states = {}

    def _get_scale_async(self):
        return self._scale

    def get_scale(self):
        """The current scale as a float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def get_growth_factor(self):
        """The factor the scale grows by."""
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        """Sets the growth factor."""
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        """The factor the scale shrinks by after inf/NaN gradients."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        """Sets the backoff factor."""
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        """Clean steps in a row before the scale grows."""
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        """Sets the growth interval."""
        self._growth_interval = int(new_interval)

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else int(self._growth_tracker.item())

    def is_enabled(self):
        """True unless constructed with enabled=False (or for CUDA without a GPU)."""
        return self._enabled

    def state_dict(self):
        """{"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"}; {} when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        """Restores a state_dict(); RuntimeError for an empty one (saved from a disabled scaler)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale.fill_(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(self._init_growth_tracker)


class CudaAutocast(autocast):
    """torch.cuda.amp.autocast: ``autocast("cuda", dtype, enabled, cache_enabled)`` with float16 by default."""

    def __init__(self, enabled=True, dtype=None, cache_enabled=True):
        super().__init__("cuda", dtype=_lamina.float16 if dtype is None else dtype, enabled=enabled,
                         cache_enabled=cache_enabled)


class CudaGradScaler(GradScaler):
    """torch.cuda.amp.GradScaler: ``GradScaler("cuda", ...)``."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor, backoff_factor=backoff_factor,
                         growth_interval=growth_interval, enabled=enabled)

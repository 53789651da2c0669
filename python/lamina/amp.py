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



_READY, _UNSCALED, _STEPPED = 0, 1, 2  # lamina._lamina._amp.GradScaler.stage(), torch's OptState


def _grads(optimizer):
    """The gradients of optimizer's parameters that have one (any object with .param_groups)."""
    return [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]


class GradScaler:
    """Loss scaling for float16 training (torch.amp.GradScaler's semantics).

    Each iteration: ``scaler.scale(loss).backward()``; optionally ``scaler.unscale_(optimizer)``
    (e.g. before clipping); ``scaler.step(optimizer)`` unscales if needed and steps only when
    every gradient is finite; ``scaler.update()`` halves the scale (``backoff_factor``) after a
    step with inf/NaN gradients, and multiplies it by ``growth_factor`` after ``growth_interval``
    finite steps in a row. ``device="cuda"`` without a usable GPU warns and disables the scaler,
    as torch does; a disabled scaler passes everything through.

    The arithmetic and state live in the C++ ``lamina::optim::GradScaler``
    (lamina/optim/grad_scaler.h, ``lamina._lamina._amp.GradScaler``); this class keeps torch's
    Python API and exceptions, and steps any optimizer with ``.param_groups`` and ``.step()``.
    """

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = _amp.device_type(str(device).split(":")[0])
        enabled = bool(enabled)
        if enabled and self._device == "cuda" and _lamina._cuda.device_count() == 0:
            _warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.")
            enabled = False
        # ValueError (when enabled) unless growth_factor > 1.0 and backoff_factor < 1.0.
        self._c = _amp.GradScaler(float(init_scale), float(growth_factor), float(backoff_factor),
                                  int(growth_interval), enabled)

    @property
    def _enabled(self):
        return self._c.is_enabled()

    @property
    def _scale(self):
        """The 0-d float32 scale tensor (None before the first scale())."""
        return self._c.scale_tensor()

    def _check_scale_growth_tracker(self, funcname):
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration."
        assert self._c.is_initialized(), f"Attempted {funcname} but _scale is None.  " + fix

    def scale(self, outputs):
        """outputs (a tensor or an iterable of tensors, nested) multiplied by the scale; as is when disabled."""
        if not self._c.is_enabled():
            return outputs
        if isinstance(outputs, _lamina.Tensor):
            return self._c.scale(outputs)

        def apply_scale(val):
            if isinstance(val, _lamina.Tensor):
                return self._c.scale(val)
            if isinstance(val, _abc.Iterable):
                iterable = map(apply_scale, val)
                if isinstance(val, (list, tuple)):
                    return type(val)(iterable)
                return iterable
            raise _lamina.ValueError("[GradScaler] outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def unscale_(self, optimizer):
        """Divides the optimizer's gradients by the scale in place and records whether any is inf/NaN.

        At most once per optimizer between update() calls (RuntimeError otherwise)."""
        if not self._c.is_enabled():
            return
        self._check_scale_growth_tracker("unscale_")
        stage = self._c.stage(id(optimizer))
        if stage == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if stage == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        self._c.unscale_(id(optimizer), _grads(optimizer))

    def step(self, optimizer, *args, **kwargs):
        """Unscales (unless unscale_ ran) and calls optimizer.step(*args, **kwargs) unless a gradient
        was inf/NaN; returns what step returned (None when skipped)."""
        if not self._c.is_enabled():
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        key = id(optimizer)
        stage = self._c.stage(key)
        if stage == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if stage == _READY:
            self.unscale_(optimizer)
        assert self._c.has_inf_check(key), "No inf checks were recorded for this optimizer."
        retval = None

        def optimizer_step():
            nonlocal retval
            retval = optimizer.step(*args, **kwargs)

        self._c.step(key, [], optimizer_step)  # already unscaled: reads the inf flag, steps if clean
        return retval

    def update(self, new_scale=None):
        """Sets the scale for the next iteration: new_scale (a float or a 1-element tensor) if
        given, else backoff after inf/NaN gradients or growth after growth_interval clean steps."""
        if not self._c.is_enabled():
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._c.update(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element lamina.Tensor on the scaler's device with "
                          "requires_grad=False.")
                assert isinstance(new_scale, _lamina.Tensor), reason
                assert new_scale.device.type == self._device, reason
                assert new_scale.numel() == 1, reason
                assert new_scale.requires_grad is False, reason
                self._c.update(new_scale)
        else:
            assert self._c.has_inf_checks(), "No inf checks were recorded prior to update."
            self._c.update()

    def _get_scale_async(self):
        return self._c.scale_tensor()

    def get_scale(self):
        """The current scale as a float (1.0 when disabled)."""
        return self._c.get_scale()

    def get_growth_factor(self):
        """The factor the scale grows by."""
        return self._c.get_growth_factor()

    def set_growth_factor(self, new_factor):
        """Sets the growth factor."""
        self._c.set_growth_factor(float(new_factor))

    def get_backoff_factor(self):
        """The factor the scale shrinks by after inf/NaN gradients."""
        return self._c.get_backoff_factor()

    def set_backoff_factor(self, new_factor):
        """Sets the backoff factor."""
        self._c.set_backoff_factor(float(new_factor))

    def get_growth_interval(self):
        """Clean steps in a row before the scale grows."""
        return self._c.get_growth_interval()

    def set_growth_interval(self, new_interval):
        """Sets the growth interval."""
        self._c.set_growth_interval(int(new_interval))

    def _get_growth_tracker(self):
        return self._c.growth_tracker()

    def is_enabled(self):
        """True unless constructed with enabled=False (or for CUDA without a GPU)."""
        return self._c.is_enabled()

    def state_dict(self):
        """{"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"}; {} when disabled."""
        return self._c.state_dict()

    def load_state_dict(self, state_dict):
        """Restores a state_dict(); RuntimeError for an empty one (saved from a disabled scaler)."""
        if not self._c.is_enabled():
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        keys = ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker")
        self._c.load_state_dict({k: state_dict[k] for k in keys})


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

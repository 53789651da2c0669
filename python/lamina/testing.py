"""torch.testing.assert_close: tensors, numbers, and sequences / mappings of them compared elementwise
with the same default tolerances as PyTorch's, and the same kind of report."""
import math
from collections.abc import Mapping, Sequence

import numpy as np

from . import _lamina

__all__ = ["assert_close", "assert_allclose"]

# (rtol, atol) by dtype, PyTorch's defaults; integers and bool compare exactly.
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


def _as_array(x):
    if isinstance(x, _lamina.Tensor):
        t = x.detach().cpu()
        name = str(t.dtype).split(".")[-1]
        return (t.float().numpy() if name == "bfloat16" else t.numpy()), name, tuple(t.shape), str(x.device)
    if isinstance(x, (bool, int, float)):
        name = "bool" if isinstance(x, bool) else "int64" if isinstance(x, int) else "float64"
        return np.asarray(x), name, (), "cpu"
    if isinstance(x, np.ndarray):
        return x, str(x.dtype), x.shape, "cpu"
    return None


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raises AssertionError unless |actual - expected| <= atol + rtol * |expected| everywhere (NaNs
    equal only with equal_nan), with matching shapes, and dtypes and devices unless check_dtype /
    check_device is False. rtol and atol go together; their defaults depend on the dtype (float32:
    1.3e-6 and 1e-5). Sequences and mappings are compared item by item."""
    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted")
    _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, msg, path="")


def _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, msg, path):
    where = f" at {path}" if path else ""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        if set(actual) != set(expected):
            raise AssertionError(msg or f"The keys of the mappings do not match{where}: {sorted(map(str, actual))} "
                                 f"!= {sorted(map(str, expected))}")
        for k in expected:
            _compare(actual[k], expected[k], rtol, atol, equal_nan, check_device, check_dtype, msg, f"{path}[{k!r}]")
        return
    if (isinstance(expected, Sequence) and isinstance(actual, Sequence) and not isinstance(expected, str)
            and not isinstance(actual, str)):
        if len(actual) != len(expected):
            raise AssertionError(msg or f"The length of the sequences mismatch{where}: {len(actual)} != "
                                 f"{len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, rtol, atol, equal_nan, check_device, check_dtype, msg, f"{path}[{i}]")
        return
    a, e = _as_array(actual), _as_array(expected)
    if a is None or e is None:
        if actual != expected:
            raise AssertionError(msg or f"Objects are not equal{where}: {actual!r} != {expected!r}")
        return
    (av, adt, ashape, adev), (ev, edt, eshape, edev) = a, e
    if ashape != eshape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match{where}: {ashape} != {eshape}.")
    if check_dtype and adt != edt:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match{where}: {adt} != {edt}.")
    if check_device and adev != edev:
        raise AssertionError(msg or f"The values for attribute 'device' do not match{where}: {adev} != {edev}.")
    if rtol is None:
        rtol, atol = _TOLERANCES.get(edt, (0.0, 0.0)) if check_dtype else max(
            _TOLERANCES.get(edt, (0.0, 0.0)), _TOLERANCES.get(adt, (0.0, 0.0)))
    av64, ev64 = np.asarray(av, np.float64), np.asarray(ev, np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf: handled below
        diff = np.abs(av64 - ev64)
        bad = ~(diff <= atol + rtol * np.abs(ev64))
    both_nan = np.isnan(av64) & np.isnan(ev64)
    if equal_nan:
        bad &= ~both_nan
    bad &= ~((av64 == ev64) & np.isinf(ev64))  # equal infinities are close
    count = int(bad.sum())
    if count == 0:
        return
    total = bad.size
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(bad, diff / np.abs(ev64), 0.0)
    abs_at = np.unravel_index(int(np.nanargmax(np.where(bad, diff, -1.0))), bad.shape) if bad.ndim else ()
    rel_at = np.unravel_index(int(np.nanargmax(np.where(bad, np.nan_to_num(rel, nan=np.inf), -1.0))),
                              bad.shape) if bad.ndim else ()
    kind = "Scalars are" if not eshape else "Tensor-likes are"
    report = (f"{kind} not close{where}!\n\nMismatched elements: {count} / {total} ({100.0 * count / total:.1f}%)\n"
              f"Greatest absolute difference: {float(diff[abs_at]) if bad.ndim else float(diff)} at index "
              f"{tuple(int(i) for i in abs_at)} (up to {atol} allowed)\n"
              f"Greatest relative difference: {float(rel[rel_at]) if bad.ndim else float(rel)} at index "
              f"{tuple(int(i) for i in rel_at)} (up to {rtol} allowed)")
    raise AssertionError(msg or report)


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """torch.testing.assert_allclose (deprecated there in favour of assert_close): expected may be
    a number or nested list, taken in actual's dtype; dtypes are not compared; NaNs equal."""
    if isinstance(actual, _lamina.Tensor) and not isinstance(expected, _lamina.Tensor):
        expected = _lamina.tensor(expected, dtype=actual.dtype, device=actual.device)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None)

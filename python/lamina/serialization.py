"""PyTorch's checkpoint format (`torch.save` / `torch.load`), read and written without running code.

A `.pt` file is a zip archive: `<name>/data.pkl` (a pickle of the saved object, whose tensors refer
to storages by persistent id), `<name>/data/<key>` (each storage's raw little-endian bytes) and
`<name>/version`. `load` unpickles with an allowlist, the rules of PyTorch's `weights_only=True`:
containers, Python scalars, tensor and parameter rebuilds, storage types, dtypes and NumPy's
array rebuilds; any other global raises FormatError naming it, so a pickle that would call
`os.system` runs nothing. `save` writes the format PyTorch 1.6+ reads (pickle protocol 2, one
storage per tensor). lamina's own checkpoints stay safetensors (`lamina.save_file`).
"""
from __future__ import annotations

import collections
import contextlib
import io
import math
import mmap
import os
import pickle
import pickletools
import struct
import threading
import zipfile

import numpy as np

from . import _lamina

__all__ = ["save", "load", "safe_globals", "add_safe_globals", "get_safe_globals", "clear_safe_globals"]

# Storage type names -> (numpy dtype of the raw bytes, lamina dtype name).
_STORAGES = {
    "FloatStorage": (np.float32, "float32"),
    "DoubleStorage": (np.float64, "float64"),
    "HalfStorage": (np.float16, "float16"),
    "BFloat16Storage": (np.uint16, "bfloat16"),  # raw bits; numpy has no bfloat16
    "LongStorage": (np.int64, "int64"),
    "IntStorage": (np.int32, "int32"),
    "CharStorage": (np.int8, "int8"),
    "ByteStorage": (np.uint8, "uint8"),
    "BoolStorage": (np.bool_, "bool"),
}
_UNSUPPORTED_STORAGES = {"ShortStorage": "int16", "ComplexFloatStorage": "complex64",
                         "ComplexDoubleStorage": "complex128", "QInt8Storage": "qint8", "QUInt8Storage": "quint8"}
_STORAGE_OF_DTYPE = {lamina_name: name for name, (_, lamina_name) in _STORAGES.items()}
_TORCH_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool",
                 "float", "double", "half", "long", "int"}

# What a malformed archive or pickle can raise inside zipfile / pickle: each becomes FormatError.
_MALFORMED = (zipfile.BadZipFile, pickle.UnpicklingError, NotImplementedError, OSError, EOFError, ValueError,
              TypeError, AttributeError, IndexError, KeyError, OverflowError, RecursionError, struct.error)

# Tensors are copied out of their storage; one that repeats its storage's elements (stride 0)
# may have at most this many elements beyond the storage's own count.
_MAX_REPEATED_ELEMENTS = 1 << 20

# NumPy's array-rebuild globals (both the numpy 1 and numpy 2 module paths): PyTorch 2.6+ refuses
# these by default; lamina admits them by name, and nothing else of NumPy.
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


# Globals the user trusts (torch.serialization's add_safe_globals / safe_globals): classes and
# functions, each admitted under the "module.qualname" a pickle names it by. A trusted class is
# built the way pickle builds it (cls.__new__, then __setstate__ or a __dict__ update; lamina's
# nn modules rebuild their C++ layers in Module.__setstate__).
_USER_GLOBALS = []
_SCOPED = threading.local()


def _global_name(entry):
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str):
        return entry[1], entry[0]
    module, qualname = getattr(entry, "__module__", None), getattr(entry, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise _lamina.ValueError(f"safe globals must be classes or functions (or (object, 'module.name') pairs), "
                                 f"got {entry!r}")
    return f"{module}.{qualname}", entry


def add_safe_globals(safe_globals):
    """Trusts these classes / functions in every later load (torch.serialization.add_safe_globals)."""
    entries = [_global_name(e) for e in safe_globals]
    _USER_GLOBALS.extend(entries)


def get_safe_globals():
    """The objects add_safe_globals trusted."""
    return [obj for _, obj in _USER_GLOBALS]


def clear_safe_globals():
    """Forgets what add_safe_globals trusted."""
    _USER_GLOBALS.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """with safe_globals([...]): load may build these classes and call these functions
    (torch.serialization.safe_globals), on this thread, inside the block."""
    entries = [_global_name(e) for e in safe_globals]
    stack = _SCOPED.__dict__.setdefault("stack", [])
    stack.append(entries)
    try:
        yield
    finally:
        stack.pop()


def _trusted(module, name):
    full = f"{module}.{name}"
    entries = [e for group in [_USER_GLOBALS] + list(getattr(_SCOPED, "stack", [])) for e in group]
    for entry_name, obj in entries:
        if entry_name == full:
            return obj
    if module.startswith("torch."):
        # torch.save(model) names PyTorch's classes (torch.nn.modules.rnn.LSTM): the lamina object
        # at the same path, found by attribute lookup (nothing is imported), if it is trusted.
        import lamina
        obj = lamina
        for part in module.split(".")[1:] + name.split("."):
            obj = getattr(obj, part, None) if not part.startswith("__") else None
            if obj is None:
                return None
        if any(obj is trusted for _, trusted in entries):
            return obj
    return None


def _error(path, message):
    return _lamina.FormatError(f"[load] {path}: {message}")


class _StorageRef:
    """A storage named by the pickle's persistent id, materialised on first use."""

    def __init__(self, loader, type_name, key, location, numel):
        self.loader, self.type_name, self.key, self.location, self.numel = loader, type_name, key, location, numel
        self._array = None

    def array(self):
        if self._array is None:
            self._array = self.loader.storage_array(self)
        return self._array


class _Rebuild:
    """A call the allowlist admits, applied to the unpickled arguments."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


def _as_int(value, what, path):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(path, f"{what} must be an integer, got {value!r}")
    return value


# The pure-Python unpickler: its memo is a dict, where the C one allocates an array as long as the
# largest memo index a (hostile) pickle names.
class _Loader(pickle._Unpickler):
    def __init__(self, data, archive, prefix, path, map_location):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix, self.path, self.map_location = archive, prefix, path, map_location

    # ---- the allowlist ----
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("_codecs", "encode"):  # how protocol 2 spells bytes (NumPy array payloads)
            return _latin1_bytes
        if module in ("builtins", "__builtin__") and name in ("set", "frozenset", "slice", "complex"):
            return {"set": set, "frozenset": frozenset, "slice": slice, "complex": complex}[name]
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _Rebuild(self.rebuild_tensor)
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _Rebuild(self.rebuild_parameter)
        if module == "torch._tensor" and name == "_rebuild_from_type_v2":
            return _Rebuild(self.rebuild_from_type)
        if module == "torch" and name in _STORAGES:
            return name
        if module == "torch" and name in _UNSUPPORTED_STORAGES:
            raise _error(self.path, f"torch.{name} holds {_UNSUPPORTED_STORAGES[name]} values, a dtype lamina does "
                         "not have")
        if module == "torch" and name in _TORCH_DTYPES:
            return getattr(_lamina, {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
                                     "int": "int32"}.get(name, name))
        if module == "torch" and name == "Size":
            return tuple
        if (module, name) in _NUMPY_GLOBALS:
            if name == "_reconstruct":
                return _numpy_reconstruct
            if name == "scalar":
                return _numpy_scalar
            return _NDARRAY if name == "ndarray" else np.dtype
        trusted = _trusted(module, name)
        if trusted is not None:
            return trusted
        raise _error(self.path, f"the pickle names the global {module}.{name}, which lamina.load does not run "
                     "(only containers, Python scalars, tensors, dtypes and NumPy arrays are allowed, as with "
                     "torch.load(weights_only=True)); if you trust this file's source, pass that class or "
                     "function in lamina.serialization.safe_globals([...])")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise _error(self.path, f"unknown persistent id {pid!r} (expected ('storage', type, key, location, numel))")
        _, type_name, key, location, numel = pid
        if not isinstance(type_name, str) or type_name not in _STORAGES:
            raise _error(self.path, f"persistent id names storage type {type_name!r}")
        if not isinstance(key, str) or not isinstance(location, str):
            raise _error(self.path, f"bad storage key {key!r} or location {location!r}")
        _as_int(numel, "a storage's element count", self.path)
        return _StorageRef(self, type_name, key, location, numel)

    # ---- rebuilds ----
    def storage_array(self, ref):
        np_dtype, _ = _STORAGES[ref.type_name]
        itemsize = np.dtype(np_dtype).itemsize
        raw = self.archive.member(self.prefix + "data/" + ref.key)
        if ref.numel < 0 or ref.numel * itemsize != len(raw):
            raise _error(self.path, f"storage {ref.key} holds {len(raw)} bytes, not {ref.numel} x {itemsize}")
        return np.frombuffer(raw, dtype=np.dtype(np_dtype).newbyteorder("<"), count=ref.numel)

    def rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
        if not isinstance(storage, _StorageRef):
            raise _error(self.path, "_rebuild_tensor_v2 got no storage")
        offset = _as_int(offset, "a storage offset", self.path)
        if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride):
            raise _error(self.path, f"tensor size {size!r} and stride {stride!r} do not match")
        size = tuple(_as_int(s, "a size", self.path) for s in size)
        stride = tuple(_as_int(s, "a stride", self.path) for s in stride)
        if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
            raise _error(self.path, f"negative offset, size or stride ({offset}, {size}, {stride})")
        flat = storage.array()
        numel = math.prod(size)
        if numel > max(flat.shape[0], _MAX_REPEATED_ELEMENTS):
            raise _error(self.path, f"a tensor of size {size} repeats its storage of {flat.shape[0]} elements "
                         f"(stride {stride}); lamina.load copies tensors and refuses more elements than that")
        if numel > 0:
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= flat.shape[0]:
                raise _error(self.path, f"a tensor of size {size} and stride {stride} at offset {offset} reads past "
                             f"its storage of {flat.shape[0]} elements")
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(flat[offset:] if numel > 0 else flat[:0], shape=size,
                                               strides=tuple(s * item for s in stride), writeable=False)
        t = _to_lamina(view.copy(), _STORAGES[storage.type_name][1])  # its own memory, C-contiguous, 0-d kept
        self.archive.release(self.prefix + "data/" + storage.key)
        t = self.place(t, storage.location)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def rebuild_parameter(self, data, requires_grad=True, hooks=None, *rest):
        from .nn import Parameter

        return Parameter(data, requires_grad=bool(requires_grad))

    def rebuild_from_type(self, func, new_type, args, state):
        # A tensor subclass (nn.Parameter in some versions): rebuild the tensor, keep the plain type.
        if not isinstance(func, _Rebuild):
            raise _error(self.path, "_rebuild_from_type_v2 names a function outside the allowlist")
        return func(*args)

    def place(self, t, location):
        target = self.map_location
        if target is None:
            target = location
        elif isinstance(target, dict):
            target = target.get(location, location)
        elif callable(target) and not isinstance(target, (str, _lamina.device)):
            result = target(t, location)
            return t if result is None else result
        target = str(target)
        return t if target == "cpu" else t.to(target)  # DeviceNotAvailableError without that device


def _latin1_bytes(text, encoding="latin1"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is admitted only for latin1 text (bytes in protocol 2)")
    return text.encode("latin1")


class _NdarrayName:
    """numpy.ndarray as a pickle names it: only an argument of _reconstruct, never called (a call
    would allocate whatever shape the file asks for)."""

    def __call__(self, *args):
        raise pickle.UnpicklingError("numpy.ndarray called directly (NumPy's own pickles go through _reconstruct)")


_NDARRAY = _NdarrayName()


def _numpy_reconstruct(cls, shape, dtype):
    # NumPy pickles an array as _reconstruct(ndarray, (0,), b"b") and then its state (shape, dtype,
    # data), which __setstate__ checks against the data's length before taking it.
    if cls is not _NDARRAY or tuple(shape) != (0,):
        raise pickle.UnpicklingError("numpy _reconstruct is admitted only as NumPy writes it (an empty ndarray)")
    return np.ndarray.__new__(np.ndarray, (0,), dtype)


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or not isinstance(data, (bytes, type(None))):
        raise pickle.UnpicklingError("numpy scalar: bad arguments")
    return np.frombuffer(data, dtype=dtype, count=1)[0] if data is not None else dtype.type()


def _to_lamina(arr, lamina_dtype):
    """A tensor over `arr` (an owned, contiguous array: from_numpy shares it)."""
    if lamina_dtype == "bfloat16":  # the raw bits, widened exactly to float32 and narrowed back
        return _lamina.from_numpy((arr.astype(np.uint32) << 16).view(np.float32)).to(_lamina.bfloat16)
    return _lamina.from_numpy(arr)


class _Archive:
    """A torch zip archive, its stored members read from a private memory map of the file."""

    def __init__(self, f, path):
        self.path = path
        self._map = self._file = self.zip = None
        try:
            if isinstance(f, (str, os.PathLike)):
                self._file = open(f, "rb")
                if os.fstat(self._file.fileno()).st_size == 0:
                    raise _error(path, "the file is empty")
                self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_COPY)
                source = self._map
            else:
                source = f.read() if hasattr(f, "read") else bytes(f)
            try:
                self.zip = zipfile.ZipFile(_MapReader(source) if self._map is not None else io.BytesIO(source))
            except _MALFORMED as e:
                raise _error(path, f"not a PyTorch zip archive ({e}); lamina.load reads the format of PyTorch "
                             "1.6+") from None
        except BaseException:
            self.close()
            raise
        self._source = source
        self.names = self.zip.namelist()
        self.spans = {}

    def member(self, name):
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            raise _error(self.path, f"the archive has no {name}") from None
        if info.compress_type != zipfile.ZIP_STORED:  # torch.save never compresses; no inflating bombs
            raise _error(self.path, f"{name} is compressed (method {info.compress_type}); PyTorch archives store "
                         "their members uncompressed")
        start = info.header_offset
        header = self._source[start:start + 30] if start >= 0 else b""
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise _error(self.path, f"bad local header for {name}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        begin = start + 30 + name_len + extra_len
        end = begin + info.file_size
        if end > len(self._source):
            raise _error(self.path, f"{name} runs past the end of the file (truncated?)")
        self.spans[name] = (begin, end)
        return memoryview(self._source)[begin:end]

    def close(self):
        """Closes the zip, the map and the file (the tensors loaded are copies)."""
        if self.zip is not None:
            self.zip.close()
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:  # a traceback still holds a storage view: the collector closes it
                pass
        if self._file is not None:
            self._file.close()

    def release(self, name):
        """Drops the mapped pages of a member already copied out (they would be re-read from the
        file if touched again), so loading holds about one copy of the weights, not two."""
        if self._map is None or name not in self.spans or not hasattr(mmap, "MADV_DONTNEED"):
            return
        begin, end = self.spans[name]
        page = mmap.PAGESIZE
        first, last = (begin + page - 1) // page * page, end // page * page
        if last > first:
            self._map.madvise(mmap.MADV_DONTNEED, first, last - first)


class _MapReader(io.RawIOBase):
    """A seekable file over an mmap (zipfile wants a file; this reads without copying the map)."""

    def __init__(self, m):
        self.m, self.pos = m, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else len(self.m) + offset
        return self.pos

    def tell(self):
        return self.pos

    def readinto(self, b):
        chunk = self.m[self.pos:self.pos + len(b)]
        b[:len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)


def load(f, map_location=None, weights_only=True, **kwargs):
    """Reads an object written by `torch.save` (or `lamina.save`) without executing code.

    f: a path or a binary file object. map_location: None (where it was saved: "cpu", "cuda:0"),
    a device or device string for every tensor, a dict {saved location: device}, or a callable
    (tensor, saved_location) -> tensor. weights_only must stay True: lamina never runs a pickle's
    code. FormatError for a malformed or truncated archive and for any global outside the
    allowlist (the error names it); classes and functions passed to safe_globals /
    add_safe_globals join the allowlist (a whole pickled model: its module classes)."""
    if weights_only is False:
        raise _lamina.ConfigError("[load] weights_only=False would run the pickle's code; lamina.load only reads "
                                  "tensors, containers, scalars and NumPy arrays, and the classes passed to "
                                  "lamina.serialization.safe_globals")
    if kwargs.pop("mmap", None) not in (None, True, False) or kwargs:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(kwargs)}")
    path = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file object>")
    archive = _Archive(f, path)
    try:
        return _load_archive(archive, path, map_location)
    finally:
        archive.close()


def _load_archive(archive, path, map_location):
    pkls = [n for n in archive.names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkls) != 1:
        raise _error(path, "no <name>/data.pkl in the archive (not a torch.save file)")
    prefix = pkls[0][:-len("data.pkl")]
    data = bytes(archive.member(pkls[0]))
    try:
        # Every opcode parsed, and every length it declares backed by bytes, before any runs: the
        # unpickler preallocates some (BYTEARRAY8) from the declared length alone.
        for _ in pickletools.genops(data):
            pass
    except _MALFORMED as e:
        raise _error(path, f"malformed pickle ({type(e).__name__}: {e})") from None
    try:
        return _Loader(data, archive, prefix, path, map_location).load()
    except _lamina.FormatError:
        raise
    except _MALFORMED as e:
        raise _error(path, f"malformed pickle ({type(e).__name__}: {e})") from None


# ---- save ----

class _Global:
    """A global written by name (torch need not be importable)."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle's save_reduce wants a callable; only its name is written
        raise TypeError(f"{self.module}.{self.name} is a name in a file, not a function of lamina")


_REBUILD_TENSOR = _Global("torch._utils", "_rebuild_tensor_v2")


class _Storage:
    def __init__(self, key, type_name, numel):
        self.key, self.type_name, self.numel = key, type_name, numel


class _Writer(pickle._Pickler):
    def __init__(self, file):
        super().__init__(file, protocol=2, fix_imports=False)  # builtins.set, not Python 2's __builtin__.set
        self.storages = []  # (key, bytes)
        # Python handles of one tensor (a parameter read twice, tied weights) -> the first handle,
        # so pickle's memo writes it once and load gives back one shared tensor.
        self.handles = {}

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _lamina.Tensor):
            key = (obj.data_ptr(), tuple(obj.shape), tuple(obj.stride()), str(obj.dtype), str(obj.device),
                   obj.requires_grad)
            obj = self.handles.setdefault(key, obj)
        elif isinstance(obj, _lamina.dtype):
            obj = _Global("torch", str(obj).split(".")[-1])
        elif callable(obj) and str(getattr(obj, "__module__", "")).startswith("numpy._core."):
            # NumPy 2 names its array-rebuild helpers numpy._core.*, which NumPy 1 cannot import;
            # numpy.core.* resolves in both (NumPy 2 keeps it as an alias), so files stay portable.
            obj = _Global("numpy.core." + obj.__module__[len("numpy._core."):], obj.__qualname__)
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
            return
        super().save(obj, save_persistent_id)

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", _Global("torch", obj.type_name), obj.key, "cpu", obj.numel)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, _lamina.Tensor):
            return (_REBUILD_TENSOR, self.tensor_args(obj.detach(), obj.requires_grad))
        return NotImplemented

    def tensor_args(self, t, requires_grad):
        name = str(t.dtype).split(".")[-1]
        if name not in _STORAGE_OF_DTYPE:
            raise _lamina.DTypeError(f"[save] no PyTorch storage type for {t.dtype}")
        c = t.cpu().contiguous()
        if name == "bfloat16":
            raw = (c.float().numpy().view(np.uint32) >> 16).astype("<u2").tobytes()
        else:
            raw = c.numpy().astype(np.dtype(_STORAGES[_STORAGE_OF_DTYPE[name]][0]).newbyteorder("<"), copy=False) \
                .tobytes()
        key = str(len(self.storages))
        self.storages.append((key, raw))
        shape = tuple(c.shape)
        strides, acc = [], 1
        for n in reversed(shape):
            strides.append(acc)
            acc *= max(n, 1)
        storage = _Storage(key, _STORAGE_OF_DTYPE[name], int(np.prod(shape, dtype=np.int64)) if shape else 1)
        return (storage, 0, shape, tuple(reversed(strides)), bool(requires_grad), collections.OrderedDict())


def save(obj, f, archive_name="archive"):
    """Writes `obj` (tensors, parameters, dicts / lists / tuples of them, Python scalars and strings)
    in PyTorch's format, which `torch.load` reads (also with weights_only=True). Each tensor gets a
    storage of its own (views are saved as their values; one tensor reached twice is saved once).
    A whole lamina.nn.Module pickles by class reference, as torch.save(model) does: lamina.load
    reads it back when its classes are passed in safe_globals. f: a path or a binary file object."""
    buf = io.BytesIO()
    writer = _Writer(buf)
    writer.dump(obj)
    members = [(f"{archive_name}/data.pkl", buf.getvalue())]
    members += [(f"{archive_name}/data/{key}", raw) for key, raw in writer.storages]
    members += [(f"{archive_name}/version", b"3\n"), (f"{archive_name}/byteorder", b"little")]
    target = open(f, "wb") if isinstance(f, (str, os.PathLike)) else f
    try:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as z:
            for name, raw in members:
                z.writestr(_aligned(z, name), raw)
    finally:
        if target is not f:
            target.close()


def _aligned(z, name):
    """A ZipInfo whose data starts on a 64-byte boundary (PyTorch aligns storages so they can be
    memory-mapped), padding the local header's extra field."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    offset = z.fp.tell() + 30 + len(name.encode("utf-8"))
    pad = (-offset - 4) % 64
    info.extra = struct.pack("<HH", 0xF7FF, pad) + b"Z" * pad
    return info

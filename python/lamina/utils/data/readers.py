"""File readers: IDX (raw or gzip), NumPy .npy / .npz, numeric CSV and raw token files.

These are plain functions (not ``lamina.load``, which is for checkpoints) so that a dataset can
be built from whatever file its data came in. Every reader raises ``lamina.IOError`` (an
``OSError``) when the file cannot be opened and ``lamina.FormatError`` naming the path and what
was expected when its contents are malformed or truncated.
"""
from ... import _lamina

__all__ = ["read_idx", "load_npy", "save_npy", "load_npz", "save_npz", "read_csv", "read_csv_header",
           "read_tokens"]

_r = _lamina._readers

read_idx = _lamina._data.read_idx


def load_npy(path, mmap=False):
    """Reads a NumPy ``.npy`` file into a tensor.

    Format versions 1.0/2.0/3.0, either byte order, C or Fortran order. bool, uint8, int8, int32,
    int64, float16, float32 and float64 load as themselves; int16/uint16 widen to int32 and uint32
    to int64. With ``mmap=True`` the tensor views the memory-mapped file without copying (like
    ``np.load(mmap_mode="c")``: in-place writes stay private to this process); that needs native
    byte order and a type lamina holds as is, else ``lamina.DTypeError``.
    """
    return _r.load_npy(str(path), mmap)


def save_npy(path, tensor):
    """Writes ``tensor`` as a little-endian, C-order ``.npy`` file that ``np.load`` reads.
    bfloat16 raises ``lamina.DTypeError`` (NumPy has no bfloat16)."""
    _r.save_npy(str(path), tensor)


def load_npz(path):
    """Reads every array of a ``.npz`` archive (``np.savez`` or ``np.savez_compressed``) into a
    dict name -> tensor, names without the ``.npy`` suffix as ``np.load`` gives them."""
    return _r.load_npz(str(path))


def save_npz(path, arrays=None, compress=False, **kwargs):
    """Writes a dict (and/or keyword arguments) of tensors as a ``.npz`` archive; ``compress=True``
    deflates the members like ``np.savez_compressed``."""
    items = dict(arrays or {}, **kwargs)
    _r.save_npz(str(path), items, compress)


def read_csv(path, delimiter=",", header=False, columns=None, dtype=None, comment="#"):
    """Reads a numeric CSV file into a 2-D (rows, columns) tensor of ``dtype`` (float32 default,
    or float64).

    ``delimiter=" "`` splits on runs of blanks (``np.savetxt``'s default output). ``header=True``
    skips the first non-comment line. ``columns`` keeps only these columns, in order: ints
    (negative from the end) or, with ``header=True``, column names. Lines starting with
    ``comment`` and blank lines are skipped. A cell that is not a number raises
    ``lamina.FormatError`` naming the path, line and column.
    """
    cols = []
    if columns is not None:
        cols = list(columns)
        if any(isinstance(c, str) for c in cols):
            if not header:
                raise _lamina.ValueError("read_csv: columns given by name need header=True")
            names = _r.read_csv_header(str(path), delimiter, comment)
            missing = [c for c in cols if isinstance(c, str) and c not in names]
            if missing:
                raise _lamina.ShapeError(f"read_csv: no column named {missing} in '{path}'; header has {names}")
            cols = [names.index(c) if isinstance(c, str) else c for c in cols]
    return _r.read_csv(str(path), delimiter, header, cols, dtype if dtype is not None else "float32", comment)


def read_csv_header(path, delimiter=",", comment="#"):
    """The column names in the first non-comment line of a CSV file."""
    return _r.read_csv_header(str(path), delimiter, comment)


def read_tokens(path, dtype="uint8", offset=0):
    """A raw binary file (token ids, bytes of text) as a 1-D tensor, skipping ``offset`` header
    bytes.

    ``dtype`` names the element type in the file: a lamina dtype or a NumPy name. For lamina dtypes
    (uint8, int8, int32, int64, float16, bfloat16, float32, float64, bool) the tensor views the
    memory-mapped file without copying; ``"uint16"``/``"int16"`` (GPT-2 style token files) widen
    to int32 and ``"uint32"`` to int64, which copies. A size after ``offset`` that is not a
    multiple of the item size raises ``lamina.FormatError``.
    """
    return _r.read_tokens(str(path), dtype, offset)

"""Coverage-guided fuzzing (atheris) of lamina.load, the reader of PyTorch's .pt files: any input
must load or raise lamina.FormatError (or ConfigError / DTypeError for a well-formed file lamina
cannot represent), never another exception, a hang or a crash, and never run the pickle's code.

Usage: .venv/bin/python fuzz/fuzz_pt_load.py -max_total_time=30 build/fuzz/pt_corpus fuzz/pt_corpus
"""
import io
import os
import sys
import zipfile

import atheris

os.environ.setdefault("LAMINA_FORCE_CPU", "1")

with atheris.instrument_imports(include=["lamina.serialization", "lamina.nn.module"]):
    import lamina
    import lamina.nn.module  # noqa: F401
    import lamina.serialization  # noqa: F401

ALLOWED = (lamina.FormatError,)


def _archive_around(pickle_bytes):
    """A well-formed archive whose data.pkl is the input (so mutations reach the unpickler)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/data/0", bytes(range(24)))
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


# Classes trusted for inputs starting with "M", so mutated whole-module pickles reach
# Module.__setstate__ (state checks, layer rebuild under the allocation budget).
TRUSTED = [lamina.nn.Linear, lamina.nn.LSTM, lamina.nn.GRU, lamina.nn.Embedding, lamina.nn.Dropout,
           lamina.nn.LayerNorm, lamina.nn.MultiheadAttention, lamina.nn.Sequential, lamina.nn.ModuleList]


def one_input(data: bytes):
    # An input starting with "PK" is a whole archive; anything else is the pickle inside one.
    trusted = data[:1] == b"M"
    if trusted:
        data = data[1:]
    source = data if data[:2] == b"PK" else _archive_around(data)
    try:
        with lamina.serialization.safe_globals(TRUSTED if trusted else []):
            lamina.load(io.BytesIO(source))
    except ALLOWED:
        pass
    except MemoryError:
        raise  # sizes are checked before allocating: an input that asks for too much is a bug


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()

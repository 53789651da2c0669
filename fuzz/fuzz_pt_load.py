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

with atheris.instrument_imports(include=["lamina.serialization"]):
    import lamina
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


def one_input(data: bytes):
    # An input starting with "PK" is a whole archive; anything else is the pickle inside one.
    source = data if data[:2] == b"PK" else _archive_around(data)
    try:
        lamina.load(io.BytesIO(source))
    except ALLOWED:
        pass
    except MemoryError:
        raise  # sizes are checked before allocating: an input that asks for too much is a bug


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()

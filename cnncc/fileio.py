"""Reading input files safely: only regular files, size known before reading (a FIFO, a device such as
``/dev/zero``, a socket or a folder is refused in one line instead of hanging or reading forever)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cnncc.errors import CnnccError, InvalidModelError


def regular_file_size(path: str | Path, what: str, error: type[CnnccError] = InvalidModelError) -> int:
    """The size in bytes of ``path`` after checking it is a regular file; ``error`` (one line) otherwise.
    ``what`` names what was expected (e.g. ``"a model file (.onnx or .tflite)"``)."""
    p = Path(path)
    if "\0" in str(p):
        raise error(f"{str(p)!r}: a path cannot contain a NUL byte")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise error(f"{p}: no such file") from None
    except (OSError, ValueError) as e:
        raise error(f"{p}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{p}: is a directory, expected {what}")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{p}: not a regular file (a FIFO, socket or device), expected {what}")
    return st.st_size

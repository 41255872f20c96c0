"""Every file cnncc writes goes through here: atomic single files and atomic output folders.

* :func:`write_file` writes a temp file beside the target and renames it into place; it refuses to replace
  anything that is not a regular file (a device node, FIFO, socket or folder is never replaced);
* :func:`write_folder` writes a whole set of files (``-o DIR``: reports and backend artefacts) into a temp folder
  beside ``DIR`` and renames it into place, so a killed or failing run leaves either the old folder or the
  complete new one, never a mix, and files of an earlier compile of another model are not mixed in. A folder
  that exists and holds files that are not a cnncc output is refused rather than replaced.

Files and folders get the user's umask (``0666 & ~umask`` / ``0777 & ~umask``). Every ``OSError`` becomes a
one-line :class:`cnncc.errors.UsageError` (exit 2).
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path

from cnncc.errors import UsageError

#: the marker file every output folder gets (so a later run knows it may replace the folder)
MARKER = ".cnncc-output"


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def _err(what: str, path: Path, e: OSError) -> UsageError:
    return UsageError(f"cannot {what} {str(path) or repr(str(path))}: {e.strerror or e}")


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not str(path) or "\0" in str(path):
        raise UsageError(f"invalid output path {str(path)!r}")
    return p


def write_file(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + rename). Refuses non-regular files."""
    p = _check_path(path)
    preflight_file(p)
    parent = p.parent if str(p.parent) else Path(".")
    tmp = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # lazily: only a write needs it (start-up)

        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
        tmp = None
    except OSError as e:
        raise _err("write", p, e) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _replaceable(folder: Path) -> bool:
    """An existing folder may be replaced if it is empty or an earlier cnncc output."""
    try:
        names = os.listdir(folder)
    except OSError as e:
        raise _err("read", folder, e) from None
    return not names or MARKER in names or "report.json" in names or "compare.json" in names


def preflight_file(path: str | Path) -> None:
    """Refuse, before any work is done, a file path :func:`write_file` would refuse (a device, FIFO, folder)."""
    p = _check_path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return
    except OSError as e:
        raise _err("write", p, e) from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"refusing to replace {p}: it is not a regular file")


def _refuse_unusable_folder(out: Path, st: os.stat_result) -> None:
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"refusing to replace {out}: it exists and is not a folder")
    if not _replaceable(out):
        raise UsageError(f"refusing to replace {out}: the folder holds files that are not a cnncc output "
                         f"(give an empty or new folder)")


def preflight_folder(folder: str | Path) -> None:
    """Refuse, before any work is done, an output folder :func:`write_folder` would refuse."""
    out = _check_path(folder)
    try:
        st = os.stat(out)
    except FileNotFoundError:
        return
    except OSError as e:
        raise _err("write", out, e) from None
    _refuse_unusable_folder(out, st)


def write_folder(folder: str | Path, files: Mapping[str, str | bytes]) -> None:
    """Write ``files`` (relative path -> content) as the complete new contents of ``folder``, atomically."""
    out = _check_path(folder)
    for rel in files:
        parts = Path(rel).parts
        if not rel or Path(rel).is_absolute() or ".." in parts or "\0" in rel:
            raise UsageError(f"refusing to write {rel!r} outside the output folder")
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise _err("write", out, e) from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            out = out.resolve()
            try:
                st = os.stat(out)
            except OSError as e:
                raise _err("write", out, e) from None
        _refuse_unusable_folder(out, st)
    parent = out.parent if str(out.parent) else Path(".")
    tmp = old = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent))
        mask = _umask()
        os.chmod(tmp, 0o777 & ~mask)
        for rel, data in {MARKER: "cnncc output folder: replaced as a whole by the next run\n", **files}.items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data.encode() if isinstance(data, str) else data)
            os.chmod(dest, 0o666 & ~mask)
        for d in sorted({p.parent for p in tmp.rglob("*")} - {tmp}):
            os.chmod(d, 0o777 & ~mask)
        if st is not None:
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.rmdir(old)
            os.rename(out, old)
        os.rename(tmp, out)
        tmp = None
    except OSError as e:
        if old is not None and not out.exists():
            os.rename(old, out)
            old = None
        raise _err("write", out, e) from None
    finally:
        for leftover in (tmp, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)

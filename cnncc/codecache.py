"""A compiled-code cache for the methods ``dataclasses`` generates (start-up time, issue 16).

``@dataclass`` writes the source of ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and, for frozen
records, ``__setattr__``/``__delattr__`` as text and runs ``exec`` on it: the parser and compiler, once per method,
at every start of every process. Measured with callgrind on CPython 3.11, a frozen six-field record costs about
4.1 M instructions to create, 85 % of it in ``exec``; the ~100 records a ``cnncc compile`` imports cost about a
third of a one-layer compile (``bench/startup.py``). Python caches the byte code of modules in ``.pyc`` files but not
these generated methods; this module does the same for them.

How: :func:`install` points the ``exec`` that ``dataclasses`` looks up (its module global, which shadows the
builtin) at :func:`_exec`, which compiles a source text once and keeps the code object, keyed by the *whole*
source text. The same text always compiles to the same code object, and ``exec`` of that object with the caller's
globals and namespace does exactly what ``exec`` of the text does, so nothing changes but the time; anything that
is not a plain ``str`` goes to the builtin untouched. Compilation uses ``dont_inherit=True`` so no ``__future__``
flag of this module leaks into the generated methods (``dataclasses`` itself has none).

The code objects persist in ``cnncc/__pycache__/dataclass-code.<cache tag>.bin`` (``marshal``, behind the
interpreter's byte-code magic number, so another Python version never reads them). The file is written like a
``.pyc``: at exit when this process compiled something new, unless byte-code writing is off
(``PYTHONDONTWRITEBYTECODE``, ``sys.dont_write_bytecode``), atomically (temporary file + rename), best effort (a
read-only install keeps working, only slower). ``cnncc.codecache.main()`` (run by ``make pyc``) imports every
cnncc module and writes the file whatever the byte-code setting; a missing, stale or damaged file only costs the
compile time. Set ``CNNCC_NO_CODECACHE=1`` to turn the cache off, ``CNNCC_CODECACHE_FILE`` to use another file.
"""

import dataclasses
import marshal
import os
import sys
from types import CodeType
from typing import Any

_FILE = os.environ.get("CNNCC_CODECACHE_FILE") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "__pycache__", f"dataclass-code.{sys.implementation.cache_tag}.bin")
_MAX_ENTRIES = 8192  # beyond this a rewrite keeps only what this process used (old sources of edited records)

_builtin_exec = exec
_codes: dict[str, CodeType] = {}  # source text -> its code object
_used: set[str] = set()
_new = 0  # sources compiled by this process
_installed = False


def _magic() -> bytes:
    from importlib.util import MAGIC_NUMBER

    return MAGIC_NUMBER


def _exec(source: Any, globals: Any = None, locals: Any = None, /, **kwargs: Any) -> None:
    """``exec`` with the code of a source text compiled once per text (see the module docstring)."""
    global _new
    if globals is None:  # the builtin's defaults are the *caller's* namespaces, not this function's
        frame = sys._getframe(1)
        globals, locals = frame.f_globals, (frame.f_locals if locals is None else locals)
    if type(source) is not str:
        return _builtin_exec(source, globals, locals, **kwargs)
    code = _codes.get(source)
    if code is None:
        code = compile(source, "<string>", "exec", dont_inherit=True)
        _codes[source] = code
        _new += 1
    _used.add(source)
    return _builtin_exec(code, globals, locals, **kwargs)


def _load() -> None:
    try:
        with open(_FILE, "rb") as f:
            data = f.read()
    except OSError:
        return
    magic = _magic()
    if not data.startswith(magic):
        return
    try:
        table = marshal.loads(data[len(magic):])
    except (EOFError, ValueError, TypeError):
        return
    if isinstance(table, dict):
        _codes.update((k, v) for k, v in table.items() if type(k) is str and type(v) is CodeType)


def save(force: bool = False) -> bool:
    """Write the cache file when this process compiled something new (or ``force``); True when written."""
    if not _installed or (not force and (_new == 0 or sys.dont_write_bytecode)):
        return False
    table = _codes if len(_codes) <= _MAX_ENTRIES else {k: _codes[k] for k in _used}
    tmp = f"{_FILE}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(_FILE), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_magic() + marshal.dumps(table))
        os.replace(tmp, _FILE)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True


def install() -> None:
    """Route ``dataclasses``' ``exec`` through the cache (idempotent; a no-op under ``CNNCC_NO_CODECACHE``)."""
    global _installed
    if _installed or os.environ.get("CNNCC_NO_CODECACHE"):
        return
    _installed = True
    _load()
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    import atexit

    atexit.register(save)


def _build() -> int:
    """Import every cnncc module (what imports cleanly) and write the cache; returns the number of entries."""
    import importlib
    import pkgutil

    import cnncc

    install()
    for mod in pkgutil.walk_packages(cnncc.__path__, "cnncc."):
        if mod.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(mod.name)
        except Exception:  # noqa: BLE001 - an optional dependency missing: its records are compiled when used
            continue
    table = {k: _codes[k] for k in _used}  # only what the current sources generate
    _codes.clear()
    _codes.update(table)
    return len(table) if save(force=True) else 0


def main() -> int:
    """Build the cache file (``make pyc``); 0 when written."""
    n = _build()
    print(f"cnncc.codecache: {n} generated methods cached in {_FILE}" if n else
          f"cnncc.codecache: could not write {_FILE}", file=sys.stderr)
    return 0 if n else 1

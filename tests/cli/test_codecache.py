"""The dataclass code cache (cnncc/codecache.py): the methods it hands out behave exactly as the ones
``dataclasses`` compiles itself, it survives a round trip through its file, refuses damaged or foreign files, and
a cache built by ``main()`` covers everything a compile imports (no method compiled again)."""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from cnncc import codecache

RECORDS = textwrap.dedent('''
    from __future__ import annotations
    from dataclasses import dataclass, field, replace, FrozenInstanceError, fields

    @dataclass(frozen=True)
    class P:
        """a frozen record"""
        a: int
        b: tuple[int, ...] = (1, 2)
        c: tuple[int, ...] = field(default_factory=tuple)

    @dataclass(order=True)
    class Q:
        x: float
        y: str = "s"

    @dataclass(frozen=True, eq=False, repr=False, kw_only=True)
    class R:
        k: int = 3

    def probe():
        p, p2 = P(1), P(1, (1, 2), ())
        out = [repr(p), p == p2, hash(p) == hash(p2), P.__init__.__annotations__, P.__match_args__,
               replace(p, a=5).a, [f.name for f in fields(P)], repr(Q(1.0)), Q(1.0) < Q(2.0), R(k=4).k,
               P.__init__.__defaults__ is None and P.__init__.__kwdefaults__ is None]
        try:
            p.a = 3
        except FrozenInstanceError as e:
            out.append(type(e).__name__)
        try:
            R(4)
        except TypeError:
            out.append("kw_only")
        return out
''')


def _probe(tmp_path: Path, name: str, cached: bool) -> list:
    """Define the records of RECORDS in a fresh module with dataclasses' exec patched or not; their behaviour."""
    import importlib.util

    path = tmp_path / f"{name}.py"
    path.write_text(RECORDS)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    saved = dataclasses.__dict__.get("exec")
    try:
        if cached:
            dataclasses.exec = codecache._exec  # type: ignore[attr-defined]
        else:
            dataclasses.__dict__.pop("exec", None)
        spec.loader.exec_module(mod)
    finally:
        if saved is None:
            dataclasses.__dict__.pop("exec", None)
        else:
            dataclasses.exec = saved  # type: ignore[attr-defined]
        del sys.modules[name]
    return mod.probe()


def test_cached_methods_behave_as_compiled_ones(tmp_path):
    plain = _probe(tmp_path, "_cc_plain", cached=False)
    first = _probe(tmp_path, "_cc_first", cached=True)   # compiled by the cache
    again = _probe(tmp_path, "_cc_again", cached=True)   # served from the cache
    assert plain == first == again
    assert plain[-2:] == ["FrozenInstanceError", "kw_only"]
    assert plain[3] == {"a": "int", "b": "tuple[int, ...]", "c": "tuple[int, ...]", "return": None}


def test_cache_serves_the_compiled_code_object_of_the_same_text():
    src = "def __create_fn__():\n def f(self):\n  return 41 + 1\n return f\n"
    ns1: dict = {}
    ns2: dict = {}
    codecache._exec(src, {}, ns1)
    codecache._exec(src, {}, ns2)
    f1, f2 = ns1["__create_fn__"](), ns2["__create_fn__"]()
    assert f1.__code__ is f2.__code__ and f1(None) == 42
    assert codecache._codes[src].co_filename == "<string>"
    def caller() -> int:
        here = 5  # noqa: F841 - read by the executed text through the caller's locals
        ns: dict = {}
        codecache._exec("ns['v'] = here + 1")  # no namespaces given: the caller's, as the builtin
        return ns["v"]

    assert caller() == 6
    code = compile("y = 7", "<x>", "exec")
    ns3: dict = {}
    codecache._exec(code, ns3)  # a code object goes to the builtin exec untouched
    assert ns3["y"] == 7


def test_file_round_trip_and_damaged_files_are_ignored(tmp_path, monkeypatch):
    f = tmp_path / "cache.bin"
    monkeypatch.setattr(codecache, "_FILE", str(f))
    monkeypatch.setattr(codecache, "_codes", {})
    monkeypatch.setattr(codecache, "_used", set())
    monkeypatch.setattr(codecache, "_new", 0)
    src = "def __create_fn__():\n def g():\n  return 'g'\n return g\n"
    codecache._exec(src, {}, {})
    assert codecache._new == 1
    assert codecache.save(force=True) and f.read_bytes().startswith(codecache._magic())
    codecache._codes.clear()
    codecache._load()
    assert list(codecache._codes) == [src]
    assert codecache._codes[src].co_consts == compile(src, "<string>", "exec", dont_inherit=True).co_consts
    for damaged in (b"", b"\x00\x01\x02\x03garbage", codecache._magic() + b"\xff\x00",
                    codecache._magic() + marshal.dumps(["not", "a", "dict"]),
                    codecache._magic() + marshal.dumps({1: 2, "x": "not code"})):
        f.write_bytes(damaged)
        codecache._codes.clear()
        codecache._load()
        assert codecache._codes == {}


def test_nothing_written_when_bytecode_writing_is_off(tmp_path, monkeypatch):
    f = tmp_path / "cache.bin"
    monkeypatch.setattr(codecache, "_FILE", str(f))
    monkeypatch.setattr(codecache, "_new", 1)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert not codecache.save() and not f.exists()


def test_an_unwritable_folder_is_no_error(tmp_path, monkeypatch):
    monkeypatch.setattr(codecache, "_new", 1)
    (tmp_path / "file").write_text("")  # a file where the cache folder should be: cannot be created, even by root
    monkeypatch.setattr(codecache, "_FILE", str(tmp_path / "file" / "x" / "cache.bin"))
    assert not codecache.save(force=True)
    assert not list(tmp_path.glob("**/*.tmp"))


def test_a_built_cache_covers_what_a_compile_imports(tmp_path, sample_models):
    """``main()`` (``make pyc``) imports every module; a later process compiling a model compiles no dataclass
    method itself and takes more than a hundred from the file."""
    env = {**os.environ, "CNNCC_CODECACHE_FILE": str(tmp_path / "cache.bin")}
    env.pop("CNNCC_NO_CODECACHE", None)
    subprocess.run([sys.executable, "-c", "import cnncc.codecache as c; raise SystemExit(c.main())"], env=env,
                   check=True, capture_output=True)
    model = str(sample_models["cgra_baseline"])
    code = (f"import sys\nfrom cnncc import codecache as c\nfrom cnncc.cli import main\ntry:\n"
            f"    main(['compile', {model!r}, '--target', 'ethos-u65-256', '-q', '-f', 'json'])\n"
            f"except SystemExit:\n    pass\nsys.stderr.write(f'CC {{c._new}} {{len(c._used)}}')")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    new, used = map(int, r.stderr.rsplit("CC ", 1)[1].split())
    assert new == 0 and used > 100, (new, used)

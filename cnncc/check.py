"""``cnncc check budgets.toml``: gate many model × target × budget entries at once, with JUnit XML.

The budgets file (every key is checked for its type; an unknown key, a wrong type or a bad value is exit 2 naming
the entry and the key)::

    schema_version = 1                   # required, the integer 1

    [[check]]                            # one table per entry (at least one)
    name = "mobilenet on u65"            # optional string; default "<model stem> on <target>"; unique
    model = "models/mbv1.onnx"           # required string: the ONNX file, relative to this file
    target = "ethos-u65-256"             # required string: shipped name or a TOML path (relative to this file)
    pipeline = "fold-bn,fuse-act"        # optional string; default: the target's ("" for none)
    set = { system = "Ethos_U65_High_End" }   # optional table: target overrides (typed values, dotted keys)
    input_shape = "x=1x3x224x224"        # optional: one input as a string, or a table { x = "1x3x224x224" }
                                         # (values strings "1x3x224x224" or arrays [1, 3, 224, 224])
    budget_ms = 2.0                      # at least one of budget_ms, budget_cycles, budget_energy_uj,
                                         # budget_sram_bytes: finite numbers >= 0
"""

from __future__ import annotations

import math
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from cnncc.errors import CnnccError, UsageError
from cnncc.gate import BUDGETS, GateResult, check_budgets

ENTRY_KEYS = {"name", "model", "target", "pipeline", "set", "input_shape"} | {f"budget_{b}" for b in BUDGETS}

#: largest budgets file read (bytes)
MAX_BUDGETS_BYTES = 16 << 20


@dataclass(frozen=True)
class Entry:
    name: str
    model: Path
    target: str
    pipeline: str | None
    overrides: tuple[tuple[str, Any], ...]
    budgets: dict[str, float | None]
    input_shape: tuple[tuple[str, str], ...] = ()


@dataclass
class EntryResult:
    entry: Entry
    gates: list[GateResult] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0
    totals: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.error is None and all(g.passed for g in self.gates)


def _toml_type(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
            dict: "a table"}.get(type(v), type(v).__name__)


def _read(path: Path) -> dict:
    from cnncc.fileio import regular_file_size

    size = regular_file_size(path, "a budgets TOML file", UsageError)
    if size > MAX_BUDGETS_BYTES:
        raise UsageError(f"{path}: {size} bytes, over the {MAX_BUDGETS_BYTES}-byte limit of a budgets file")
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_BUDGETS_BYTES + 1).decode("utf-8")
        return tomllib.loads(text)
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text (byte {e.start}); a budgets file is TOML") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: invalid TOML: {e}") from None


def _string(c: dict, key: str, where: str, required: bool = False) -> str | None:
    v = c.get(key)
    if v is None:
        if required:
            raise UsageError(f"{where}: '{key}' (a string) is required")
        return None
    if not isinstance(v, str):
        raise UsageError(f"{where}: '{key}' must be a string, got {_toml_type(v)}")
    if required and not v.strip():
        raise UsageError(f"{where}: '{key}' must not be empty")
    return v


def _shape_text(v: Any, where: str, name: str) -> str:
    from cnncc.frontend.onnx.reader import parse_shape

    if isinstance(v, list) and v and all(isinstance(d, int) and not isinstance(d, bool) for d in v):
        v = "x".join(str(d) for d in v)
    if not isinstance(v, str):
        raise UsageError(f"{where}: input_shape.{name} must be a string like \"1x3x224x224\" or an array of "
                         f"integers, got {_toml_type(v)}")
    try:
        parse_shape(v)
    except CnnccError as e:
        raise UsageError(f"{where}: input_shape.{name}: {e}") from None
    return v


def _input_shapes(v: Any, where: str) -> tuple[tuple[str, str], ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        if "=" not in v:
            raise UsageError(f"{where}: input_shape must be \"name=1x3x224x224\" or a table "
                             f"{{ name = \"1x3x224x224\" }}, got {v!r}")
        name, shape = (p.strip() for p in v.split("=", 1))
        if not name:
            raise UsageError(f"{where}: input_shape {v!r} names no input")
        return ((name, _shape_text(shape, where, name)),)
    if not isinstance(v, dict):
        raise UsageError(f"{where}: input_shape must be a string \"name=1x3x224x224\" or a table, got "
                         f"{_toml_type(v)}")
    return tuple((str(k), _shape_text(s, where, k)) for k, s in v.items())


def parse_budgets_file(path: str | Path) -> list[Entry]:
    """Read and validate a budgets file; raises UsageError (exit 2) naming what is wrong."""
    path = Path(path)
    data = _read(path)
    if type(data.get("schema_version")) is not int or data["schema_version"] != 1:
        raise UsageError(f"{path}: schema_version must be the integer 1")
    unknown = set(data) - {"schema_version", "check"}
    if unknown:
        raise UsageError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: check, schema_version")
    checks = data.get("check")
    if not isinstance(checks, list) or not checks:
        raise UsageError(f"{path}: no [[check]] entries")
    entries, names = [], set()
    for i, c in enumerate(checks, 1):
        where = f"{path}: [[check]] #{i}"
        if not isinstance(c, dict):
            raise UsageError(f"{where}: must be a table ([[check]]), got {_toml_type(c)}")
        bad = set(c) - ENTRY_KEYS
        if bad:
            raise UsageError(f"{where}: unknown key(s) {sorted(bad)}; allowed: {sorted(ENTRY_KEYS)}")
        model = _string(c, "model", where, required=True)
        target = _string(c, "target", where, required=True)
        assert model is not None and target is not None
        pipeline = _string(c, "pipeline", where)
        budgets: dict[str, float | None] = {}
        for b in BUDGETS:
            v = c.get(f"budget_{b}")
            if v is not None:
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                    raise UsageError(f"{where}: budget_{b} must be a finite number >= 0, got {v!r}")
                budgets[b] = float(v)
        if not budgets:
            raise UsageError(f"{where}: give at least one of {', '.join('budget_' + b for b in BUDGETS)}")
        if target.endswith(".toml") or "/" in target:
            target = str(path.parent / target)
        sets = c.get("set", {})
        if not isinstance(sets, dict):
            raise UsageError(f"{where}: 'set' must be a table, got {_toml_type(sets)}")
        name = _string(c, "name", where) or f"{Path(model).stem} on {c['target']}"
        if name in names:
            raise UsageError(f"{where}: duplicate entry name {name!r}")
        names.add(name)
        entries.append(Entry(name, path.parent / model, target, pipeline,
                             tuple((k, v) for k, v in sets.items()), budgets,
                             _input_shapes(c.get("input_shape"), where)))
    return entries


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


def run_entry(entry: Entry, log: Callable[[str], None] | None = _stderr) -> EntryResult:
    """Compile one entry and gate it. An entry that cannot run records its error and exit code, and ``log``
    gets its one line (``cnncc: error: <entry>: <why>``) so it is on stderr, not only in the table."""
    from cnncc.driver import compile_model
    from cnncc.target import load_target

    res = EntryResult(entry)
    try:
        target = load_target(entry.target, list(entry.overrides))
        report = compile_model(entry.model, target, entry.pipeline, input_shapes=dict(entry.input_shape))
        res.totals = report.totals
        res.gates = check_budgets(report.totals, report.layers, entry.budgets, target.name)
        res.exit_code = 0 if res.passed else 1
    except CnnccError as e:
        res.error, res.exit_code = " ".join(str(e).split()), e.exit_code
        if log is not None:
            log(f"cnncc: error: {entry.name}: {res.error}")
    return res


def junit_xml(results: list[EntryResult], suite: str = "cnncc.check") -> str:
    """JUnit XML with one test case per entry (failure = a budget exceeded, error = it could not run)."""
    fails = sum(1 for r in results if r.error is None and not r.passed)
    errors = sum(1 for r in results if r.error is not None)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites><testsuite name={quoteattr(suite)} tests="{len(results)}" failures="{fails}" '
           f'errors="{errors}">']
    for r in results:
        out.append(f'  <testcase classname={quoteattr(suite)} name={quoteattr(r.entry.name)}>')
        if r.error is not None:
            out.append(f'    <error message={quoteattr(r.error)} type="exit{r.exit_code}"/>')
        else:
            failed = [g for g in r.gates if not g.passed]
            if failed:
                msg = "; ".join(g.message() for g in failed)
                out.append(f'    <failure message={quoteattr(msg)}>{escape(msg)}</failure>')
            out.append(f'    <system-out>{escape("; ".join(g.message() for g in r.gates))}</system-out>')
        out.append("  </testcase>")
    out.append("</testsuite></testsuites>")
    return "\n".join(out) + "\n"

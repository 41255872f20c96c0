"""``cnncc check budgets.toml``: gate many model × target × budget entries at once, with JUnit XML.

The budgets file::

    schema_version = 1

    [[check]]
    name = "mobilenet on u65"            # optional; default "<model stem> on <target>"
    model = "models/mbv1.onnx"           # relative to this file
    target = "ethos-u65-256"             # shipped name or a TOML path (relative to this file)
    pipeline = "fold-bn,fuse-act"        # optional; default: the target's
    set = { system = "Ethos_U65_High_End" }   # optional target overrides
    budget_ms = 2.0                      # any of budget_ms, budget_cycles, budget_energy_uj, budget_sram_bytes
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from cnncc.errors import CnnccError, UsageError
from cnncc.gate import BUDGETS, GateResult, check_budgets

ENTRY_KEYS = {"name", "model", "target", "pipeline", "set", "input_shape"} | {f"budget_{b}" for b in BUDGETS}


@dataclass(frozen=True)
class Entry:
    name: str
    model: Path
    target: str
    pipeline: str | None
    overrides: tuple[tuple[str, Any], ...]
    budgets: dict[str, float]
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


def parse_budgets_file(path: str | Path) -> list[Entry]:
    """Read and validate a budgets file; raises UsageError (exit 2) naming what is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: invalid TOML: {e}") from None
    if data.get("schema_version") != 1:
        raise UsageError(f"{path}: schema_version must be 1")
    unknown = set(data) - {"schema_version", "check"}
    if unknown:
        raise UsageError(f"{path}: unknown top-level key(s) {sorted(unknown)}")
    checks = data.get("check")
    if not isinstance(checks, list) or not checks:
        raise UsageError(f"{path}: no [[check]] entries")
    entries, names = [], set()
    for i, c in enumerate(checks, 1):
        where = f"{path}: [[check]] #{i}"
        bad = set(c) - ENTRY_KEYS
        if bad:
            raise UsageError(f"{where}: unknown key(s) {sorted(bad)}; allowed: {sorted(ENTRY_KEYS)}")
        for k in ("model", "target"):
            if not isinstance(c.get(k), str):
                raise UsageError(f"{where}: '{k}' (a string) is required")
        budgets = {}
        for b in BUDGETS:
            v = c.get(f"budget_{b}")
            if v is not None:
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                    raise UsageError(f"{where}: budget_{b} must be a non-negative number")
                budgets[b] = float(v)
        if not budgets:
            raise UsageError(f"{where}: give at least one of {', '.join('budget_' + b for b in BUDGETS)}")
        target = c["target"]
        if target.endswith(".toml") or "/" in target:
            target = str(path.parent / target)
        sets = c.get("set", {})
        if not isinstance(sets, dict):
            raise UsageError(f"{where}: 'set' must be a table")
        name = c.get("name") or f"{Path(c['model']).stem} on {c['target']}"
        if name in names:
            raise UsageError(f"{where}: duplicate entry name {name!r}")
        names.add(name)
        shapes = c.get("input_shape", {})
        entries.append(Entry(name, path.parent / c["model"], target, c.get("pipeline"),
                             tuple((k, v) for k, v in sets.items()), budgets,
                             tuple((k, str(v)) for k, v in shapes.items())))
    return entries


def run_entry(entry: Entry) -> EntryResult:
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
        res.error, res.exit_code = str(e), e.exit_code
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

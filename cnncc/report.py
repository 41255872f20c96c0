"""The one Report model: every command's result, rendered as a rich table, JSON or CSV.

JSON is deterministic: keys sorted, floats rounded to 6 significant decimals by the producer where needed,
no timestamps (solve times and wall-clock measurements are the only nondeterministic numbers and live under
keys named ``*_time_s``; ``Report.to_json(stable=True)`` drops them).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: 2: compile layers carry the shared `bound` vocabulary + `bound_detail`, `device`, `onchip_bytes`; totals
#: `sram_capacity_bytes` and `fits` (1: `bound` held each backend's own word)
SCHEMA_VERSION = 2


def version() -> str:
    from cnncc import __version__

    return __version__


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Column:
    """A column of the table/CSV view: the layer dict key, its header, and a format spec (e.g. ``,.0f``)."""

    key: str
    header: str
    fmt: str = ""


def _clean(v: Any) -> Any:
    """Make a value JSON-safe and stable: non-finite floats become None, tuples lists, numpy scalars python."""
    if hasattr(v, "item") and not isinstance(v, (list, tuple, Mapping)):
        v = v.item()
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return float(f"{v:.10g}")
    if isinstance(v, Mapping):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def _drop_times(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _drop_times(x) for k, x in v.items() if not k.endswith("_time_s")}
    if isinstance(v, list):
        return [_drop_times(x) for x in v]
    return v


@dataclass
class Report:
    """Result of one command. ``layers`` are dicts with at least ``name``, ``onnx_nodes``, ``output``, ``op``;
    ``totals`` holds network-level numbers; ``columns`` chooses what the table and CSV show."""

    command: str
    inputs: dict[str, Any]
    layers: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    columns: tuple[Column, ...] = ()
    notes: list[str] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    #: backend artefacts (relative path -> bytes) the driver writes under ``-o`` (not part of the JSON)
    artefacts: dict[str, bytes] = field(default_factory=dict, repr=False)
    #: a Perfetto trace the backend produced (written by the driver to ``--trace``)
    trace: bytes | None = field(default=None, repr=False)
    #: functional-check mismatches (``--check``); the driver writes the outputs, then raises MismatchError
    mismatches: list[str] = field(default_factory=list)

    # --------------------------------------------------------------- API sugar
    @property
    def total(self) -> dict[str, Any]:
        return self.totals

    def gate(self, *, ms: float | None = None, cycles: float | None = None, energy_uj: float | None = None,
             sram_bytes: float | None = None) -> list:
        """Check budgets against this report's totals; returns one :class:`cnncc.gate.GateResult` per budget
        given (``.passed``, ``.message()``). Raises UnsupportedError if the target does not report a quantity."""
        from cnncc.gate import check_budgets

        target = self.inputs.get("target", {}).get("name", "")
        return check_budgets(self.totals, self.layers, {"ms": ms, "cycles": cycles, "energy_uj": energy_uj,
                                                        "sram_bytes": sram_bytes}, target)

    def gates(self) -> list:
        """The budgets the driver checked (``sections["budgets"]``) as :class:`cnncc.gate.GateResult` records."""
        from cnncc.gate import GateResult

        return [GateResult.from_dict(d) for d in self.sections.get("budgets", [])]

    def to_dict(self, stable: bool = False) -> dict[str, Any]:
        d = {"schema_version": SCHEMA_VERSION, "cnncc_version": version(), "command": self.command,
             "inputs": self.inputs, "layers": self.layers, "totals": self.totals, "notes": self.notes}
        for k, v in self.sections.items():
            d[k] = v
        d = _clean(d)
        return _drop_times(d) if stable else d

    def to_json(self, stable: bool = False) -> str:
        return json.dumps(self.to_dict(stable), indent=2, sort_keys=True) + "\n"

    def to_csv(self) -> str:
        """One row per layer: the table's columns plus the identity fields (``output``, ``onnx_nodes``)."""
        cols = self.columns or tuple(Column(k, k) for k in (self.layers[0] if self.layers else {}))
        keys = {c.key for c in cols}
        cols = tuple(cols) + tuple(Column(k, k) for k in ("output", "onnx_nodes")
                                   if k not in keys and any(k in row for row in self.layers))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([c.key for c in cols])
        for row in self.layers:
            w.writerow([_csv_cell(row.get(c.key)) for c in cols])
        return buf.getvalue()

    def render_table(self, console=None, wide: bool = False) -> None:
        """Print a rich table fitted to the console width: the least important columns are hidden (and named in
        one line) rather than any number cut; ``wide`` shows every column (:mod:`cnncc.term`)."""
        from rich.console import Console

        from cnncc.term import render

        cols = self.columns or tuple(Column(k, k) for k in (self.layers[0] if self.layers else {}))
        render(console or Console(), self.layers, cols, self.totals, self.title, self.notes, wide=wide)


def _fmt(v: Any, spec: str) -> str:
    from cnncc.term import fmt_value

    return fmt_value(v, spec)


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ";".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return v


def model_input(path: str | Path) -> dict[str, str]:
    """The ``inputs.model`` echo: path as given and SHA-256 of the file."""
    return {"path": str(path), "sha256": sha256_file(path)}


def layer_identity(layer, graph) -> dict[str, Any]:
    """The fields every layer of every JSON report carries: name, onnx_nodes, output, op (and group)."""
    d = {"name": layer.origin if layer.group else layer.name, "onnx_nodes": list(layer.onnx_nodes),
         "output": layer.outputs[0], "op": layer.kind}
    if layer.group:
        d["part"] = layer.name
    return d


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write to a temp file in the same folder, then rename: never a half-written output
    (:func:`cnncc.output.write_file`)."""
    from cnncc.output import write_file

    write_file(path, data)

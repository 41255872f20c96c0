"""``cnncc compile A.onnx B.onnx ...``: many models, one target, one table.

The table has one row per model (latency, cycles, energy, peak on-chip memory, whether it fits, the bound that
dominates); ``--format csv`` gives every model's layer rows in one CSV with a ``model`` column first;
``--format json`` a JSON array of the per-model reports (each one a normal compile report). With ``-o DIR``
each model's outputs go to ``DIR/<model stem>/``. Budgets are checked per model; the exit code is 1 when one
fails.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cnncc.errors import UsageError
from cnncc.report import Column, Report

SUMMARY = ("latency_ms", "cycles", "energy_uj", "peak_sram_bytes", "fits")


def _stems(models: Sequence[Path]) -> list[str]:
    stems = [Path(m).stem for m in models]
    if len(set(stems)) != len(stems):  # two models of the same name from different folders
        return [Path(m).as_posix() for m in models]
    return stems


def summary_report(models: Sequence[Path], reports: Sequence[Report], target_name: str) -> Report:
    """One row per model with the main totals (the table view)."""
    from cnncc.compare import dominant_bound

    rows = []
    for name, rep in zip(_stems(models), reports):
        row: dict[str, Any] = {"model": name}
        row.update({k: rep.totals.get(k) for k in SUMMARY})
        row["bound"] = dominant_bound(rep.layers)
        rows.append(row)
    cols = (Column("model", "model"), Column("latency_ms", "latency ms", ".4f"), Column("cycles", "cycles", ",.0f"),
            Column("energy_uj", "energy µJ", ".2f"), Column("peak_sram_bytes", "peak SRAM B", ",.0f"),
            Column("fits", "fits"), Column("bound", "bound"))
    return Report("compile", {"models": [str(m) for m in models], "target": target_name}, rows,
                  {"models": len(rows)}, cols, title=f"{len(rows)} models on {target_name}")


def layers_csv(models: Sequence[Path], reports: Sequence[Report]) -> str:
    """Every model's layer CSV in one table, with a ``model`` column first (columns: the union, in order)."""
    per = []
    header: list[str] = []
    for name, rep in zip(_stems(models), reports):
        rows = list(csv.reader(io.StringIO(rep.to_csv())))
        if not rows:
            continue
        head, body = rows[0], rows[1:]
        header.extend(h for h in head if h not in header)
        per.append((name, head, body))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["model", *header])
    for name, head, body in per:
        pos = {h: i for i, h in enumerate(head)}
        for r in body:
            w.writerow([name, *(r[pos[h]] if h in pos else "" for h in header)])
    return buf.getvalue()


def compile_many(models: Sequence[Path], target: Any, pipeline: str | None, *, fmt: str,
                 budgets: Mapping[str, float | None], out: Path | None = None,
                 input_shapes: Mapping[str, str] | None = None, timings: bool = False, options: Any = None,
                 quiet: bool = False, log: Callable[[str], None] = print,
                 write: Callable[[str], None] = print, table: Callable[[Report], None] | None = None) -> int:
    """Compile each model for ``target``, print the combined result (``fmt``: table, csv or json) and return
    the exit code (1 when a budget failed)."""
    from cnncc.driver import compile_model

    if options is not None and getattr(options, "trace", None) is not None:
        raise UsageError("--trace takes one model (it writes one trace file)")
    names = _stems(models)
    reports = []
    for m, name in zip(models, names):
        reports.append(compile_model(m, target, pipeline, options=options, input_shapes=input_shapes or None,
                                     out_dir=(out / name) if out is not None else None, budgets=budgets,
                                     timings=timings))
    if fmt == "json":
        write("[" + ",\n".join(json.dumps(r.to_dict(stable=not timings), indent=2, sort_keys=True)
                               for r in reports) + "]\n")
    elif fmt == "csv":
        write(layers_csv(models, reports))
    elif table is not None:
        table(summary_report(models, reports, target.name))
    rc = 0
    for name, rep in zip(names, reports):
        for g in rep.gates():
            if not quiet or not g.passed:
                log(("FAIL " if not g.passed else "ok   ") + f"{name}: " + g.message())
            rc = rc or (0 if g.passed else 1)
    return rc

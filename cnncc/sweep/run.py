"""A whole sweep: plan the points, skip those already in ``results.jsonl``, run the rest, write the results.

The output folder (``-o``; default ``<sweep file stem>.sweep/`` beside the sweep file) holds

* ``results.jsonl`` / ``results.csv`` — one row per point, appended as points finish (resume reads them);
* ``sweep.json`` — the report (``command: "sweep"``): every point of the current sweep file sorted by its
  generation order, the Pareto front per model, the best point per budget. Deterministic: byte-identical for
  the same inputs whatever the number of workers, the executor or the order results arrived in (measured
  ``*_time_s`` fields are left out);
* ``report.html`` — scatter plots (objective vs objective, the Pareto front highlighted, axis values on hover)
  and parallel coordinates over the axes; self-contained.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnncc.report import Column, Report, model_input, sha256_file
from cnncc.sweep.execute import Progress, Runner, run_tasks
from cnncc.sweep.pareto import best_per_budget, fronts
from cnncc.sweep.points import Point, generate
from cnncc.sweep.results import ResultsLog
from cnncc.sweep.spec import Budget, SweepSpec, load_sweep


def default_out_dir(spec: SweepSpec) -> Path:
    return spec.path.parent / f"{spec.path.stem}.sweep"


def _row(point: Point, res: dict[str, Any]) -> dict[str, Any]:
    """The results.jsonl row of a finished point."""
    from cnncc import __version__

    return {"key": point.key, "index": point.index, "model": point.model, "model_sha256": point.model_sha256,
            "target": point.target.title, "backend": point.backend, "pipeline": point.pipeline,
            "axes": dict(point.axes), "status": res["status"], "exit_code": res["exit_code"],
            "error": res["error"], "totals": res["totals"], "compile_time_s": res.get("compile_time_s"),
            "cnncc_version": __version__}


def _getter(table: str, key: str) -> Callable[[dict], Any]:
    return lambda r: (r.get(table) or {}).get(key)


def _budget_getter(b: Budget) -> Callable[[dict], Any]:
    return lambda r: b.passes(r.get("totals") or {}) if r.get("status") == "ok" else None


def _columns(spec: SweepSpec) -> list[tuple[str, Callable[[dict], Any]]]:
    cols: list[tuple[str, Callable[[dict], Any]]] = [
        ("index", lambda r: r.get("index")), ("model", lambda r: r.get("model")),
        ("target", lambda r: r.get("target")), ("backend", lambda r: r.get("backend")),
        ("pipeline", lambda r: r.get("pipeline"))]
    for a in spec.axes:
        cols.append((a.name, _getter("axes", a.name)))
    cols += [("status", lambda r: r.get("status")), ("exit_code", lambda r: r.get("exit_code"))]
    for o in spec.objectives:
        cols.append((o.field, _getter("totals", o.field)))
    for b in spec.budgets:
        cols.append((f"budget:{b.name}", _budget_getter(b)))
    cols += [("pareto", lambda r: r.get("pareto")), ("error", lambda r: r.get("error")),
             ("key", lambda r: r.get("key"))]
    return cols


def sweep(path: str | Path, jobs: int | None = None, scheduler: str | None = None,
          out_dir: str | Path | None = None, progress: Callable[[Progress], None] | None = None,
          log: Callable[[str], None] | None = None) -> Report:
    """Run the sweep file ``path``; returns its report (``command: "sweep"``) and writes the output folder.
    ``jobs``: local worker processes (default: the file's ``[execution] jobs``, else the number of cores);
    ``scheduler``: a Dask scheduler address (``tcp://host:8786``) or ``"dask"`` (Dask's configured address).
    Points already recorded in the folder's ``results.jsonl`` are not run again."""
    spec = load_sweep(path)
    points, excluded = generate(spec)
    out = Path(out_dir) if out_dir is not None else default_out_dir(spec)
    results = ResultsLog(out, _columns(spec))
    known = results.read()
    todo = [p for p in points if p.key not in known]
    results.start([known[p.key] for p in points if p.key in known])
    say = log or (lambda s: None)
    finished: dict[str, dict[str, Any]] = {p.key: known[p.key] for p in points if p.key in known}

    def record(point: Point, res: dict[str, Any]) -> None:
        row = _row(point, res)
        finished[point.key] = row
        results.append(row)

    try:
        for p in todo:
            if p.error is not None:  # did not resolve: recorded without compiling
                record(p, {"status": "failed", "exit_code": p.error[1], "error": p.error[0], "totals": {},
                           "compile_time_s": 0.0})
        runnable = [p for p in todo if p.error is None]
        say(f"sweep {spec.name}: {len(points)} points ({excluded} excluded by constraints), "
            f"{len(points) - len(todo)} already done, {len(runnable)} to run")
        if runnable:
            if not (scheduler or spec.scheduler):
                from cnncc.sweep.worker import preload

                preload({p.backend for p in runnable})
            with Runner(jobs or spec.jobs, scheduler or spec.scheduler) as runner:
                say(f"sweep {spec.name}: running on {runner.where}")
                run_tasks(runner, [(p, p.task(spec.input_shapes), p.backend) for p in runnable], record,
                          progress, skipped=len(points) - len(todo))
    finally:
        results.close()
    report = build_report(spec, points, finished, excluded)
    report.artefacts["results.csv"] = results.rewrite_csv(report.layers).encode()
    _write(out, report)
    return report


def build_report(spec: SweepSpec, points: list[Point], finished: dict[str, dict[str, Any]],
                 excluded: int) -> Report:
    """The sweep report from the rows of the current points (sorted by point index)."""
    rows = []
    for p in points:
        r = finished.get(p.key)
        if r is None:
            continue
        row = {k: v for k, v in r.items() if k not in ("compile_time_s", "cnncc_version")}
        row.update(index=p.index, model=p.model, target=p.target.title, backend=p.backend, pipeline=p.pipeline,
                   axes=dict(p.axes))
        rows.append(row)
    front = fronts(rows, spec.objectives)
    on_front = {i for idx in front.values() for i in idx}
    for row in rows:
        t = row.get("totals") or {}
        row["objectives"] = {o.field: t.get(o.field) for o in spec.objectives}
        row["budgets"] = {b.name: b.passes(t) for b in spec.budgets} if row["status"] == "ok" else {}
        row["pareto"] = row["index"] in on_front
    ok = sum(r["status"] == "ok" for r in rows)
    notes = []
    for o in spec.objectives:
        if ok and not any(isinstance((r.get("totals") or {}).get(o.field), (int, float)) for r in rows):
            notes.append(f"objective {o.field!r} is reported by none of the points (totals fields: "
                         f"{', '.join(sorted({k for r in rows for k in (r.get('totals') or {})}))})")
    inputs = {"sweep": {"path": str(spec.path), "sha256": sha256_file(spec.path), "name": spec.name},
              "models": [model_input(m) | {"id": p} for m, p in _model_ids(points)],
              "targets": [c.title for c in spec.targets],
              "pipelines": [p if p is not None else "<target default>" for p in spec.pipelines],
              "axes": [{"name": a.name, "values": list(a.values)} for a in spec.axes],
              "sampling": spec.sampling, "samples": spec.samples, "seed": spec.seed,
              "constraints": [c.text for c in spec.constraints],
              "objectives": [o.label for o in spec.objectives],
              "budgets": [{"name": b.name, "by": b.best.label,
                           "limits": [{"field": f, "min": lo, "max": hi} for f, lo, hi in b.limits]}
                          for b in spec.budgets]}
    totals = {"points": len(points), "finished": len(rows), "ok": ok, "failed": len(rows) - ok,
              "excluded_by_constraints": excluded, "models": len(spec.models),
              "pareto_points": len(on_front)}
    sections = {"pareto": front, "best": best_per_budget(rows, spec.budgets)}
    cols = (Column("index", "#"), Column("model", "model"), Column("target", "target"),
            Column("pipeline", "pipeline"), Column("status", "status"))
    return Report("sweep", inputs, rows, totals, cols, notes, sections,
                  title=f"sweep {spec.name}: {len(rows)} points, {len(on_front)} on the Pareto fronts")


def _model_ids(points: list[Point]) -> list[tuple[Path, str]]:
    seen: dict[str, Path] = {}
    for p in points:
        seen.setdefault(p.model, p.model_path)
    return [(path, mid) for mid, path in seen.items()]


def _write(out: Path, report: Report) -> None:
    from cnncc.output import write_file
    from cnncc.sweep.html import render_sweep_html

    d = report.to_dict(stable=True)
    write_file(out / "sweep.json", report.to_json(stable=True))
    write_file(out / "report.html", render_sweep_html(d))


def front_table(report: Report) -> Report:
    """The Pareto points of every model as one flat table (what ``cnncc sweep`` prints)."""
    axes = [a["name"] for a in report.inputs.get("axes", [])]
    objectives = [o.split(":", 1)[-1] for o in report.inputs.get("objectives", [])]
    rows = []
    for r in report.layers:
        if r.get("pareto"):
            flat = {"model": r["model"], "index": r["index"], "target": r["target"], "pipeline": r["pipeline"]}
            flat.update({a: (r.get("axes") or {}).get(a) for a in axes})
            flat.update({o: (r.get("totals") or {}).get(o) for o in objectives})
            rows.append(flat)
    cols = (Column("model", "model"), Column("index", "#"), Column("target", "target"),
            Column("pipeline", "pipeline"), *(Column(a, a) for a in axes), *(Column(o, o) for o in objectives))
    t = report.totals
    return Report("sweep", report.inputs, rows, {}, cols,
                  title=f"Pareto fronts: {len(rows)} of {t.get('finished')} points ({t.get('failed')} failed)")

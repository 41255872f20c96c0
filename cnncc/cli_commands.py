"""What each ``cnncc`` command does, given its parsed options (``cli.py`` declares the options with typer and
calls these). Each returns the process exit code (0 ok, 1 a failed budget or check; errors are raised as
:class:`cnncc.errors.CnnccError`). Data goes to stdout, messages to stderr (:mod:`cnncc.cli_support`)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from cnncc.cli_support import (
    Fmt,
    _check_line,
    _emit,
    _err,
    _ir_after,
    _overrides,
    _progress,
    _shape_notes,
    _shapes,
    _target_keys,
    _target_list,
    _verify_line,
    _write_stdout,
)
from cnncc.errors import EXIT_INTERNAL, EXIT_UNSUPPORTED, EXIT_USAGE, UsageError


def run_inspect(model: Path, fmt: Fmt, input_shape: list[str] | None) -> int:
    from cnncc.driver import inspect_graph, load_model

    graph = load_model(model, _shapes(input_shape))
    _emit(inspect_graph(graph, model), fmt)
    return 0


def run_targets(name: str | None, set_: list[str] | None, fmt: Fmt, wide: bool) -> int:
    if name is not None:
        _emit(_target_keys(name, _overrides(set_)), fmt, wide=wide)
        return 0
    from cnncc.report import Column, Report
    from cnncc.target import _load_raw, shipped_targets

    rows, seen = [], set()
    shipped = shipped_targets()
    for tname, path in shipped.items():
        if path in seen:
            continue
        seen.add(path)
        data = _load_raw(path)  # the TOML only: listing imports no backend (start-up time)
        aliases = sorted(n for n, p in shipped.items() if p == path and n != tname)
        rows.append({"name": str(data.get("name", path.stem)), "aliases": aliases, "backend": data.get("backend"),
                     "description": str(data.get("description", "")),
                     "default_pipeline": str(data.get("default_pipeline", ""))})
    rep = Report("targets", {}, rows, {}, (Column("name", "target"), Column("aliases", "aliases"),
                                           Column("backend", "backend"), Column("description", "description")),
                 notes=["cnncc targets NAME lists the keys of one target (what --set can change)"])
    _emit(rep, fmt, wide=wide)
    return 0


def run_passes(fmt: Fmt, wide: bool) -> int:
    from cnncc.passes import describe
    from cnncc.report import Column, Report

    rows = []
    for d in sorted(describe(), key=lambda d: d["name"]):
        opts = [f"{o['name']}={o['default']}" + (f" ({'|'.join(o['choices'])})" if o["choices"] else "")
                for o in d["options"]]
        rows.append({"name": d["name"], "options": opts, "description": d["summary"]})
    _emit(Report("passes", {}, rows, {}, (Column("name", "pass"), Column("options", "options"),
                                          Column("description", "description"))), fmt, wide=wide)
    return 0


def run_compile(models: Sequence[Path], target: str | None, pipeline: str | None, set_: list[str] | None,
                fmt: Fmt, out: Path | None, quiet: bool, wide: bool, check: bool, trace: Path | None,
                budgets: Mapping[str, float | None], input_shape: list[str] | None, print_ir_after_all: bool,
                print_ir_after: str | None, time_passes: bool, timings: bool) -> int:
    """``cnncc compile``: one model (report, budgets, ``--check``) or several (one table with a model column)."""
    from cnncc.backends import CompileOptions
    from cnncc.driver import compile_model
    from cnncc.target import load_target

    if target is None:
        raise UsageError(f"compile needs --target TARGET (a shipped target or a TOML file); shipped targets: "
                         f"{_target_list()}")
    tgt = load_target(target, _overrides(set_))
    shapes = _shapes(input_shape)
    if len(models) > 1:  # many models: one table / CSV with a model column (cnncc/sweep/many.py)
        from cnncc.sweep.many import compile_many

        return compile_many(list(models), tgt, pipeline, fmt=fmt.value, out=out, input_shapes=shapes,
                            timings=timings, budgets=dict(budgets), options=CompileOptions(check=check, trace=trace),
                            quiet=quiet, log=_err, write=_write_stdout,
                            table=lambda rep: _emit(rep, fmt, wide=wide))
    model_path = models[0]
    cb, prog = _progress(not quiet)
    opts = CompileOptions(check=check, trace=trace, progress=cb)
    if prog is not None:
        prog.start_display()
    try:
        report = compile_model(model_path, tgt, pipeline, options=opts, input_shapes=shapes,
                               pass_log=_err, print_ir_after=_ir_after(print_ir_after_all, print_ir_after),
                               time_passes=time_passes, out_dir=out, budgets=dict(budgets), timings=timings)
    finally:
        if prog is not None:
            prog.stop()
    if not quiet:  # after a successful compile: an error stays the one line on stderr
        for n in _shape_notes(model_path, shapes):
            _err(f"note: {n}")
    gates = report.gates()
    _emit(report, fmt, timings, wide=wide)
    if check and not quiet:
        _err(_check_line(report.layers, tgt.name))
    for g in gates:
        if not quiet or not g.passed:
            _err(("FAIL " if not g.passed else "ok   ") + g.message())
    return 1 if any(not g.passed for g in gates) else 0


def run_opt(model: Path, pipeline: str, out: Path, target: str | None, set_: list[str] | None, verify: bool,
            input_shape: list[str] | None, print_ir_after_all: bool, print_ir_after: str | None,
            time_passes: bool, fmt: Fmt) -> int:
    """``cnncc opt``: run a pipeline and write the result as ONNX (``--verify``: on onnxruntime first)."""
    from cnncc.driver import load_model, run_passes
    from cnncc.frontend.onnx.writer import write_onnx
    from cnncc.pipeline import parse_pipeline
    from cnncc.report import Column, Report, model_input
    from cnncc.target import load_target

    parsed = parse_pipeline(pipeline)
    tgt = load_target(target, _overrides(set_)) if target else None
    shapes = _shapes(input_shape)
    if verify:
        from cnncc.frontend.detect import detect_format

        if detect_format(model) != "onnx":
            raise UsageError(f"--verify runs the original and the rewritten model on onnxruntime: {model} is not "
                             f"an ONNX model")
    graph = load_model(model, shapes)
    res = run_passes(graph, parsed, tgt, print_ir_after=_ir_after(print_ir_after_all, print_ir_after),
                     time_passes=time_passes, log=_err)
    for n in _shape_notes(model, shapes):
        _err(f"note: {n}")
    verified = None
    if verify:  # verify a temporary copy first: a failed verification leaves no output file behind
        import tempfile

        from cnncc.frontend.onnx.writer import to_onnx
        from cnncc.verify import compare_models

        data = to_onnx(res.graph).SerializeToString()
        with tempfile.TemporaryDirectory(prefix="cnncc-verify-") as d:
            tmp = Path(d) / (out.name or "model.onnx")
            tmp.write_bytes(data)
            semantic = not any(p.NAME == "abconv" for p in parsed.passes)
            verified = compare_models(model, tmp, semantic=semantic)
        from cnncc.output import write_file

        write_file(out, data)
    else:
        write_onnx(res.graph, out)
    rows = [{"pass": p, "counter": k, "value": v} for p, c in res.counters.items() for k, v in c.items()]
    rep = Report("opt", {"model": model_input(model), "pipeline": str(parsed), "output": str(out)}, rows,
                 {"layers_before": len(graph.layers), "layers_after": len(res.graph.layers)},
                 (Column("pass", "pass"), Column("counter", "counter"), Column("value", "value")),
                 list(res.notes), dict(res.sections))
    if verified is not None:
        rep.sections["verify"] = verified
    _emit(rep, fmt)
    _err(f"wrote {out}")
    if verify:
        _err(_verify_line(rep.sections["verify"]))
    return 0


def run_export(model: Path, out: Path, tflite: bool, pipeline: str, input_shape: list[str] | None) -> int:
    """``cnncc export``: int8 TFLite (for Vela) or ONNX, after a pipeline."""
    from cnncc.driver import load_model, run_passes

    graph = load_model(model, _shapes(input_shape))
    if pipeline:
        graph = run_passes(graph, pipeline).graph
    if tflite:
        from cnncc.frontend.tflite.writer import write_tflite

        write_tflite(graph, out)
    else:
        from cnncc.frontend.onnx.writer import write_onnx

        write_onnx(graph, out)
    _err(f"wrote {out}")
    return 0


def run_compare(model: Path, targets: str, set_: list[str] | None, fmt: Fmt, out: Path | None,
                input_shape: list[str] | None) -> int:
    """``cnncc compare``: several targets side by side; ``-o`` writes compare.json and compare.html."""
    from cnncc.compare import compare_targets
    from cnncc.sweep.configs import split_configs

    names = split_configs(targets)  # NAME or NAME@key=value@...: configurations of one target side by side
    if not names:
        raise UsageError("--targets is empty")
    if out is not None:  # an unusable -o is refused before the compiles
        from cnncc.output import preflight_folder

        preflight_folder(out)
    rep = compare_targets(model, names, _overrides(set_), _shapes(input_shape))
    if out is not None:  # both files or neither, as the new contents of the folder (like compile -o)
        from cnncc.html import render_html
        from cnncc.output import write_folder

        write_folder(out, {"compare.json": rep.to_json(stable=True),
                           "compare.html": render_html(rep.to_dict(stable=True))})
    _emit(rep, fmt)
    return 0


def run_sweep_cmd(sweep_file: Path, jobs: int | None, scheduler: str | None, out: Path | None, fmt: Fmt,
                  quiet: bool, wide: bool) -> int:
    """``cnncc sweep``: every point compiled (in parallel, resumable), the Pareto front per model."""
    from cnncc.sweep import sweep as run_sweep
    from cnncc.sweep.progress import ProgressPrinter
    from cnncc.sweep.run import front_table

    report = run_sweep(sweep_file, jobs=jobs, scheduler=scheduler, out_dir=out,
                       progress=None if quiet else ProgressPrinter(sys.stderr),
                       log=None if quiet else _err)
    if fmt == Fmt.json:
        sys.stdout.write(report.to_json(stable=True))
    elif fmt == Fmt.csv:
        sys.stdout.write(report.artefacts["results.csv"].decode())
    else:
        _emit(front_table(report), fmt, wide=wide)
    return 0


def run_check(budgets: Path, junit_xml: Path | None, fmt: Fmt) -> int:
    """``cnncc check``: gate many model × target × budget entries; the most severe outcome is the exit code."""
    from cnncc.check import junit_xml as to_junit
    from cnncc.check import parse_budgets_file, run_entry
    from cnncc.report import Column, Report, atomic_write

    entries = parse_budgets_file(budgets)
    results = [run_entry(e) for e in entries]
    rows = []
    for r in results:
        status = "error" if r.error else ("pass" if r.passed else "FAIL")
        detail = r.error or "; ".join(g.message() for g in r.gates)
        rows.append({"name": r.entry.name, "model": str(r.entry.model), "target": r.entry.target,
                     "status": status, "exit_code": r.exit_code, "detail": detail,
                     "budgets": [g.as_dict() for g in r.gates]})
    totals = {"entries": len(rows), "passed": sum(r.passed for r in results),
              "failed": sum(1 for r in results if not r.passed)}
    rep = Report("check", {"budgets_file": str(budgets)}, rows, totals,
                 (Column("name", "entry"), Column("target", "target"), Column("status", "status"),
                  Column("detail", "detail")))
    if junit_xml is not None:
        atomic_write(junit_xml, to_junit(results))
    _emit(rep, fmt)
    codes = {r.exit_code for r in results}
    for code in (EXIT_USAGE, EXIT_UNSUPPORTED, EXIT_INTERNAL, 1):  # the most severe outcome decides
        if code in codes:
            return code
    return 0

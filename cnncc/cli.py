"""The ``cnncc`` command line (the only module that imports typer). Data goes to stdout, messages to stderr.

Exit codes: 0 ok, 1 budget/gate failed or simulation mismatch, 2 usage/invalid input, 3 unsupported by the
target, 70 internal error.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from cnncc import __version__
from cnncc.cli_support import (
    _check_line,
    _ir_after,
    _one_line,
    _shape_notes,
    _target_keys,
    _target_list,
    _verify_line,
)
from cnncc.errors import EXIT_INTERNAL, EXIT_UNSUPPORTED, EXIT_USAGE, CnnccError, UsageError


def _new_app() -> typer.Typer:
    return typer.Typer(name="cnncc", add_completion=True, no_args_is_help=True, rich_markup_mode=None,
                       pretty_exceptions_enable=False,
                       help="Compile a CNN (ONNX) for Ethos-U65, OpenEdgeCGRA or a generic offloading accelerator "
                            "and report how it runs.")


app = _new_app()

class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)


def _err(msg: str) -> None:
    sys.stderr.write(msg.rstrip("\n") + "\n")


def _stdout_console():
    """The console tables are drawn on: a terminal's width (``COLUMNS`` overrides it); with stdout not a terminal,
    ``COLUMNS`` when set, else unlimited (a file or pipe never wraps, so nothing is hidden)."""
    from rich.console import Console

    width = None
    if not sys.stdout.isatty():
        cols = os.environ.get("COLUMNS", "")
        width = int(cols) if cols.isdigit() and int(cols) > 0 else 100_000
    return Console(file=sys.stdout, no_color=bool(os.environ.get("NO_COLOR")) or None, width=width)


def _emit(report, fmt: Fmt, timings: bool = False, wide: bool = False) -> None:
    """Print a report's data on stdout (``-q`` never silences it). JSON is byte-identical for the same inputs
    unless ``timings`` adds the measured ``*_time_s`` fields (solver and pass times). The table fits the console
    width (columns hidden and named, never a number cut) unless ``wide``."""
    if fmt == Fmt.json:
        sys.stdout.write(report.to_json(stable=not timings))
    elif fmt == Fmt.csv:
        sys.stdout.write(report.to_csv())
    else:
        report.render_table(_stdout_console(), wide=wide)


def _overrides(items: list[str] | None) -> list[tuple[str, str]]:
    from cnncc.target import parse_override

    return [parse_override(i) for i in (items or [])]


def _shapes(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--input-shape expects name=1x3x224x224, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _progress(enabled: bool):
    """The progress callback ``cb(label, done, total, detail="")`` on stderr (a live line on a terminal, a plain
    line every few seconds elsewhere; :mod:`cnncc.progress`) and the display to start/stop, or (None, None)
    under ``--quiet``."""
    from cnncc.progress import make_progress

    prog = make_progress(sys.stderr, enabled)
    return prog, prog


@app.callback(invoke_without_command=True)
def _main(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    del debug  # read by main() before typer runs, so errors raised while parsing are covered too
    if version:
        print(f"cnncc {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())
        raise typer.Exit(0)


ModelArg = Annotated[Path, typer.Argument(help="ONNX model file.", show_default=False, metavar="MODEL")]
FormatOpt = Annotated[Fmt, typer.Option("--format", "-f", help="Output format.")]
ShapeOpt = Annotated[list[str] | None, typer.Option("--input-shape", help="Fix a symbolic input shape: "
                                                    "name=1x3x224x224 (repeatable).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override a target key: key=value "
                                                  "(repeatable).")]


@app.command()
def inspect(model: ModelArg, format: FormatOpt = Fmt.table, input_shape: ShapeOpt = None) -> None:
    """Per layer: op, output shape, MACs, params, AI_in / AI_w / AI_out / overall AI and which bounds it."""
    from cnncc.driver import inspect_graph, load_model

    graph = load_model(model, _shapes(input_shape))
    _emit(inspect_graph(graph, model), format)


WideOpt = Annotated[bool, typer.Option("--wide", help="Show every table column whatever the terminal width.")]


@app.command()
def targets(
    name: Annotated[str | None, typer.Argument(help="A target: list every key with its type, unit, default and "
                                               "current value (nested keys dotted).", show_default=False,
                                               metavar="[TARGET]")] = None,
    set_: SetOpt = None,
    format: FormatOpt = Fmt.table,
    wide: WideOpt = False,
) -> None:
    """List the shipped targets, or every key of one target (``cnncc targets ethos-u65-256``)."""
    if name is not None:
        _emit(_target_keys(name, _overrides(set_)), format, wide=wide)
        return
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
    _emit(rep, format, wide=wide)




@app.command()
def passes(format: FormatOpt = Fmt.table, wide: WideOpt = False) -> None:
    """List the passes and their options."""
    from cnncc.passes import describe
    from cnncc.report import Column, Report

    rows = []
    for d in sorted(describe(), key=lambda d: d["name"]):
        opts = [f"{o['name']}={o['default']}" + (f" ({'|'.join(o['choices'])})" if o["choices"] else "")
                for o in d["options"]]
        rows.append({"name": d["name"], "options": opts, "description": d["summary"]})
    _emit(Report("passes", {}, rows, {}, (Column("name", "pass"), Column("options", "options"),
                                          Column("description", "description"))), format, wide=wide)


ModelsArg = Annotated[list[Path], typer.Argument(help="ONNX model file(s); several give one table with a model "
                                                "column.", show_default=False, metavar="MODEL...")]


@app.command()
def compile(  # noqa: A001
    model: ModelsArg,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Shipped target name or a TOML file "
                                               "(required; `cnncc targets` lists them).")] = None,
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p", help="Pass pipeline (default: the "
                                                 "target's; '' for none).")] = None,
    set_: SetOpt = None,
    format: FormatOpt = Fmt.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write report.json/.csv/.html and the "
                                             "backend's artefacts into this folder.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no messages on stderr (errors "
                                        "and failed budgets still); the data (table/JSON/CSV) is still "
                                        "written to stdout.")] = False,
    wide: WideOpt = False,
    check: Annotated[bool, typer.Option("--check", help="Functional check where the backend has one "
                                        "(CGRA: bit-exact simulation); exit 1 on mismatch.")] = False,
    trace: Annotated[Path | None, typer.Option("--trace", help="Write a Perfetto/Chrome trace (offload).")] = None,
    budget_ms: Annotated[float | None, typer.Option(help="Fail (exit 1) above this latency.")] = None,
    budget_cycles: Annotated[float | None, typer.Option(help="Fail (exit 1) above this many cycles.")] = None,
    budget_energy_uj: Annotated[float | None, typer.Option(help="Fail (exit 1) above this energy.")] = None,
    budget_sram_bytes: Annotated[float | None, typer.Option(help="Fail (exit 1) above this peak on-chip "
                                                           "memory use.")] = None,
    input_shape: ShapeOpt = None,
    print_ir_after_all: Annotated[bool, typer.Option(help="Print the IR after every pass (stderr).")] = False,
    print_ir_after: Annotated[str | None, typer.Option(help="Print the IR after these passes.")] = None,
    time_passes: Annotated[bool, typer.Option(help="Print pass timings (stderr).")] = False,
    timings: Annotated[bool, typer.Option(help="Include measured *_time_s fields (solve times) in the JSON "
                                          "(then it is no longer byte-identical run to run).")] = False,
) -> None:
    """Compile MODEL (or several) for a target and report latency, energy and the per-layer schedule."""
    from cnncc.backends import CompileOptions
    from cnncc.driver import compile_model
    from cnncc.target import load_target

    if target is None:
        raise UsageError(f"compile needs --target TARGET (a shipped target or a TOML file); shipped targets: "
                         f"{_target_list()}")
    tgt = load_target(target, _overrides(set_))
    shapes = _shapes(input_shape)
    if len(model) > 1:  # many models: one table / CSV with a model column (cnncc/sweep/many.py)
        from cnncc.sweep.many import compile_many

        rc = compile_many(model, tgt, pipeline, fmt=format.value, out=out, input_shapes=shapes, timings=timings,
                          budgets={"ms": budget_ms, "cycles": budget_cycles, "energy_uj": budget_energy_uj,
                                   "sram_bytes": budget_sram_bytes},
                          options=CompileOptions(check=check, trace=trace), quiet=quiet, log=_err,
                          write=_write_stdout, table=lambda rep: _emit(rep, format, wide=wide))
        if rc:
            raise typer.Exit(rc)
        return
    model_path = model[0]
    cb, prog = _progress(not quiet)
    opts = CompileOptions(check=check, trace=trace, progress=cb)
    budgets = {"ms": budget_ms, "cycles": budget_cycles, "energy_uj": budget_energy_uj,
               "sram_bytes": budget_sram_bytes}
    if prog is not None:
        prog.start_display()
    try:
        report = compile_model(model_path, tgt, pipeline, options=opts, input_shapes=shapes,
                               pass_log=_err, print_ir_after=_ir_after(print_ir_after_all, print_ir_after),
                               time_passes=time_passes, out_dir=out, budgets=budgets, timings=timings)
    finally:
        if prog is not None:
            prog.stop()
    if not quiet:  # after a successful compile: an error stays the one line on stderr
        for n in _shape_notes(model_path, shapes):
            _err(f"note: {n}")
    gates = report.gates()
    _emit(report, format, timings, wide=wide)
    if check and not quiet:
        _err(_check_line(report.layers, tgt.name))
    failed = [g for g in gates if not g.passed]
    for g in gates:
        if not quiet or not g.passed:
            _err(("FAIL " if not g.passed else "ok   ") + g.message())
    if failed:
        raise typer.Exit(1)


@app.command()
def opt(
    model: ModelArg,
    pipeline: Annotated[str, typer.Option("--pipeline", "-p", help="Pass pipeline, e.g. "
                                          "'fold-bn,fuse-act,im2col'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output ONNX file.")],
    target: Annotated[str | None, typer.Option("--target", "-t", help="Target for target-aware passes.")] = None,
    set_: SetOpt = None,
    verify: Annotated[bool, typer.Option(help="Run original and rewritten model on onnxruntime and "
                                         "compare.")] = False,
    input_shape: ShapeOpt = None,
    print_ir_after_all: Annotated[bool, typer.Option(help="Print the IR after every pass (stderr).")] = False,
    print_ir_after: Annotated[str | None, typer.Option(help="Print the IR after these passes.")] = None,
    time_passes: Annotated[bool, typer.Option(help="Print pass timings (stderr).")] = False,
    format: FormatOpt = Fmt.table,
) -> None:
    """Run a pass pipeline on MODEL and write the result as a valid ONNX model."""
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
    _emit(rep, format)
    _err(f"wrote {out}")
    if verify:
        _err(_verify_line(rep.sections["verify"]))


class ExportFmt(str, Enum):
    tflite = "tflite"
    onnx = "onnx"


@app.command()
def export(
    model: ModelArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file.")],
    format: Annotated[ExportFmt, typer.Option("--format", "-f", help="tflite (int8, for Vela) or onnx.")] =
    ExportFmt.tflite,
    pipeline: Annotated[str, typer.Option("--pipeline", "-p", help="Passes to run first.")] = "fold-bn,fuse-act",
    input_shape: ShapeOpt = None,
) -> None:
    """Export MODEL as an int8 TFLite flatbuffer (Vela compiles it) or as ONNX, after a pipeline."""
    from cnncc.driver import load_model, run_passes

    graph = load_model(model, _shapes(input_shape))
    if pipeline:
        graph = run_passes(graph, pipeline).graph
    if format == ExportFmt.tflite:
        from cnncc.frontend.tflite.writer import write_tflite

        write_tflite(graph, out)
    else:
        from cnncc.frontend.onnx.writer import write_onnx

        write_onnx(graph, out)
    _err(f"wrote {out}")


@app.command()
def compare(
    model: ModelArg,
    targets: Annotated[str, typer.Option("--targets", help="Comma-separated targets; NAME@key=value@... is a "
                                         "configuration of a target.")] =
    "ethos-u65-256,cgra,offload",
    set_: SetOpt = None,
    format: FormatOpt = Fmt.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write compare.json and compare.html.")] = None,
    input_shape: ShapeOpt = None,
) -> None:
    """Compile MODEL for several targets and show them side by side."""
    from cnncc.compare import compare_targets
    from cnncc.sweep.configs import split_configs

    names = split_configs(targets)  # NAME or NAME@key=value@...: configurations of one target side by side
    if not names:
        raise UsageError("--targets is empty")
    rep = compare_targets(model, names, _overrides(set_), _shapes(input_shape))
    if out is not None:
        from cnncc.report import atomic_write

        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "compare.json", rep.to_json(stable=True))
        try:
            from cnncc.html import render_html

            atomic_write(out / "compare.html", render_html(rep.to_dict(stable=True)))
        except ImportError:
            pass
    _emit(rep, format)


@app.command()
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep TOML file (README: Design-space sweeps).",
                                               show_default=False, metavar="SWEEP.toml")],
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Local worker processes (default: "
                                             "the number of cores).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Run on a Dask cluster: its scheduler "
                                                  "address (tcp://host:8786), or 'dask' for the address in "
                                                  "Dask's configuration.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: SWEEP.sweep/ beside "
                                             "the file); a rerun skips the points already in it.")] = None,
    format: FormatOpt = Fmt.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
    wide: WideOpt = False,
) -> None:
    """Run a design-space sweep: every point compiled (in parallel, resumable), the Pareto front per model."""
    from cnncc.sweep import sweep as run_sweep
    from cnncc.sweep.progress import ProgressPrinter
    from cnncc.sweep.run import front_table

    report = run_sweep(sweep_file, jobs=jobs, scheduler=scheduler, out_dir=out,
                       progress=None if quiet else ProgressPrinter(sys.stderr),
                       log=None if quiet else _err)
    if format == Fmt.json:
        sys.stdout.write(report.to_json(stable=True))
    elif format == Fmt.csv:
        sys.stdout.write(report.artefacts["results.csv"].decode())
    else:
        _emit(front_table(report), format, wide=wide)


@app.command("check")
def check_cmd(
    budgets: Annotated[Path, typer.Argument(help="Budgets TOML file.", show_default=False, metavar="BUDGETS")],
    junit_xml: Annotated[Path | None, typer.Option("--junit-xml", help="Write JUnit XML here.")] = None,
    format: FormatOpt = Fmt.table,
) -> None:
    """Gate many model × target × budget entries (exit 1 if a budget fails; 2 if the file or an entry is
    invalid; 3 if an entry is unsupported by its target)."""
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
    _emit(rep, format)
    codes = {r.exit_code for r in results}
    for code in (EXIT_USAGE, EXIT_UNSUPPORTED, EXIT_INTERNAL, 1):  # the most severe outcome decides
        if code in codes:
            raise typer.Exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the app, map errors to one-line messages and exit codes.

    Every failure prints exactly one ``cnncc: error: ...`` line on stderr: usage errors of the command line
    (exit 2), CnnccErrors (their exit code), an interrupt (Ctrl-C, SIGINT: exit 130) and internal errors
    (exit 70; ``--debug`` adds the traceback). Library warnings never reach stderr."""
    import warnings

    from typer._click import exceptions as click_exc

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # recorded, never printed: where a warning matters (constant
            try:                             # folding, --verify) cnncc turns it into an error or a note
                rc = _app_for(args)(args=args, prog_name="cnncc", standalone_mode=False)
            finally:
                if debug:
                    for w in caught:
                        _err(f"cnncc: debug: {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})")
    except CnnccError as e:
        _debug_traceback(debug)
        _err(f"cnncc: error: {_one_line(str(e))}")
        sys.exit(e.exit_code)
    except click_exc.NoArgsIsHelpError as e:
        e.show()
        sys.exit(EXIT_USAGE)
    except click_exc.UsageError as e:
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        _err(f"cnncc: error: {_one_line(e.format_message())}{hint}")
        sys.exit(EXIT_USAGE)
    except click_exc.ClickException as e:
        _err(f"cnncc: error: {_one_line(e.format_message())}")
        sys.exit(e.exit_code if e.exit_code in (EXIT_USAGE, 1) else EXIT_USAGE)
    except (KeyboardInterrupt, typer.Abort):
        _err("cnncc: error: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(0)
    except MemoryError:
        _debug_traceback(debug)
        _err("cnncc: error: out of memory (the model or the requested work is too large for this machine)")
        sys.exit(EXIT_UNSUPPORTED)
    except Exception as e:  # noqa: BLE001 - the last line of defence: no traceback without --debug
        _debug_traceback(debug)
        _err(f"cnncc: internal error: {type(e).__name__}: {_one_line(str(e))} (run with --debug for the "
             f"traceback; please report it)")
        sys.exit(EXIT_INTERNAL)
    if isinstance(rc, int) and rc:
        if rc == EXIT_INTERRUPTED:  # typer maps a KeyboardInterrupt inside a command to Exit(130)
            _err("cnncc: error: interrupted")
        sys.exit(rc)


def _app_for(args: list[str]) -> typer.Typer:
    """The app to run ``args``: when they name a command, a copy of :data:`app` with that command only (typer
    builds the click command of every registered command at each start: ~10 ms of start-up for the eight that
    are not run); otherwise (``--help``, no or an unknown command: help and did-you-mean list all) the app."""
    rest = [a for a in args if a not in ("--debug",)]
    if not rest or os.environ.get("_CNNCC_COMPLETE"):
        return app
    chosen = [c for c in app.registered_commands if rest[0] == (c.name or (c.callback.__name__ if c.callback
                                                                          else None))]
    if len(chosen) != 1:
        return app
    lean = _new_app()
    lean.registered_callback = app.registered_callback
    lean.registered_commands = chosen
    return lean


#: Exit code after an interrupt (SIGINT, Ctrl-C): 128 + the signal number, as shells report it.
EXIT_INTERRUPTED = 130


def _debug_traceback(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()


if __name__ == "__main__":
    main()

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
from cnncc.errors import EXIT_INTERNAL, EXIT_UNSUPPORTED, EXIT_USAGE, CnnccError, UsageError

app = typer.Typer(name="cnncc", add_completion=True, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False,
                  help="Compile a CNN (ONNX) for Ethos-U65, OpenEdgeCGRA or a generic offloading accelerator "
                       "and report how it runs.")

class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _err(msg: str) -> None:
    sys.stderr.write(msg.rstrip("\n") + "\n")


def _stdout_console():
    from rich.console import Console

    return Console(file=sys.stdout, no_color=bool(os.environ.get("NO_COLOR")) or None, width=200
                   if not sys.stdout.isatty() else None)


def _emit(report, fmt: Fmt, timings: bool = False) -> None:
    """Print a report. JSON is byte-identical for the same inputs unless ``timings`` adds the measured
    ``*_time_s`` fields (solver and pass times)."""
    if fmt == Fmt.json:
        sys.stdout.write(report.to_json(stable=not timings))
    elif fmt == Fmt.csv:
        sys.stdout.write(report.to_csv())
    else:
        report.render_table(_stdout_console())


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
    """A progress callback drawing a bar on stderr, or None (not a TTY, --quiet, or machine output)."""
    if not enabled or not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import Progress

    prog = Progress(console=Console(file=sys.stderr), transient=True)
    tasks: dict[str, int] = {}

    def cb(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = prog.add_task(label, total=total)
        prog.update(tasks[label], completed=done, total=total)

    return cb, prog


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


@app.command()
def targets(format: FormatOpt = Fmt.table) -> None:
    """List the shipped targets."""
    from cnncc.report import Column, Report
    from cnncc.target import load_target, shipped_targets

    rows, seen = [], set()
    for name, path in shipped_targets().items():
        if path in seen:
            continue
        seen.add(path)
        t = load_target(name)
        aliases = sorted(n for n, p in shipped_targets().items() if p == path and n != name)
        rows.append({"name": t.name, "aliases": aliases, "backend": t.backend, "description": t.description,
                     "default_pipeline": t.default_pipeline})
    rep = Report("targets", {}, rows, {}, (Column("name", "target"), Column("aliases", "aliases"),
                                           Column("backend", "backend"), Column("description", "description")))
    _emit(rep, format)


@app.command()
def passes(format: FormatOpt = Fmt.table) -> None:
    """List the passes and their options."""
    from cnncc.passes import describe
    from cnncc.report import Column, Report

    rows = []
    for d in sorted(describe(), key=lambda d: d["name"]):
        opts = [f"{o['name']}={o['default']}" + (f" ({'|'.join(o['choices'])})" if o["choices"] else "")
                for o in d["options"]]
        rows.append({"name": d["name"], "options": opts, "description": d["summary"]})
    _emit(Report("passes", {}, rows, {}, (Column("name", "pass"), Column("options", "options"),
                                          Column("description", "description"))), format)


@app.command()
def compile(  # noqa: A001
    model: ModelArg,
    target: Annotated[str, typer.Option("--target", "-t", help="Shipped target name or a TOML file.")] = "cgra",
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p", help="Pass pipeline (default: the "
                                                 "target's; '' for none).")] = None,
    set_: SetOpt = None,
    format: FormatOpt = Fmt.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write report.json/.csv/.html and the "
                                             "backend's artefacts into this folder.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table or progress; only errors.")] = False,
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
    """Compile MODEL for a target and report latency, energy and the per-layer schedule."""
    from cnncc.backends import CompileOptions
    from cnncc.driver import compile_model
    from cnncc.target import load_target

    tgt = load_target(target, _overrides(set_))
    cb, prog = _progress(not quiet and format == Fmt.table)
    opts = CompileOptions(check=check, trace=trace, progress=cb)
    budgets = {"ms": budget_ms, "cycles": budget_cycles, "energy_uj": budget_energy_uj,
               "sram_bytes": budget_sram_bytes}
    if prog is not None:
        prog.start()
    try:
        report = compile_model(model, tgt, pipeline, options=opts, input_shapes=_shapes(input_shape),
                               pass_log=_err, print_ir_after=_ir_after(print_ir_after_all, print_ir_after),
                               time_passes=time_passes, out_dir=out, budgets=budgets, timings=timings)
    finally:
        if prog is not None:
            prog.stop()
    gates = report.gates()
    if not quiet:
        _emit(report, format, timings)
    if check and not quiet:
        checked = [row for row in report.layers if isinstance(row.get("check"), dict)]
        exact = sum(1 for row in checked if row["check"].get("bit_exact"))
        _err(f"check: {exact}/{len(checked)} simulated layers bit-exact against the reference interpreter"
             if checked else f"check: target {tgt.name} has no functional check; nothing was simulated")
    failed = [g for g in gates if not g.passed]
    for g in gates:
        if not quiet or not g.passed:
            _err(("FAIL " if not g.passed else "ok   ") + g.message())
    if failed:
        raise typer.Exit(1)


def _ir_after(all_: bool, names: str | None):
    if all_:
        return "all"
    if names:
        return {n.strip() for n in names.split(",") if n.strip()}
    return None


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
    graph = load_model(model, _shapes(input_shape))
    res = run_passes(graph, parsed, tgt, print_ir_after=_ir_after(print_ir_after_all, print_ir_after),
                     time_passes=time_passes, log=_err)
    write_onnx(res.graph, out)
    rows = [{"pass": p, "counter": k, "value": v} for p, c in res.counters.items() for k, v in c.items()]
    rep = Report("opt", {"model": model_input(model), "pipeline": str(parsed), "output": str(out)}, rows,
                 {"layers_before": len(graph.layers), "layers_after": len(res.graph.layers)},
                 (Column("pass", "pass"), Column("counter", "counter"), Column("value", "value")),
                 list(res.notes), dict(res.sections))
    if verify:
        from cnncc.verify import compare_models

        semantic = not any(p.NAME == "abconv" for p in parsed.passes)
        rep.sections["verify"] = compare_models(model, out, semantic=semantic)
    _emit(rep, format)
    _err(f"wrote {out}")


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
    targets: Annotated[str, typer.Option("--targets", help="Comma-separated targets.")] =
    "ethos-u65-256,cgra,offload",
    set_: SetOpt = None,
    format: FormatOpt = Fmt.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write compare.json and compare.html.")] = None,
    input_shape: ShapeOpt = None,
) -> None:
    """Compile MODEL for several targets and show them side by side."""
    from cnncc.compare import compare_targets

    names = [t.strip() for t in targets.split(",") if t.strip()]
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
                rc = app(args=args, prog_name="cnncc", standalone_mode=False)
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


#: Exit code after an interrupt (SIGINT, Ctrl-C): 128 + the signal number, as shells report it.
EXIT_INTERRUPTED = 130


def _one_line(text: str) -> str:
    """A message folded onto one line (newlines and runs of blanks become single spaces)."""
    return " ".join(text.split()) or "(no message)"


def _debug_traceback(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()


if __name__ == "__main__":
    main()

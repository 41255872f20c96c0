"""The ``cnncc`` command line (the only module that imports typer). Data goes to stdout, messages to stderr.

No ``from __future__ import annotations`` here: typer reads the parameters' annotations, and as strings each
would be compiled at every start (~15 M instructions, bench/startup.py).

Exit codes: 0 ok, 1 budget/gate failed or simulation mismatch, 2 usage/invalid input, 3 unsupported by the
target, 70 internal error.
"""


import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from cnncc import __version__
from cnncc.cli_commands import (
    run_check,
    run_compare,
    run_compile,
    run_export,
    run_inspect,
    run_opt,
    run_passes,
    run_sweep_cmd,
    run_targets,
)
from cnncc.cli_support import Fmt, _err, _one_line
from cnncc.errors import EXIT_INTERNAL, EXIT_UNSUPPORTED, EXIT_USAGE, CnnccError


def _new_app() -> typer.Typer:
    return typer.Typer(name="cnncc", add_completion=True, no_args_is_help=True, rich_markup_mode=None,
                       pretty_exceptions_enable=False,
                       help="Compile a CNN (ONNX) for Ethos-U65, OpenEdgeCGRA or a generic offloading accelerator "
                            "and report how it runs.")


app = _new_app()


def _done(rc: int) -> None:
    """End a command with its exit code (0: return normally)."""
    if rc:
        raise typer.Exit(rc)


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
    _done(run_inspect(model, format, input_shape))


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
    _done(run_targets(name, set_, format, wide))



@app.command()
def passes(format: FormatOpt = Fmt.table, wide: WideOpt = False) -> None:
    """List the passes and their options."""
    _done(run_passes(format, wide))


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
    _done(run_compile(model, target, pipeline, set_, format, out, quiet, wide, check, trace,
                      {"ms": budget_ms, "cycles": budget_cycles, "energy_uj": budget_energy_uj,
                       "sram_bytes": budget_sram_bytes}, input_shape, print_ir_after_all, print_ir_after,
                      time_passes, timings))


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
    _done(run_opt(model, pipeline, out, target, set_, verify, input_shape, print_ir_after_all, print_ir_after,
                  time_passes, format))


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
    _done(run_export(model, out, format == ExportFmt.tflite, pipeline, input_shape))


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
    _done(run_compare(model, targets, set_, format, out, input_shape))


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
    _done(run_sweep_cmd(sweep_file, jobs, scheduler, out, format, quiet, wide))


@app.command("check")
def check_cmd(
    budgets: Annotated[Path, typer.Argument(help="Budgets TOML file.", show_default=False, metavar="BUDGETS")],
    junit_xml: Annotated[Path | None, typer.Option("--junit-xml", help="Write JUnit XML here.")] = None,
    format: FormatOpt = Fmt.table,
) -> None:
    """Gate many model × target × budget entries (exit 1 if a budget fails; 2 if the file or an entry is
    invalid; 3 if an entry is unsupported by its target)."""
    _done(run_check(budgets, junit_xml, format))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the app, map errors to one-line messages and exit codes.

    Every failure prints exactly one ``cnncc: error: ...`` line on stderr: usage errors of the command line
    (exit 2), CnnccErrors (their exit code), an interrupt (Ctrl-C, SIGINT: exit 130) and internal errors
    (exit 70; ``--debug`` adds the traceback). Library warnings never reach stderr."""
    import warnings

    from typer._click import exceptions as click_exc

    args = sys.argv[1:] if argv is None else argv
    _one_blas_thread()
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


#: Environment variables by which a user chooses numpy's BLAS threads (OpenBLAS reads them in this order).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def _one_blas_thread() -> None:
    """Run numpy's BLAS on one thread unless the user chose a number (:data:`BLAS_THREAD_VARS`): a compile's matrix
    products are small (the codec search's, a few hundred rows), so OpenBLAS's thread pool only costs its start
    and its spinning, ~50 ms of CPU per process (bench/startup.py); sweep workers inherit it (one core each)."""
    if "numpy" not in sys.modules and not any(v in os.environ for v in BLAS_THREAD_VARS):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


#: Exit code after an interrupt (SIGINT, Ctrl-C): 128 + the signal number, as shells report it.
EXIT_INTERRUPTED = 130


def _debug_traceback(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()


if __name__ == "__main__":
    main()

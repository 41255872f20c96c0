"""Helpers of the command line that need no typer: notes, success lines, target key listings (``cli.py`` stays
the only module that imports typer)."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path

from cnncc.errors import UsageError

#: unit words of target keys by their name's suffix (for keys of backends without field docs)
_UNIT_SUFFIXES = (("_hz", "Hz"), ("_bytes_per_cycle", "B/cycle"), ("_bytes", "bytes"), ("_pj", "pJ"),
                  ("_uj", "µJ"), ("_cycles", "cycles"), ("_ms", "ms"), ("_s", "s"), ("_pct", "%"))


def _shape_notes(model: Path, shapes: dict[str, str]) -> list[str]:
    """A note for every ``--input-shape`` that replaces a static (fully numeric) input shape of the model: the
    MACs and every cost change with it."""
    if not shapes:
        return []
    from cnncc.frontend.onnx.wire import decode_model

    try:
        m = decode_model(Path(model).read_bytes())
    except (OSError, ValueError):  # not readable or not an ONNX protobuf (wire.WireError): no note
        return []
    notes = []
    for vi in m.graph.input:
        dims = vi.type.tensor_type.shape.dim
        if vi.name in shapes and dims and all(d.HasField("dim_value") for d in dims):
            static = "x".join(str(d.dim_value) for d in dims)
            if static != shapes[vi.name].replace(" ", ""):
                notes.append(f"--input-shape {vi.name}={shapes[vi.name]} replaces the model's static shape "
                             f"{static}: MACs, memory and cycles are those of the new shape")
    return notes


def _target_keys(name: str, overrides: list[tuple[str, str]]):
    """One row per key of a target: from its typed spec (``spec.describe()``), else from its plain params."""
    from cnncc.report import Column, Report
    from cnncc.target import load_target

    t = load_target(name, overrides)
    if t.spec is not None:
        rows = t.spec.describe()
    else:
        base = load_target(name)
        flat_now, flat_base = _flatten(t.params), _flatten(base.params)
        rows = [{"key": k, "type": _type_word(v), "unit": next((u for suf, u in _UNIT_SUFFIXES if k.endswith(suf)),
                                                             ""),
                 "default": flat_base.get(k), "value": v, "doc": ""} for k, v in flat_now.items()]
    for r in rows:
        r["name"] = r["key"]
        r["changed"] = r.get("value") != r.get("default")
    cols = (Column("key", "key"), Column("type", "type"), Column("unit", "unit"), Column("default", "default"),
            Column("value", "value"), Column("doc", "doc"))
    title = f"{t.name} ({t.backend}): {t.description}" if t.description else f"{t.name} ({t.backend})"
    return Report("targets", {"target": t.to_dict()}, rows, {}, cols, title=title,
                  notes=[f"{sum(r['changed'] for r in rows)} of {len(rows)} keys differ from their default; "
                         f"change one with --set KEY=VALUE"])


def _flatten(params, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in sorted(params.items()):
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _type_word(v) -> str:
    if isinstance(v, (list, tuple)):
        return f"list[{_type_word(v[0]) if v else 'str'}]"
    return type(v).__name__


def _verify_line(res: dict) -> str:
    """The ``--verify`` success line (a failure raised MismatchError before): the measured errors."""
    outs = len(res.get("outputs", []))
    if res.get("max_rel_err") is None:
        return (f"verify ok: {outs} output(s) have the original shapes (values not compared: the pipeline "
                f"changes the arithmetic, e.g. abconv)")
    return (f"verify ok: {outs} output(s) match onnxruntime on seeded random inputs (seed {res.get('seed')}): "
            f"max abs error {res['max_abs_err']:.3g}, max relative error {res['max_rel_err']:.3g} "
            f"(tolerance {res.get('tolerance', 0):.3g})")


def _target_list() -> str:
    from cnncc.target import shipped_targets

    return ", ".join(sorted(shipped_targets()))


def _check_line(layers: list, target_name: str) -> str:
    """The ``--check`` success line: how many layers were simulated bit-exact and the largest error measured."""
    checked = [row for row in layers if isinstance(row.get("check"), dict)]
    ran = [row for row in checked if row["check"].get("bit_exact") is not None]
    if not ran:
        return f"check: target {target_name} has no functional check; nothing was simulated"
    exact = sum(1 for row in ran if row["check"].get("bit_exact"))
    errs = [row["check"].get("max_abs_error") for row in ran if isinstance(row["check"].get("max_abs_error"),
                                                                          (int, float))]
    skipped = len(checked) - len(ran)
    worst = f"; max abs error {max(errs)}" if errs else ""
    skip = f"; {skipped} layer(s) not simulated" if skipped else ""
    verdict = "ok" if exact == len(ran) else "MISMATCH"
    return (f"check {verdict}: {exact}/{len(ran)} simulated layers bit-exact against the reference "
            f"interpreter{worst}{skip}")


def _ir_after(all_: bool, names: str | None):
    if all_:
        return "all"
    if names:
        return {n.strip() for n in names.split(",") if n.strip()}
    return None


def _one_line(text: str) -> str:
    """A message folded onto one line (newlines and runs of blanks become single spaces)."""
    return " ".join(text.split()) or "(no message)"


# ----------------------------------------------------------------- data on stdout, messages on stderr
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

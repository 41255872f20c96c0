"""The compile driver shared by the CLI and the Python API: load -> pipeline -> backend -> Report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from cnncc.backends import CompileOptions
from cnncc.errors import InternalError, IRVerifyError, UsageError
from cnncc.ir.graph import Graph
from cnncc.report import Report, layer_identity, model_input
from cnncc.target import Target, load_target


def load_model(path: str | Path, input_shapes: Mapping[str, Any] | None = None) -> Graph:
    """Load an ONNX or TFLite file (format detected by content) into the IR (InvalidModelError/UnsupportedError
    on bad input)."""
    from cnncc.frontend.detect import load_any

    return load_any(path, input_shapes)


def run_passes(graph: Graph, pipeline, target: Target | None = None, **kw):
    """Run a pipeline (text or parsed); returns the pipeline result (graph, counters, notes, sections).
    A graph that fails verification after a pass is a bug in that pass: reported as internal (exit 70)."""
    from cnncc.pipeline import parse_pipeline, run_pipeline

    if isinstance(pipeline, str):
        pipeline = parse_pipeline(pipeline)
    try:
        return run_pipeline(graph, pipeline, target=target, **kw)
    except IRVerifyError as e:
        raise InternalError(f"pass produced an invalid graph: {e}") from e


def _inputs(model_path: Path | None, graph: Graph, target: Target | None, pipeline_text: str | None) -> dict:
    d: dict[str, Any] = {}
    if model_path is not None:
        d["model"] = model_input(model_path)
    else:
        d["model"] = {"path": None, "sha256": None, "graph": graph.name}
    if target is not None:
        d["target"] = target.to_dict()
    if pipeline_text is not None:
        d["pipeline"] = pipeline_text
    return d


def compile_model(model: str | Path | Graph, target: str | Target = "cgra", pipeline: str | None = None,
                  overrides: Mapping[str, Any] | None = None, options: CompileOptions | None = None,
                  input_shapes: Mapping[str, Any] | None = None, pass_log=None, print_ir_after=None,
                  time_passes: bool = False, out_dir: str | Path | None = None,
                  budgets: Mapping[str, float | None] | None = None, timings: bool = False) -> Report:
    """Compile a model for a target. ``pipeline=None`` runs the target's default pipeline; ``""`` runs none.
    ``overrides`` are target keys (typed values, or strings parsed as the key's type). ``budgets`` (``ms``,
    ``cycles``, ``energy_uj``, ``sram_bytes``) are checked into ``report.sections["budgets"]``. With ``out_dir``
    the driver writes report.json/csv/html and the backend's artefacts there, atomically. A ``--check`` mismatch
    raises :class:`MismatchError` after the outputs are written."""
    if isinstance(target, str):
        target = load_target(target, dict(overrides or {}))
    elif overrides:
        raise UsageError("overrides are given with a target name, not a loaded Target")
    from cnncc.output import preflight_file, preflight_folder

    if out_dir is not None:  # refuse an unusable -o / --trace before the (possibly long) compile
        preflight_folder(out_dir)
    if options is not None and options.trace is not None:
        preflight_file(options.trace)
    model_path = None
    if isinstance(model, Graph):
        graph = model
    else:
        model_path = Path(model)
        graph = load_model(model_path, input_shapes)
    pipeline_text = target.default_pipeline if pipeline is None else pipeline
    notes: list[str] = []
    counters: dict = {}
    sections: dict = {}
    if pipeline_text:
        from cnncc.pipeline import parse_pipeline

        parsed = parse_pipeline(pipeline_text)
        res = run_passes(graph, parsed, target, print_ir_after=print_ir_after, time_passes=time_passes,
                         log=pass_log)
        graph, counters, notes, sections = res.graph, res.counters, list(res.notes), dict(res.sections)
        pipeline_text = str(parsed)
    options = options or CompileOptions()
    from cnncc.assemble import assemble_report

    options = replace(options, want_artefacts=options.want_artefacts or out_dir is not None)
    report = assemble_report(target.backend_impl().compile(graph, target, options), target)
    _add_intensities(report, graph)
    report.inputs = _inputs(model_path, graph, target, pipeline_text)
    report.notes = notes + report.notes
    if counters:
        report.sections["passes"] = counters
    for k, v in sections.items():
        report.sections.setdefault(k, v)
    if budgets:
        from cnncc.gate import check_budgets

        gates = check_budgets(report.totals, report.layers, dict(budgets), target.name)
        if gates:
            report.sections["budgets"] = [g.as_dict() for g in gates]
    if out_dir is not None:
        write_outputs(report, out_dir, timings)
    if options.trace is not None and report.trace is not None:
        from cnncc.output import write_file

        write_file(options.trace, report.trace)
    if report.mismatches:
        from cnncc.errors import MismatchError

        where = f"; outputs written to {out_dir}" if out_dir is not None else ""
        raise MismatchError(f"--check: {len(report.mismatches)} mismatch(es): {report.mismatches[0]}{where}")
    return report


def write_outputs(report: Report, out_dir: str | Path, timings: bool = False) -> None:
    """Write report.json, report.csv, report.html and the report's artefacts as the new contents of
    ``out_dir`` (atomically: :func:`cnncc.output.write_folder`)."""
    from cnncc.html import render_html
    from cnncc.output import write_folder

    d = report.to_dict(stable=not timings)
    files: dict[str, str | bytes] = {"report.json": report.to_json(stable=not timings), "report.csv": report.to_csv(),
                                     "report.html": render_html(d)}
    for rel, blob in report.artefacts.items():
        if rel in files:
            raise InternalError(f"backend artefact {rel!r} collides with a report file")
        files[rel] = blob
    write_folder(out_dir, files)


def _add_intensities(report: Report, graph: Graph) -> None:
    """Give every compile row the arithmetic intensities of its IR layer (matched by output tensor) unless the
    backend set them; the roofline chart and ``compare`` read them."""
    by_output = {layer.outputs[0]: layer for layer in graph.layers}
    for row in report.layers:
        layer = by_output.get(str(row.get("output")))
        if layer is None or "ai" in row:
            continue
        for k, v in graph.intensities(layer).as_dict().items():
            row.setdefault(k, v)


def inspect_graph(graph: Graph, model_path: Path | None) -> Report:
    """Per-layer name, op, output shape and element type (``/q``: quantised, with scales), MACs, params and
    arithmetic intensities (abconv.md, from the real element sizes), with totals (``weight_bytes`` at the
    weights' own dtypes)."""
    from cnncc.report import Column

    rows = []
    for layer in graph.layers:
        row = layer_identity(layer, graph)
        out_t = graph.type_of(layer.outputs[0])
        row["output_shape"] = list(out_t.shape)
        row["dtype"] = out_t.dtype + ("/q" if out_t.quant is not None else "")
        ws = graph.weight_inputs(layer)
        row["weight_dtype"] = graph.type_of(ws[0]).dtype if ws else None
        row["macs"] = graph.macs(layer)
        row["params"] = graph.params(layer)
        row.update(graph.intensities(layer).as_dict())
        rows.append(row)
    totals = {"layers": len(rows), "macs": sum(r["macs"] for r in rows),
              "params": sum(int(a.size) for a in graph.weights.values()),
              "weight_bytes": sum(int(a.nbytes) for a in graph.weights.values())}
    cols = (Column("name", "layer"), Column("op", "op"), Column("output_shape", "output"), Column("dtype", "dtype"),
            Column("macs", "MACs", ","), Column("params", "params", ","), Column("ai_in", "AI_in", ".1f"),
            Column("ai_w", "AI_w", ".1f"), Column("ai_out", "AI_out", ".1f"), Column("ai", "AI", ".2f"),
            Column("ai_bound", "bound"))
    return Report("inspect", _inputs(model_path, graph, None, None), rows, totals, cols,
                  title=f"{graph.name}: {len(rows)} layers")

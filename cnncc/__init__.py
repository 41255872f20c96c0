"""cnncc: a compiler toolchain that tells how a CNN (ONNX) runs on Ethos-U65, OpenEdgeCGRA and a generic
offloading accelerator.

Python API (no typer/rich import on this path)::

    import cnncc
    g = cnncc.load("model.onnx")
    r = cnncc.compile(g, target="ethos-u65-256")
    print(r.total["latency_ms"])
"""

from __future__ import annotations

from cnncc import codecache as _codecache

_codecache.install()  # before any record is defined: dataclass methods compiled once, not at every start

__version__ = "0.1.0"

__all__ = ["__version__", "load", "compile", "sweep"]


def load(path, input_shapes=None):
    """Load an ONNX or TFLite model (detected by content) into the layer IR (:class:`cnncc.ir.Graph`)."""
    from cnncc.frontend.detect import load_any

    return load_any(path, input_shapes)


def compile(model, target: str = "cgra", pipeline: str | None = None, **overrides):  # noqa: A001
    """Compile ``model`` (a path or a Graph) for ``target``; keyword overrides are target ``--set`` keys.
    Returns a :class:`cnncc.report.Report`."""
    from cnncc.driver import compile_model

    return compile_model(model, target=target, pipeline=pipeline, overrides=overrides)


def sweep(sweep_file, jobs: int | None = None, scheduler: str | None = None, out_dir=None, progress=None,
          log=None):
    """Run a design-space sweep file (``cnncc sweep``): ``jobs`` local worker processes (default: the cores) or
    a Dask ``scheduler`` address; results go to ``out_dir`` (default ``<file stem>.sweep/``) and a rerun skips
    the points already there; ``progress(p)`` gets a :class:`cnncc.sweep.execute.Progress` per finished point,
    ``log(text)`` the plan. Returns the sweep :class:`cnncc.report.Report` (Pareto fronts in
    ``report.sections["pareto"]``)."""
    from cnncc.sweep import sweep as run_sweep

    return run_sweep(sweep_file, jobs=jobs, scheduler=scheduler, out_dir=out_dir, progress=progress,
                     log=log)

"""cnncc: a compiler toolchain that tells how a CNN (ONNX) runs on Ethos-U65, OpenEdgeCGRA and a generic
offloading accelerator.

Python API (no typer/rich import on this path)::

    import cnncc
    g = cnncc.load("model.onnx")
    r = cnncc.compile(g, target="ethos-u65-256")
    print(r.total["latency_ms"])
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load", "compile"]


def load(path, input_shapes=None):
    """Load an ONNX or TFLite model (detected by content) into the layer IR (:class:`cnncc.ir.Graph`)."""
    from cnncc.frontend.detect import load_any

    return load_any(path, input_shapes)


def compile(model, target: str = "cgra", pipeline: str | None = None, **overrides):  # noqa: A001
    """Compile ``model`` (a path or a Graph) for ``target``; keyword overrides are target ``--set`` keys.
    Returns a :class:`cnncc.report.Report`."""
    from cnncc.driver import compile_model

    return compile_model(model, target=target, pipeline=pipeline, overrides=overrides)

"""ONNX <-> layer IR: :func:`load_onnx` (reader) and :func:`write_onnx` / :func:`to_onnx` (writer).

The names are re-exported lazily so that importing this package does not import the ``onnx`` library."""

from __future__ import annotations

from typing import Any

__all__ = ["load_onnx", "parse_shape", "write_onnx", "to_onnx"]


def __getattr__(name: str) -> Any:
    if name in ("load_onnx", "parse_shape"):
        from cnncc.frontend.onnx import reader

        return getattr(reader, name)
    if name in ("write_onnx", "to_onnx"):
        from cnncc.frontend.onnx import writer

        return getattr(writer, name)
    raise AttributeError(name)

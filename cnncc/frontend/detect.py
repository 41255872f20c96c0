"""Model format detection by content, not by file extension.

TFLite flatbuffers carry the file identifier ``TFL3`` at bytes 4..8. ONNX files are protobuf ``ModelProto``
messages, which start with a field tag byte (``ir_version`` is field 1, varint: 0x08; others are length-delimited
fields such as 0x12 producer_name, 0x3a graph, 0x42 opset_import). Anything else is refused as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cnncc.errors import InvalidModelError

#: first bytes a serialised ONNX ModelProto can start with (tag bytes of its fields 1-20)
_ONNX_TAGS = {(f << 3) | wt for f in range(1, 21) for wt in (0, 2)}


def detect_format(path: str | Path) -> str:
    """``"tflite"`` or ``"onnx"`` from the file's first bytes; InvalidModelError (exit 2) otherwise."""
    from cnncc.fileio import regular_file_size

    p = Path(path)
    regular_file_size(p, "a model file (.onnx or .tflite)")
    try:
        with open(p, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise InvalidModelError(f"{p}: cannot read: {e.strerror}") from None
    if not head:
        raise InvalidModelError(f"{p}: empty file, not an ONNX or TFLite model")
    if len(head) >= 8 and head[4:8] == b"TFL3":
        return "tflite"
    if head[0] in _ONNX_TAGS:
        return "onnx"
    raise InvalidModelError(f"{p}: unknown model format (neither an ONNX protobuf nor a TFLite flatbuffer with "
                            f"the TFL3 identifier)")


def load_any(path: str | Path, input_shapes: Mapping[str, Any] | None = None):
    """Load an ONNX or TFLite model (detected by content) into a verified :class:`cnncc.ir.Graph`."""
    if detect_format(path) == "tflite":
        from cnncc.frontend.tflite.reader import load_tflite

        return load_tflite(path, input_shapes)
    from cnncc.frontend.onnx.reader import load_onnx

    return load_onnx(path, input_shapes=input_shapes)

"""Checks of an exported int8 TFLite against tools cnncc did not write: Arm Vela 5.2.0 (compiles it; which
operators it leaves to the CPU) and the LiteRT interpreter (what it computes, against onnxruntime on the float
ONNX model)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HAVE_VELA = importlib.util.find_spec("ethosu") is not None
HAVE_LITERT = importlib.util.find_spec("ai_edge_litert") is not None
ACCEL = "ethos-u65-256"


def export(model, workdir: Path | None = None, input_shapes=None):
    """ONNX (path, or ModelProto saved into ``workdir``) -> (IR graph after ``cnncc export``'s default
    pipeline, TFLite bytes)."""
    import onnx

    from cnncc.driver import run_passes
    from cnncc.frontend.onnx import load_onnx
    from cnncc.frontend.tflite.writer import to_tflite_bytes

    if isinstance(model, onnx.ModelProto):
        path = Path(workdir or ".") / f"{model.graph.name}.onnx"
        onnx.save(model, str(path))
        model = path
    g = run_passes(load_onnx(model, input_shapes), "fold-bn,fuse-act").graph
    return g, to_tflite_bytes(g)[0]


def vela_compile(data: bytes, workdir: Path, name: str, accel: str = ACCEL) -> dict:
    """Compile with Vela in-process (``--accelerator-config accel``). Returns ``rc``, ``log`` (Vela's stdout) and
    ``cpu_ops``: [(builtin code, output tensor name)] of every operator Vela left outside the NPU."""
    from ethosu.vela.vela import main as vela_main

    src = workdir / f"{name}.tflite"
    src.write_bytes(data)
    out_dir = workdir / f"vela_{name}"
    with tempfile.TemporaryFile("w+") as log, _fd_redirect(log):
        rc = vela_main([str(src), "--accelerator-config", accel, "--output-dir", str(out_dir)])
        sys.stdout.flush()
        log.seek(0)
        text = log.read()
    res = {"rc": rc, "log": text, "cpu_ops": []}
    out = out_dir / f"{name}_vela.tflite"
    if rc == 0 and out.exists():
        res["cpu_ops"] = cpu_operators(out.read_bytes())
    return res


@contextlib.contextmanager
def _fd_redirect(f):
    """Send file descriptors 1 and 2 (Python's and Vela's C++ core's output) to ``f`` for the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        with contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def cpu_operators(data: bytes) -> list[tuple[str, str]]:
    """The operators of a Vela output file other than its NPU custom operators: (code name, output name)."""
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator

    names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
    m = tflite.Model.GetRootAsModel(data, 0)
    sg = m.Subgraphs(0)
    out = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        b = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if b == BuiltinOperator.CUSTOM:
            continue
        out.append((names.get(b, str(b)), sg.Tensors(op.Outputs(0)).Name().decode()))
    return out


def litert_run(data: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """Run the int8 TFLite on float NCHW feeds (quantised with the input's parameters); outputs dequantised,
    4-D ones back in NCHW."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # the built-in kernels without the XNNPACK delegate (which refuses int8 concatenations of mixed scales)
    it = Interpreter(model_content=data, num_threads=1,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), feeds):
        s, z = d["quantization"]
        xs = x.transpose(0, 2, 3, 1) if x.ndim == 4 else x
        it.set_tensor(d["index"], np.clip(np.round(xs / s) + z, -128, 127).astype(np.int8))
    it.invoke()
    outs = []
    for d in it.get_output_details():
        s, z = d["quantization"]
        y = (it.get_tensor(d["index"]).astype(np.float64) - z) * s
        outs.append(y.transpose(0, 3, 1, 2) if y.ndim == 4 else y)
    return outs


def rel_error(got: np.ndarray, ref: np.ndarray) -> float:
    """max |got − ref| / max |ref| (shapes must agree)."""
    assert got.shape == ref.shape, f"shape {got.shape} != reference {ref.shape}"
    return float(np.abs(got - ref).max() / max(float(np.abs(ref).max()), 1e-9))

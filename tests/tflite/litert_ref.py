"""Run a .tflite file in LiteRT (``ai-edge-litert``) and in cnncc's integer interpreter on the same seeded
inputs, and compare every tensor both produce (the graph outputs and, by name, the intermediates)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnncc.frontend.tflite.reader import load_tflite, variable_inits
from cnncc.ir.interp import run


@dataclass(frozen=True)
class Agreement:
    """Largest |cnncc - LiteRT| in integer steps (LSB) over the graph outputs and over every shared tensor."""

    outputs_lsb: float
    tensors_lsb: float
    compared: int
    worst_tensor: str

    @property
    def verdict(self) -> str:
        return "bit-exact" if self.outputs_lsb == 0 else f"<= {self.outputs_lsb:g} LSB"


def litert_interpreter(path: str | Path, resolver: str = "BUILTIN_REF"):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(path), experimental_op_resolver_type=getattr(OpResolverType, resolver),
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    return it


def compare(path: str | Path, resolver: str = "BUILTIN_REF", seed: int = 0) -> Agreement:
    """Feed seeded random inputs (full integer range / uniform[-1, 1] floats) to both and compare."""
    g = load_tflite(path)
    it = litert_interpreter(path, resolver)
    rng = np.random.default_rng(seed)
    feeds = dict(variable_inits(path))
    for d in it.get_input_details():
        dt = d["dtype"]
        if np.issubdtype(dt, np.integer):
            a = rng.integers(np.iinfo(dt).min, np.iinfo(dt).max + 1, d["shape"], dtype=dt)
        else:
            a = rng.uniform(-1, 1, d["shape"]).astype(dt)
        it.set_tensor(d["index"], a)
        feeds[d["name"]] = np.transpose(a, (0, 3, 1, 2)) if a.ndim == 4 else a
    it.invoke()
    env = run(g, feeds, keep_all=True)
    out_names = {d["name"] for d in it.get_output_details()}
    worst_out = worst_all = 0.0
    worst_name, n = "", 0
    for d in it.get_tensor_details():
        name = d["name"]
        if name not in env or name in g.weights:
            continue
        try:
            ref = it.get_tensor(d["index"])
        except ValueError:
            continue
        mine = env[name]
        ref = np.transpose(ref, (0, 3, 1, 2)) if ref.ndim == 4 else ref
        assert ref.shape == mine.shape, (name, ref.shape, mine.shape)
        diff = float(np.max(np.abs(ref.astype(np.float64) - mine.astype(np.float64)))) if ref.size else 0.0
        if not np.issubdtype(ref.dtype, np.integer):  # float tensors: compare relative to their range
            diff = diff / max(float(np.max(np.abs(ref))), 1e-6) if ref.size else 0.0
        n += 1
        if diff > worst_all:
            worst_all, worst_name = diff, name
        if name in out_names:
            worst_out = max(worst_out, diff)
    return Agreement(worst_out, worst_all, n, worst_name)

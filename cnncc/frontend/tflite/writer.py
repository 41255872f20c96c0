"""Write the IR as an int8 TFLite flatbuffer (what Arm's Vela compiles), without TensorFlow.

The flatbuffer is built with the ``flatbuffers`` runtime and the TFLite schema classes of the ``tflite`` PyPI
package. Activations are int8 with per-tensor asymmetric scales (calibrated by running the reference interpreter
on one deterministic random input; a fixed range where it cannot run), weights int8 with per-channel symmetric
scales, biases int32 at ``input_scale·weight_scale``. 4-D activations are stored NHWC (TFLite's layout); ops
that depend on the ONNX axis order (Reshape, Transpose of 4-D maps) get explicit TRANSPOSEs so the file computes
what the IR computes. Each op's output tensor is named after its IR layer, so Vela's per-layer report can be
matched to cnncc's by name. Unsupported IR ops raise :class:`UnsupportedError` (exit 3).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.frontend.tflite.builder import ModelBuilder
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer
from cnncc.ir.quant import quantize_weights  # noqa: F401 - re-exported (writer_ops, writer_lower)

#: NCHW axis -> NHWC axis for 4-D maps
_AXIS_4D = (0, 3, 1, 2)
_NCHW_TO_NHWC = (0, 2, 3, 1)
_NHWC_TO_NCHW = (0, 3, 1, 2)
DEFAULT_RANGE = (-4.0, 4.0)


def write_tflite(graph: Graph, path: str | Path, calibrate: bool = True) -> dict:
    """Write ``graph`` as an int8 TFLite file at ``path`` (atomically). Returns a summary dict
    (``operators``: count, ``bytes``: file size, ``calibrated``: whether ranges came from the interpreter)."""
    from cnncc.report import atomic_write

    data, summary = to_tflite_bytes(graph, calibrate)
    atomic_write(path, data)
    return summary


def to_tflite_bytes(graph: Graph, calibrate: bool = True) -> tuple[bytes, dict]:
    """The TFLite flatbuffer of ``graph`` and a summary dict. A quantised graph keeps its own quantisation."""
    from cnncc.ir.quant import dequantized_view, is_quantized

    graph = dequantized_view(graph) if is_quantized(graph) else graph
    samples = _calibration_values(graph) if calibrate else None
    ranges = share_concat_ranges(graph, _ranges_of(samples or {}))
    ex = _Exporter(graph, ranges, samples or {})
    for layer in graph.layers:
        ex.layer(layer)
    data = ex.mb.finish([ex.tmap[i] for i in graph.inputs], [ex.tmap[o] for o in graph.outputs], graph.name)
    return data, {"operators": len(ex.mb.operators), "bytes": len(data), "calibrated": samples is not None}


def _calibration_values(graph: Graph) -> dict[str, np.ndarray] | None:
    """Every activation of the reference interpreter on one seeded uniform[-1, 1] input (None when it cannot
    run: calibration is best effort, fixed ranges are the fallback)."""
    from cnncc.ir.interp import run

    rng = np.random.default_rng(0)
    feeds = {i: rng.uniform(-1, 1, graph.types[i].shape).astype(np.float32) for i in graph.inputs}
    try:
        return run(graph, feeds, keep_all=True)
    except Exception:  # noqa: BLE001 - calibration is best effort; fixed ranges are a valid fallback
        return None


def _ranges_of(values: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """Min/max of every finite, non-empty activation."""
    out = {}
    for k, v in values.items():
        a = np.asarray(v, dtype=np.float64)
        if a.size and np.all(np.isfinite(a)):
            out[k] = (float(a.min()), float(a.max()))
    return out


def share_concat_ranges(graph: Graph, ranges: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Give every Concat's inputs and output one range (their union): TFLite's int8 CONCATENATION requires one
    quantisation for all of them, and producers with a free output scale then need no requantisation. A view
    (Reshape, Flatten, Transpose, Identity) keeps its input's quantisation in the file, so an input reached through
    views shares the range back to the view chain's source (else the file requantises it with a QUANTIZE)."""
    out = dict(ranges)
    cats = [layer for layer in graph.layers if isinstance(layer.op, O.Concat)]
    views = (O.Reshape, O.Flatten, O.Transpose, O.Identity)

    def through_views(t: str) -> list[str]:
        chain = [t]
        prod = graph.producer(t)
        while prod is not None and isinstance(prod.op, views) and prod.inputs[0] not in chain:
            chain.append(prod.inputs[0])
            prod = graph.producer(prod.inputs[0])
        return chain

    for _ in range(len(cats) + 1):  # concats of concats: repeat until no range grows
        changed = False
        for layer in cats:
            names = [n for t in layer.inputs for n in through_views(t)] + [layer.outputs[0]]
            rs = [out.get(n, DEFAULT_RANGE) for n in names]
            u = (min(r[0] for r in rs), max(r[1] for r in rs))
            for n in names:
                if out.get(n) != u:
                    out[n], changed = u, True
        if not changed:
            break
    return out


def range_of(a: np.ndarray | None, fallback: tuple[float, float] = DEFAULT_RANGE) -> tuple[float, float]:
    """(min, max) of a sample array, or ``fallback`` when there is none (or it is not finite)."""
    if a is None or not np.size(a) or not np.all(np.isfinite(a)):
        return fallback
    return float(np.min(a)), float(np.max(a))


def quant_params(lo: float, hi: float, q=None) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero point) covering [lo, hi] ∪ {0}; a tensor's existing per-tensor
    ``q`` (:class:`cnncc.ir.types.QuantParams` of a quantised input model) is kept as it is."""
    if q is not None and not q.per_axis:
        return float(q.scale[0]), int(q.zero_point[0])
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max((hi - lo) / 255.0, 1e-6)
    zp = int(round(-128 - lo / scale))
    return scale, max(-128, min(127, zp))


def same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int, int]:
    """TFLite SAME padding along one axis: (output size, pad before, pad after)."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return out, total // 2, total - total // 2


class _Exporter:
    def __init__(self, graph: Graph, ranges: dict, samples: dict | None = None):
        self.g = graph
        self.ranges = ranges
        self.samples: dict[str, np.ndarray] = samples or {}  # calibration values (IR layout) for lowerings
        self.mb = ModelBuilder()
        self.col_perm: dict[str, np.ndarray] = {}  # flattened NHWC map -> FC weight column permutation
        self.tmap: dict[str, int] = {}  # IR activation tensor -> TFLite tensor index (NHWC if 4-D)
        for i in graph.inputs:
            self.tmap[i] = self.act_tensor(i, i)

    # ------------------------------------------------------------------ tensors
    def shape_of(self, ir_name: str) -> tuple[int, ...]:
        s = self.g.type_of(ir_name).shape
        return tuple(s[a] for a in _NCHW_TO_NHWC) if len(s) == 4 else tuple(s)

    def qp(self, ir_name: str) -> tuple[float, int]:
        lo, hi = self.ranges.get(ir_name, DEFAULT_RANGE)
        return quant_params(lo, hi, q=self.g.weights.quant.get(ir_name))

    def act_tensor(self, ir_name: str, tfl_name: str, shape=None, q=None) -> int:
        scale, zp = q or self.qp(ir_name)
        return self.mb.tensor(tfl_name, shape or self.shape_of(ir_name), "int8", scales=[scale], zps=[zp])

    def out_tensor(self, layer: Layer, k: int = 0) -> int:
        name = layer.name if k == 0 else f"{layer.name}:{k}"
        idx = self.act_tensor(layer.outputs[k], name)
        self.tmap[layer.outputs[k]] = idx
        return idx

    def in_scale(self, ir_name: str) -> float:
        return self.mb.scale_of(self.tmap[ir_name])

    def mid(self, name: str, shape, lo_hi: tuple[float, float]) -> int:
        """An int8 intermediate tensor (stored ``shape``) quantised over ``lo_hi`` ∪ {0}."""
        return self.mb.tensor(name, shape, "int8", scales=[quant_params(*lo_hi)[0]], zps=[quant_params(*lo_hi)[1]])

    def like(self, name: str, shape, src: int) -> int:
        """An int8 tensor of stored ``shape`` with the quantisation of tensor ``src``."""
        return self.mb.tensor(name, shape, "int8", scales=[self.mb.scale_of(src)], zps=[self.mb.zp_of(src)])

    def const_i8(self, name: str, a: np.ndarray) -> int:
        """A constant int8 tensor (per-tensor asymmetric) holding the float array ``a`` (already stored layout)."""
        a = np.asarray(a, np.float64)
        scale, zp = quant_params(float(a.min(initial=0.0)), float(a.max(initial=0.0)))
        q = np.clip(np.round(a / scale) + zp, -128, 127)
        return self.mb.tensor(name, a.shape, "int8", q, scales=[scale], zps=[zp])

    def stored(self, a: np.ndarray, rank: int) -> np.ndarray:
        """An IR-layout constant broadcast to ``rank`` (leading 1s, numpy rules) in stored layout."""
        a = np.asarray(a, np.float64)
        a = a.reshape((1,) * (rank - a.ndim) + a.shape)
        return a.transpose(_NCHW_TO_NHWC) if rank == 4 else a

    def sample(self, ir_name: str) -> np.ndarray | None:
        """The calibration value of an IR tensor (weights included), or None."""
        if ir_name in self.samples:
            return np.asarray(self.samples[ir_name], np.float64)
        if self.g.is_weight(ir_name):
            return np.asarray(self.g.weights[ir_name], np.float64)
        return None

    def pre_act_range(self, layer: Layer) -> tuple[float, float]:
        """Range of ``layer``'s output before its fused activation (the layer re-run on the calibration values;
        the output's own range when they are missing)."""
        from dataclasses import replace

        from cnncc.ir.interp import run_layer

        got = [self.sample(t) for t in layer.inputs]
        args = [a.astype(np.float32) for a in got if a is not None]
        if len(args) != len(got):
            return self.ranges.get(layer.outputs[0], DEFAULT_RANGE)
        try:
            bare = replace(layer.op, **{"act": None})  # every op with a fused activation has an ``act`` field
            y = run_layer(replace(layer, op=bare), args)[0]
        except Exception:  # noqa: BLE001 - best effort, as calibration itself
            return self.ranges.get(layer.outputs[0], DEFAULT_RANGE)
        return range_of(y, self.ranges.get(layer.outputs[0], DEFAULT_RANGE))

    # ------------------------------------------------------------------ activations
    def fused(self, act, layer: Layer) -> tuple[str, O.Activation | None]:
        """TFLite fused activation name and the activation left to emit as a separate op."""
        if act is None:
            return "NONE", None
        if isinstance(act, O.Relu) or (isinstance(act, O.Clip) and act.lo == 0 and act.hi == math.inf):
            return "RELU", None
        if isinstance(act, O.Clip) and (act.lo, act.hi) == (0, 6):
            return "RELU6", None
        if isinstance(act, O.Clip) and (act.lo, act.hi) == (-1, 1):
            return "RELU_N1_TO_1", None
        if isinstance(act, O.Clip) and act.lo == 0:
            return "RELU", None  # the upper bound by int8 saturation: see relu_cap
        if isinstance(act, O.Clip) and act.lo <= 0 <= act.hi:
            return "NONE", None  # both bounds by int8 saturation (within half a step): see relu_cap
        return "NONE", act

    def relu_cap(self, act, idx: int) -> None:
        """A Clip(lo ≤ 0 ≤ hi) fused as RELU or NONE: quantise the output within [lo, hi] so that int8
        saturation is the clamp (exact at 0, within half a step elsewhere)."""
        if isinstance(act, O.Clip) and act.lo <= 0 <= act.hi:
            s, z = self.mb.scale_of(idx), self.mb.zp_of(idx)
            bot, top = (-128 - z) * s, (127 - z) * s
            if top > act.hi or bot < act.lo:
                self.mb.set_quant(idx, *quant_params(max(bot, act.lo), min(top, act.hi)))

    def emit_with_act(self, layer: Layer, act, emit) -> None:
        """Emit ``emit(out_idx, fused_name)``; a non-fusable activation follows as its own op."""
        fname, rest = self.fused(act, layer)
        if rest is None:
            out = self.out_tensor(layer)
            self.relu_cap(act, out)
            emit(out, fname)
            return
        mid = self.mid(f"{layer.name}/pre_act", self.shape_of(layer.outputs[0]), self.pre_act_range(layer))
        emit(mid, "NONE")
        self.activation(rest, mid, self.out_tensor(layer), layer)

    def activation(self, act: O.Activation, src: int, dst: int, layer: Layer) -> None:
        if isinstance(act, O.Relu) or (isinstance(act, O.Clip) and act.lo == 0 and act.hi == math.inf):
            self.mb.op("RELU", [src], [dst])
        elif isinstance(act, O.Clip) and (act.lo, act.hi) == (0, 6):
            self.mb.op("RELU6", [src], [dst])
        elif isinstance(act, O.Clip) and (act.lo, act.hi) == (-1, 1):
            self.mb.op("RELU_N1_TO_1", [src], [dst])
        elif isinstance(act, O.Clip) and act.lo == 0:
            self.relu_cap(act, dst)
            self.mb.op("RELU", [src], [dst])
        elif isinstance(act, O.Sigmoid):
            self.mb.set_quant(dst, 1.0 / 256, -128)
            self.mb.op("LOGISTIC", [src], [dst])
        elif isinstance(act, O.Tanh):
            self.mb.set_quant(dst, 1.0 / 128, 0)
            self.mb.op("TANH", [src], [dst])
        elif isinstance(act, O.HardSwish):
            self.mb.op("HARD_SWISH", [src], [dst])
        elif isinstance(act, O.LeakyRelu):
            self.mb.op("LEAKY_RELU", [src], [dst], options=("LeakyReluOptions", {"Alpha": act.alpha}))
        elif isinstance(act, O.Clip):
            from cnncc.frontend.tflite.writer_lower import clip

            clip(self, act, src, dst, layer)
        elif isinstance(act, O.HardSigmoid):
            from cnncc.frontend.tflite.writer_lower import hard_sigmoid

            hard_sigmoid(self, act, src, dst, layer)
        else:
            raise UnsupportedError.op(act.kind, layer.name, "tflite export")

    # ------------------------------------------------------------------ layers
    def layer(self, layer: Layer) -> None:
        from cnncc.frontend.tflite import writer_ops as tflite_ops

        fn = tflite_ops.EMITTERS.get(type(layer.op))
        if fn is None:
            raise UnsupportedError.op(layer.kind, layer.name, "tflite export")
        fn(self, layer)

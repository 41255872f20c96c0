"""Lowerings of the TFLite exporter: IR ops TFLite (or Vela's NPU) has no single operator for, written as
sequences of operators Vela 5.2 places on the NPU — or, where no such sequence exists, as a float operator
between DEQUANTIZE and QUANTIZE (valid TFLite; Vela runs it on the CPU).

* BatchNormalization (not folded) -> MUL by s = γ/√(σ²+ε), ADD β − μ·s (per-channel constants);
* Div by a constant -> MUL by its reciprocal; Div by an activation -> float DIV; Sqrt -> float SQRT;
* HardSigmoid -> MUL α, ADD β into a tensor quantised over [0, 1] (int8 saturation is the clamp);
* Clip(lo, hi) other than the ReLU family -> MAXIMUM / MINIMUM with constants (same quantisation throughout);
* LRN -> x², a 1×1 CONV_2D summing the channel window, ADD bias, RSQRT / MUL powers for β ∈ {¼, ½, ¾, 1};
  other β: float LOCAL_RESPONSE_NORMALIZATION (odd sizes only);
* Softmax over any axis -> RESHAPE / TRANSPOSE (only the permutations Vela runs) around a last-axis SOFTMAX.

Intermediate tensors are quantised over the range their value takes on the calibration input.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.frontend.tflite.writer import range_of
from cnncc.ir import ops as O

if TYPE_CHECKING:
    from cnncc.frontend.tflite.writer import _Exporter
    from cnncc.ir.graph import Layer

_ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def _ir_const(shape_rank: int, c: int, v: np.ndarray) -> np.ndarray:
    """A per-channel vector as an IR-layout array (1, C, 1, ...) of rank ``shape_rank``."""
    return np.asarray(v, np.float64).reshape((1, c) + (1,) * (shape_rank - 2))


def batchnorm(ex: _Exporter, layer: Layer) -> None:
    """y = x·s + t with s = scale/√(var+ε), t = bias − mean·s: MUL then ADD with (1, 1, 1, C) constants."""
    if not all(ex.g.is_weight(t) for t in layer.inputs[1:5]):
        raise UnsupportedError.op("BatchNormalization", layer.name, "tflite export (non-constant parameters)")
    x_name = layer.inputs[0]
    shape = ex.g.type_of(x_name).shape
    scale, bias, mean, var = (np.asarray(ex.g.weights[t], np.float64) for t in layer.inputs[1:5])
    assert isinstance(layer.op, O.BatchNormalization)
    s = scale / np.sqrt(var + layer.op.epsilon)
    t = bias - mean * s
    s_ir, t_ir = _ir_const(len(shape), shape[1], s), _ir_const(len(shape), shape[1], t)
    rank = len(shape)
    x = ex.tmap[x_name]
    smp = ex.sample(x_name)
    mid = ex.mid(f"{layer.name}/mul", ex.shape_of(x_name), range_of(None if smp is None else smp * s_ir))
    ex.mb.op("MUL", [x, ex.const_i8(f"{layer.name}/scale", ex.stored(s_ir, rank))], [mid],
             ("MulOptions", {"FusedActivationFunction": 0}))
    ex.mb.op("ADD", [mid, ex.const_i8(f"{layer.name}/shift", ex.stored(t_ir, rank))], [ex.out_tensor(layer)],
             ("AddOptions", {"FusedActivationFunction": 0}))


def div(ex: _Exporter, layer: Layer) -> None:
    """Div by a constant as MUL by the reciprocal; any other Div as a float DIV (CPU in Vela)."""
    from cnncc.frontend.tflite import writer_ops

    a, b = layer.inputs
    rank = ex.g.type_of(layer.outputs[0]).rank
    if ex.g.is_weight(b) and a in ex.tmap:
        c = np.asarray(ex.g.weights[b], np.float64)
        if not np.all(c != 0):
            raise UnsupportedError.op("Div", layer.name, "tflite export (division by a constant containing 0)")
        recip = ex.const_i8(f"{layer.name}/reciprocal", ex.stored(1.0 / c, rank))
        writer_ops.binary_op(ex, layer, "MUL", "MulOptions", [ex.tmap[a], recip])
        return

    def emit(out, fname):
        ins = [_to_float(ex, layer, t, rank) for t in layer.inputs]
        f_out = ex.mb.tensor(f"{layer.name}/float", ex.shape_of(layer.outputs[0]), "float32")
        ex.mb.op("DIV", ins, [f_out], ("DivOptions", {"FusedActivationFunction": _ACT[fname]}))
        ex.mb.op("QUANTIZE", [f_out], [out])

    assert isinstance(layer.op, O.Div)
    ex.emit_with_act(layer, layer.op.act, emit)


def sqrt(ex: _Exporter, layer: Layer) -> None:
    """Sqrt as DEQUANTIZE -> float SQRT -> QUANTIZE (TFLite's SQRT is float32 only; Vela runs it on the CPU)."""
    rank = ex.g.type_of(layer.outputs[0]).rank
    f_in = _to_float(ex, layer, layer.inputs[0], rank)
    f_out = ex.mb.tensor(f"{layer.name}/float", ex.shape_of(layer.outputs[0]), "float32")
    ex.mb.op("SQRT", [f_in], [f_out])
    ex.mb.op("QUANTIZE", [f_out], [ex.out_tensor(layer)])


def _to_float(ex: _Exporter, layer: Layer, name: str, rank: int) -> int:
    """A float32 view of an IR tensor: DEQUANTIZE of an activation, or a float32 constant."""
    if name in ex.tmap:
        if ex.g.type_of(name).rank != rank and rank == 4:
            raise UnsupportedError.op(layer.kind, layer.name, "tflite export (lower-rank activation broadcast "
                                                              "onto a 4-D map)")
        f = ex.mb.tensor(f"{layer.name}/{name}/float", ex.shape_of(name), "float32")
        ex.mb.op("DEQUANTIZE", [ex.tmap[name]], [f])
        return f
    a = ex.stored(ex.g.weights[name], rank)
    return ex.mb.tensor(f"{layer.name}/{name}", a.shape, "float32", a)


def hard_sigmoid(ex: _Exporter, act: O.HardSigmoid, src: int, dst: int, layer: Layer) -> None:
    """clip(α·x + β, 0, 1): MUL α, then ADD β into ``dst`` quantised over [0, ≤1], so int8 saturation clamps."""
    lo, hi = _real_range(ex, src)
    p = sorted((act.alpha * lo, act.alpha * hi))
    shape = ex.mb.tensors[src].shape
    mid = ex.mid(f"{layer.name}/alpha_x", shape, (p[0], p[1]))
    ex.mb.op("MUL", [src, ex.const_i8(f"{layer.name}/alpha", np.array([act.alpha]))], [mid],
             ("MulOptions", {"FusedActivationFunction": 0}))
    top = min(1.0, max(ex.ranges.get(layer.outputs[0], (0.0, 1.0))[1], 1.0 / 255))
    from cnncc.frontend.tflite.writer import quant_params

    ex.mb.set_quant(dst, *quant_params(0.0, top))
    ex.mb.op("ADD", [mid, ex.const_i8(f"{layer.name}/beta", np.array([act.beta]))], [dst],
             ("AddOptions", {"FusedActivationFunction": 0}))


def _real_range(ex: _Exporter, idx: int) -> tuple[float, float]:
    """The real interval an int8 tensor can represent."""
    s, z = ex.mb.scale_of(idx), ex.mb.zp_of(idx)
    return (-128 - z) * s, (127 - z) * s


def widen(ex: _Exporter, layer: Layer, src: int, values: list[float]) -> int:
    """``src``, or a QUANTIZE of it to a range that also holds ``values`` (constants an op must represent in
    its input's quantisation)."""
    lo_r, hi_r = _real_range(ex, src)
    if all(lo_r <= v <= hi_r for v in values):
        return src
    wide = ex.mid(f"{layer.name}/widened", ex.mb.tensors[src].shape, (min([lo_r] + values), max([hi_r] + values)))
    ex.mb.op("QUANTIZE", [src], [wide])
    return wide


def clip(ex: _Exporter, act: O.Clip, src: int, dst: int, layer: Layer) -> None:
    """Clip(lo, hi) with lo ≤ 0 ≤ hi: one QUANTIZE (int8 requantisation) into ``dst`` quantised over the
    bounds, so int8 saturation clamps (within half a step); otherwise MAXIMUM(x, lo) then MINIMUM(., hi), all
    in one quantisation (Vela requires it): that of ``src``, or of a QUANTIZE of it widened to hold both
    bounds. A bound ``src`` already satisfies is dropped."""
    lo_r, hi_r = _real_range(ex, src)
    shape = ex.mb.tensors[src].shape
    if act.lo <= 0 <= act.hi:
        from cnncc.frontend.tflite.writer import quant_params

        ex.mb.set_quant(dst, *quant_params(max(act.lo, lo_r), min(act.hi, hi_r)))
        ex.mb.op("QUANTIZE", [src], [dst])
        return
    src = widen(ex, layer, src, [v for v in (act.lo, act.hi) if math.isfinite(v)])
    lo_r, hi_r = _real_range(ex, src)
    s, z = ex.mb.scale_of(src), ex.mb.zp_of(src)
    ex.mb.set_quant(dst, s, z)
    steps = [(code, v) for code, v, need in (("MAXIMUM", act.lo, act.lo > lo_r), ("MINIMUM", act.hi, act.hi < hi_r))
             if need and math.isfinite(v)]
    if not steps:
        shp = ex.mb.tensor(f"{layer.name}/shape", (len(shape),), "int32", np.array(shape))
        ex.mb.op("RESHAPE", [src, shp], [dst])
        return
    cur = src
    for i, (code, v) in enumerate(steps):
        out = dst if i == len(steps) - 1 else ex.like(f"{layer.name}/clip_lo", shape, src)
        q = int(np.clip(round(v / s) + z, -128, 127))
        k = ex.mb.tensor(f"{layer.name}/{code.lower()}", (1,), "int8", np.array([q]), scales=[s], zps=[z])
        ex.mb.op(code, [cur, k], [out], ("MaximumMinimumOptions", {}))
        cur = out


# ---------------------------------------------------------------------------------------------- LRN
def lrn(ex: _Exporter, layer: Layer) -> None:
    """ONNX LRN y = x / (bias + α/size · Σ_window x²)^β on the NPU when 4β is an integer in 1..4."""
    op = layer.op
    assert isinstance(op, O.LRN)
    x_name = layer.inputs[0]
    shape = ex.g.type_of(x_name).shape
    if len(shape) != 4:
        raise UnsupportedError.op("LRN", layer.name, "tflite export (input not 4-D)")
    k4 = op.beta * 4
    if abs(k4 - round(k4)) > 1e-9 or not 1 <= round(k4) <= 4 or op.bias <= 0:
        _lrn_float(ex, layer)
        return
    k4 = int(round(k4))
    c = shape[1]
    st = ex.shape_of(x_name)
    lo_w, hi_w = (op.size - 1) // 2, -(-(op.size - 1) // 2)
    band = np.zeros((c, c))
    for i in range(c):
        band[i, max(0, i - lo_w):min(c, i + hi_w + 1)] = op.alpha / op.size
    x = ex.tmap[x_name]
    smp = ex.sample(x_name)
    sq_s = None if smp is None else smp ** 2
    xr = _real_range(ex, x)
    sq = ex.mid(f"{layer.name}/square", st, range_of(sq_s, (0.0, max(xr[0] ** 2, xr[1] ** 2))))
    ex.mb.op("MUL", [x, x], [sq], ("MulOptions", {"FusedActivationFunction": 0}))
    # window sum as a 1x1 convolution with a banded C x C weight matrix
    u_s = None if sq_s is None else np.einsum("kc,nchw->nkhw", band, sq_s)
    u = ex.mid(f"{layer.name}/window_sum", st, range_of(u_s, (0.0, op.alpha * _real_range(ex, sq)[1])))
    from cnncc.frontend.tflite.writer import quantize_weights

    wt = band.reshape(c, 1, 1, c)
    q, sc = quantize_weights(wt, 0)
    wi = ex.mb.tensor(f"{layer.name}/window", wt.shape, "int8", q, scales=sc, zps=[0] * c, qdim=0)
    bs = ex.mb.scale_of(sq) * sc.astype(np.float64)
    bi = ex.mb.tensor(f"{layer.name}/window_bias", (c,), "int32", np.zeros(c), scales=bs, zps=[0] * c)
    ex.mb.op("CONV_2D", [sq, wi, bi], [u], ("Conv2DOptions", {"Padding": 1, "StrideW": 1, "StrideH": 1,
                                                               "FusedActivationFunction": 0,
                                                               "DilationWFactor": 1, "DilationHFactor": 1}))
    d_s = None if u_s is None else u_s + op.bias
    d = ex.mid(f"{layer.name}/denominator", st, range_of(d_s, (op.bias, op.bias + _real_range(ex, u)[1])))
    ex.mb.op("ADD", [u, ex.const_i8(f"{layer.name}/bias", np.array([op.bias]))], [d],
             ("AddOptions", {"FusedActivationFunction": 0}))

    def unary(code, src, name, smp_v, fallback):
        out = ex.mid(f"{layer.name}/{name}", st, range_of(smp_v, fallback))
        ex.mb.op(code, [src], [out])
        return out

    def mul(a, b, name, smp_v, fallback, out=None):
        out = ex.mid(f"{layer.name}/{name}", st, range_of(smp_v, fallback)) if out is None else out
        ex.mb.op("MUL", [a, b], [out], ("MulOptions", {"FusedActivationFunction": 0}))
        return out

    dlo = max(op.bias, 1e-6)
    dhi = _real_range(ex, d)[1]

    def pw(e: float):
        return None if d_s is None else d_s ** e

    r = unary("RSQRT", d, "rsqrt", pw(-0.5), (0.0, dlo ** -0.5))  # d^-1/2
    factors = {2: [r], 4: [r, r]}.get(k4)
    if factors is None:  # odd quarters need d^-1/4 = rsqrt(d · d^-1/2)
        sq_d = mul(d, r, "sqrt", pw(0.5), (0.0, dhi ** 0.5))
        t = unary("RSQRT", sq_d, "rsqrt4", pw(-0.25), (0.0, dlo ** -0.25))
        factors = [t] if k4 == 1 else [r, t]
    cur, cur_s, expo = x, smp, 0.0
    for i, f in enumerate(factors):
        expo += 0.5 if f is r else 0.25
        last = i == len(factors) - 1
        nxt_s = None if cur_s is None or d_s is None else smp * d_s ** -expo
        out = ex.out_tensor(layer) if last else None
        m = max(1.0, dlo ** -expo)
        cur = mul(cur, f, f"partial{i}", nxt_s, (xr[0] * m, xr[1] * m), out)
        cur_s = nxt_s


def _lrn_float(ex: _Exporter, layer: Layer) -> None:
    op = layer.op
    assert isinstance(op, O.LRN)
    if op.size % 2 == 0:
        raise UnsupportedError.op("LRN", layer.name, f"tflite export (beta {op.beta:g} needs TFLite's LRN, "
                                                     f"which has no even size {op.size})")
    f_in = _to_float(ex, layer, layer.inputs[0], 4)
    f_out = ex.mb.tensor(f"{layer.name}/float", ex.shape_of(layer.outputs[0]), "float32")
    ex.mb.op("LOCAL_RESPONSE_NORMALIZATION", [f_in], [f_out],
             ("LocalResponseNormalizationOptions", {"Radius": (op.size - 1) // 2, "Bias": op.bias,
                                                    "Alpha": op.alpha / op.size, "Beta": op.beta}))
    ex.mb.op("QUANTIZE", [f_out], [ex.out_tensor(layer)])


# ---------------------------------------------------------------------------------------------- Softmax
def softmax(ex: _Exporter, layer: Layer) -> None:
    """SOFTMAX on the last stored axis; any other axis is moved there and back with Vela-supported moves:
    [1, A, Q] -> [1, Q, A] (3-D swap of the last two), or [P, A, Q] -> [A, P·Q] -> [P·Q, A] (2-D transpose)."""
    name = layer.inputs[0]
    rank = ex.g.type_of(name).rank
    from cnncc.frontend.tflite.writer_move import stored_axis

    assert isinstance(layer.op, O.Softmax)
    ax = stored_axis(ex, name, layer.op.axis)
    s = ex.shape_of(name)
    x = ex.tmap[name]
    p, a, q = math.prod(s[:ax]), s[ax], math.prod(s[ax + 1:])
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, 1.0 / 256, -128)
    if ax == rank - 1:
        ex.mb.op("SOFTMAX", [x], [out], ("SoftmaxOptions", {"Beta": 1.0}))
        return
    n = layer.name
    moves: list[tuple[str, tuple[int, ...]]] = []  # (kind, shape or perm) from the stored input to last-axis form
    if q == 1:
        moves = [("reshape", (p, a))]
    elif p == 1:
        moves = [("reshape", (1, a, q)), ("transpose", (0, 2, 1))]
    else:
        moves = [("reshape", (p, a, q)), ("transpose", (1, 0, 2)), ("reshape", (a, p * q)), ("transpose", (1, 0))]
    cur, shape = x, tuple(s)
    shapes = [shape]
    for i, (kind, v) in enumerate(moves):
        cur, shape = _move(ex, f"{n}/to_last{i}", cur, shape, kind, v)
        shapes.append(shape)
    sm = ex.mb.tensor(f"{n}/softmax", shape, "int8", scales=[1.0 / 256], zps=[-128])
    ex.mb.op("SOFTMAX", [cur], [sm], ("SoftmaxOptions", {"Beta": 1.0}))
    cur = sm
    for i, (kind, v) in reversed(list(enumerate(moves))):
        back = v if kind == "transpose" else shapes[i]
        target = out if i == 0 else None
        cur, shape = _move(ex, f"{n}/from_last{i}", cur, shape, kind, back, target, shapes[i])


def _move(ex: _Exporter, name: str, src: int, shape: tuple[int, ...], kind: str, v, dst: int | None = None,
          dst_shape=None) -> tuple[int, tuple[int, ...]]:
    """One RESHAPE (``v``: new shape) or TRANSPOSE (``v``: permutation, its own inverse here) keeping the
    quantisation of ``src``."""
    if kind == "reshape":
        new = tuple(dst_shape or v)
        out = dst if dst is not None else ex.like(name, new, src)
        shp = ex.mb.tensor(f"{name}/shape", (len(new),), "int32", np.array(new))
        ex.mb.op("RESHAPE", [src, shp], [out])
        return out, new
    new = tuple(shape[i] for i in v)
    out = dst if dst is not None else ex.like(name, new, src)
    perm = ex.mb.tensor(f"{name}/perm", (len(v),), "int32", np.array(v))
    ex.mb.op("TRANSPOSE", [src, perm], [out])
    return out, new

"""Per-op emitters of the TFLite exporter: IR layer -> TFLite operator(s) on NHWC int8 tensors — the MAC
layers (Conv, ConvTranspose, Gemm, MatMul), pools, element-wise ops (PRelu as PRELU), activations, Softmax,
ReduceMean, Pad.

Composite lowerings live in ``writer_lower`` (BatchNormalization, Div, HardSigmoid, Clip, LRN, Softmax),
``writer_pool`` (pooling padding, Pad modes) and ``writer_move`` (data movement, and ``EMITTERS``, which maps
every exportable IR op class to its emitter).
"""

from __future__ import annotations

import math

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.frontend.tflite import writer_lower, writer_pool
from cnncc.frontend.tflite.writer import _NCHW_TO_NHWC, quantize_weights
from cnncc.frontend.tflite.writer_move import _ACT, _PAD, EMITTERS, _to_onnx_order, emitter, relayout, stored_axis
from cnncc.ir import ops as O

__all__ = ["EMITTERS", "binary_op", "transpose_conv_layout"]

def _bias(ex, layer, name: str, n: int, in_scale: float, w_scales: np.ndarray, extra=None) -> int:
    b = np.zeros(n, np.float64)
    if extra is not None:
        b = b + extra
    q = np.round(b / (in_scale * w_scales.astype(np.float64))).clip(-2**31, 2**31 - 1)
    return ex.mb.tensor(name, (n,), "int32", q, scales=in_scale * w_scales, zps=[0] * n)


@emitter(O.Conv)
def _conv(ex, layer):
    op: O.Conv = layer.op
    x = ex.tmap[layer.inputs[0]]
    w = np.asarray(ex.g.weights[layer.inputs[1]], np.float64)  # [K, C/g, FY, FX]
    k, cg = w.shape[0], w.shape[1]
    c = ex.g.type_of(layer.inputs[0]).shape[1]
    bias = np.asarray(ex.g.weights[layer.inputs[2]], np.float64) if len(layer.inputs) > 2 else None
    x, pad = writer_pool.conv_padding(ex, layer, x, op)
    s = ex.mb.scale_of(x)
    if op.groups > 1 and op.groups == c:
        wt = w.transpose(1, 2, 3, 0)  # [1, FY, FX, K]
        q, sc = quantize_weights(wt, 3, ex.g.weights.quant.get(layer.inputs[1]))
        wi = ex.mb.tensor(f"{layer.name}/weights", wt.shape, "int8", q, scales=sc, zps=[0] * k, qdim=3)
        bi = _bias(ex, layer, f"{layer.name}/bias", k, s, sc, bias)
        code, opts = "DEPTHWISE_CONV_2D", ("DepthwiseConv2DOptions", {"DepthMultiplier": k // c})
    else:
        del cg
        wt = w.transpose(0, 2, 3, 1)  # [K, FY, FX, C/g]
        q, sc = quantize_weights(wt, 0, ex.g.weights.quant.get(layer.inputs[1]))
        wi = ex.mb.tensor(f"{layer.name}/weights", wt.shape, "int8", q, scales=sc, zps=[0] * k, qdim=0)
        bi = _bias(ex, layer, f"{layer.name}/bias", k, s, sc, bias)
        code, opts = "CONV_2D", ("Conv2DOptions", {})

    def emit(out, act):
        fields = dict(opts[1], Padding=_PAD[pad], StrideW=op.strides[1], StrideH=op.strides[0],
                      FusedActivationFunction=_ACT[act], DilationWFactor=op.dilations[1],
                      DilationHFactor=op.dilations[0])
        ex.mb.op(code, [x, wi, bi], [out], (opts[0], fields))

    ex.emit_with_act(layer, op.act, emit)


def transpose_conv_layout(op: O.ConvTranspose, ifm: tuple[int, int], ofm: tuple[int, int]
                          ) -> tuple[tuple[int, int], str] | None:
    """(the (H, W) map the exported TRANSPOSE_CONV writes, "SAME" | "VALID") for ``op`` from an (H, W) map ``ifm``
    to the ONNX output ``ofm``: VALID without pads, SAME when ONNX crops what TFLite's SAME crops (total // 2
    first, output = input·stride), else VALID to the full map (then a SLICE of the ONNX window); None when the
    pads / output_padding reach past the full map (no export)."""
    full = ((ifm[0] - 1) * op.strides[0] + op.kernel[0], (ifm[1] - 1) * op.strides[1] + op.kernel[1])
    if not any(op.pads) and op.output_padding == (0, 0):
        return ofm, "VALID"
    if ofm == (ifm[0] * op.strides[0], ifm[1] * op.strides[1]) and \
            (op.pads[0], op.pads[1]) == ((full[0] - ofm[0]) // 2, (full[1] - ofm[1]) // 2):
        return ofm, "SAME"
    if op.pads[0] + ofm[0] <= full[0] and op.pads[1] + ofm[1] <= full[1]:
        return full, "VALID"
    return None


@emitter(O.ConvTranspose)
def _conv_transpose(ex, layer):
    """TRANSPOSE_CONV (weights [K, FY, FX, C], no flip) in the layout of :func:`transpose_conv_layout`, then a
    SLICE of the ONNX window when that is the full map."""
    op: O.ConvTranspose = layer.op
    if op.groups != 1 or op.dilations != (1, 1) or not ex.g.is_weight(layer.inputs[1]):
        raise UnsupportedError.op("ConvTranspose", layer.name, "tflite export (groups, dilation or non-constant "
                                                               "weights)")
    x = ex.tmap[layer.inputs[0]]
    w = np.asarray(ex.g.weights[layer.inputs[1]], np.float64)  # [C, K, FY, FX]
    k = w.shape[1]
    _, _, h, wd = ex.g.type_of(layer.inputs[0]).shape
    _, _, oy, ox = ex.g.type_of(layer.outputs[0]).shape
    bias = np.asarray(ex.g.weights[layer.inputs[2]], np.float64) if len(layer.inputs) > 2 else None
    wt = w.transpose(1, 2, 3, 0)
    q, sc = quantize_weights(wt, 0, ex.g.weights.quant.get(layer.inputs[1]))
    wi = ex.mb.tensor(f"{layer.name}/weights", wt.shape, "int8", q, scales=sc, zps=[0] * k, qdim=0)
    bi = _bias(ex, layer, f"{layer.name}/bias", k, ex.mb.scale_of(x), sc, bias)
    t, lft = op.pads[0], op.pads[1]
    layout = transpose_conv_layout(op, (h, wd), (oy, ox))
    if layout is None:
        raise UnsupportedError.op("ConvTranspose", layer.name, f"tflite export (pads {op.pads} with output_padding "
                                                               f"{op.output_padding} reach past the full output)")
    shape, pad = layout

    def emit(out, act):
        oshape = ex.mb.tensor(f"{layer.name}/output_shape", (4,), "int32", np.array([1, *shape, k]))
        ex.mb.op("TRANSPOSE_CONV", [oshape, wi, x, bi], [out],
                 ("TransposeConvOptions", {"Padding": {"SAME": 0, "VALID": 1}[pad], "StrideW": op.strides[1],
                                           "StrideH": op.strides[0], "FusedActivationFunction": _ACT[act]}))

    if shape == (oy, ox):
        ex.emit_with_act(layer, op.act, emit)
        return
    fname, rest = ex.fused(op.act, layer)
    if rest is not None:
        raise UnsupportedError.op("ConvTranspose", layer.name, f"tflite export (cropped output with {rest.kind})")
    full_t = ex.mid(f"{layer.name}/full", (1, *shape, k), ex.ranges.get(layer.outputs[0], (-4.0, 4.0)))
    ex.relu_cap(op.act, full_t)
    emit(full_t, fname)
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(full_t), ex.mb.zp_of(full_t))
    ex.mb.op("SLICE", [full_t, ex.mb.tensor(f"{layer.name}/crop_begin", (4,), "int32", np.array([0, t, lft, 0])),
                       ex.mb.tensor(f"{layer.name}/crop_size", (4,), "int32", np.array([1, oy, ox, k]))], [out],
             ("SliceOptions", {}))


def _fc(ex, layer, wmat: np.ndarray, bias, act):
    """FULLY_CONNECTED with ``wmat`` [N, K]."""
    x = ex.tmap[layer.inputs[0]]
    if layer.inputs[0] in ex.col_perm:
        wmat = wmat[:, ex.col_perm[layer.inputs[0]]]
    n = wmat.shape[0]
    q, sc = quantize_weights(wmat, 0, ex.g.weights.quant.get(layer.inputs[1]))
    wi = ex.mb.tensor(f"{layer.name}/weights", wmat.shape, "int8", q, scales=sc, zps=[0] * n, qdim=0)
    bi = _bias(ex, layer, f"{layer.name}/bias", n, ex.mb.scale_of(x), sc, bias)

    def emit(out, a):
        ex.mb.op("FULLY_CONNECTED", [x, wi, bi], [out],
                 ("FullyConnectedOptions", {"FusedActivationFunction": _ACT[a]}))

    ex.emit_with_act(layer, act, emit)


@emitter(O.Gemm)
def _gemm(ex, layer):
    op: O.Gemm = layer.op
    if op.trans_a or not ex.g.is_weight(layer.inputs[1]):
        raise UnsupportedError.op("Gemm", layer.name, "tflite export")
    b = np.asarray(ex.g.weights[layer.inputs[1]], np.float64) * op.alpha
    wmat = b if op.trans_b else b.T
    bias = None
    if len(layer.inputs) > 2:
        bias = np.broadcast_to(np.asarray(ex.g.weights[layer.inputs[2]], np.float64) * op.beta,
                               (wmat.shape[0],))
    _fc(ex, layer, wmat, bias, op.act)


@emitter(O.MatMul)
def _matmul(ex, layer):
    """[.., K] @ constant [K, N]: FULLY_CONNECTED (rank 2), else RESHAPE to [M, K], FULLY_CONNECTED, relayout."""
    a, b = layer.inputs
    if not ex.g.is_weight(b) or ex.g.type_of(b).rank != 2:
        raise UnsupportedError.op("MatMul", layer.name, "tflite export (second operand not a constant matrix)")
    wmat = np.asarray(ex.g.weights[b], np.float64).T
    s_in = ex.g.type_of(a).shape
    if len(s_in) == 2:
        _fc(ex, layer, wmat, None, layer.op.act)
        return
    x = _to_onnx_order(ex, layer, ex.tmap[a], s_in)
    rows = (math.prod(s_in[:-1]), s_in[-1])
    x2 = ex.like(f"{layer.name}/rows", rows, x)
    ex.mb.op("RESHAPE", [x, ex.mb.tensor(f"{layer.name}/rows/shape", (2,), "int32", np.array(rows))], [x2])
    n = wmat.shape[0]
    q, sc = quantize_weights(wmat, 0, ex.g.weights.quant.get(layer.inputs[1]))
    wi = ex.mb.tensor(f"{layer.name}/weights", wmat.shape, "int8", q, scales=sc, zps=[0] * n, qdim=0)
    bi = _bias(ex, layer, f"{layer.name}/bias", n, ex.mb.scale_of(x2), sc, None)
    fname, rest = ex.fused(layer.op.act, layer)
    post = ex.ranges.get(layer.outputs[0], (-4.0, 4.0))
    y = ex.mid(f"{layer.name}/fc", (rows[0], n), post if rest is None else ex.pre_act_range(layer))
    if rest is None:
        ex.relu_cap(layer.op.act, y)
    ex.mb.op("FULLY_CONNECTED", [x2, wi, bi], [y], ("FullyConnectedOptions", {"FusedActivationFunction": _ACT[fname]}))
    if rest is not None:
        z = ex.mid(f"{layer.name}/act", (rows[0], n), post)
        ex.activation(rest, y, z, layer)
        y = z
    relayout(ex, layer, y, (rows[0], n), ex.g.type_of(layer.outputs[0]).shape, onnx_order=False)


@emitter(O.MaxPool, O.AveragePool)
def _pool(ex, layer):
    writer_pool.pool(ex, layer)


@emitter(O.GlobalAveragePool, O.GlobalMaxPool)
def _gpool(ex, layer):
    x = ex.tmap[layer.inputs[0]]
    _, _, h, w = ex.g.type_of(layer.inputs[0]).shape
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
    code = "AVERAGE_POOL_2D" if isinstance(layer.op, O.GlobalAveragePool) else "MAX_POOL_2D"
    ex.mb.op(code, [x], [out], ("Pool2DOptions", {"Padding": _PAD["VALID"], "StrideW": 1, "StrideH": 1,
                                                  "FilterWidth": w, "FilterHeight": h}))


def _operand(ex, layer, name: str, rank: int) -> int:
    """The TFLite tensor of a binary-op input: the activation, or the constant broadcast to ``rank``."""
    if name in ex.tmap:
        if ex.g.type_of(name).rank != rank and rank == 4 and ex.g.type_of(name).numel > 1:
            raise UnsupportedError.op(layer.kind, layer.name, "tflite export (lower-rank activation broadcast "
                                                              "onto a 4-D map)")
        return ex.tmap[name]
    return ex.const_i8(f"{layer.name}/{name}", ex.stored(ex.g.weights[name], rank))


def binary_op(ex, layer, code: str, opt: str, ins: list[int]) -> None:
    """One two-input element-wise op with the layer's fused activation."""

    def emit(out, a):
        ex.mb.op(code, ins, [out], (opt, {"FusedActivationFunction": _ACT[a]}))

    ex.emit_with_act(layer, layer.op.act, emit)


@emitter(O.Add, O.Sub, O.Mul)
def _binary(ex, layer):
    rank = ex.g.type_of(layer.outputs[0]).rank
    ins = [_operand(ex, layer, t, rank) for t in layer.inputs]
    code = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL"}[layer.kind]
    opt = {"Add": "AddOptions", "Sub": "SubOptions", "Mul": "MulOptions"}[layer.kind]
    acc = ex.sample(layer.inputs[0])
    while len(ins) > 2:  # ONNX Sum: a chain of ADDs over partial sums
        nxt = ex.sample(layer.inputs[len(layer.inputs) - len(ins) + 1])
        acc = None if acc is None or nxt is None else acc + nxt
        from cnncc.frontend.tflite.writer import range_of

        mid = ex.mid(f"{layer.name}/partial{len(ins)}", ex.shape_of(layer.outputs[0]), range_of(acc))
        ex.mb.op("ADD", ins[:2], [mid], ("AddOptions", {"FusedActivationFunction": 0}))
        ins = [mid] + ins[2:]
    binary_op(ex, layer, code, opt, ins)


@emitter(O.PRelu)
def _prelu(ex, layer):
    """PRELU with a constant alpha in stored layout ([1, 1, 1, C] for a per-channel slope of an NCHW map): int8,
    per tensor, the model's own integers when the slope was quantised per tensor, else asymmetric over its range
    (TFLite's PRELU takes one alpha scale). An activation slope is passed as it is."""
    x, slope = layer.inputs
    rank = ex.g.type_of(layer.outputs[0]).rank
    if slope in ex.tmap:
        alpha = _operand(ex, layer, slope, rank)
    else:
        a = ex.stored(ex.g.weights[slope], rank)
        q = ex.g.weights.quant.get(slope)
        if q is not None and not q.per_axis and q.zero_point[0] in range(-128, 128):
            ints = np.clip(np.round(a / q.scale[0]) + q.zero_point[0], -128, 127)
            alpha = ex.mb.tensor(f"{layer.name}/alpha", a.shape, "int8", ints, scales=[q.scale[0]],
                                 zps=[q.zero_point[0]])
        else:
            alpha = ex.const_i8(f"{layer.name}/alpha", a)
    ex.mb.op("PRELU", [ex.tmap[x], alpha], [ex.out_tensor(layer)])


@emitter(O.Div)
def _div(ex, layer):
    writer_lower.div(ex, layer)


@emitter(O.Pow)
def _pow(ex, layer):
    """Pow with exponent 2 as MUL of the map by itself (int8, an NPU elementwise op in Vela 5.2.0); any other
    exponent is refused."""
    if layer.op.exponent != 2.0:
        raise UnsupportedError.op("Pow", layer.name, f"tflite export (exponent {layer.op.exponent:g}: only 2, "
                                                     f"written as MUL)")
    x = ex.tmap[layer.inputs[0]]
    ex.mb.op("MUL", [x, x], [ex.out_tensor(layer)], ("MulOptions", {"FusedActivationFunction": 0}))


@emitter(O.Sqrt)
def _sqrt(ex, layer):
    writer_lower.sqrt(ex, layer)


@emitter(O.BatchNormalization)
def _bn(ex, layer):
    writer_lower.batchnorm(ex, layer)


@emitter(O.LRN)
def _lrn(ex, layer):
    writer_lower.lrn(ex, layer)


@emitter(O.Relu, O.Clip, O.Sigmoid, O.Tanh, O.HardSigmoid, O.HardSwish, O.LeakyRelu)
def _act(ex, layer):
    ex.activation(layer.op, ex.tmap[layer.inputs[0]], ex.out_tensor(layer), layer)


@emitter(O.Softmax)
def _softmax(ex, layer):
    writer_lower.softmax(ex, layer)


@emitter(O.ReduceMean)
def _mean(ex, layer):
    """MEAN over the stored axes (kept); keepdims=0 then drops them with the same relayout as Reshape."""
    src = layer.inputs[0]
    s = ex.g.type_of(src).shape
    ir_axes = sorted({a % len(s) for a in (layer.op.axes or range(len(s)))})
    axes = sorted(stored_axis(ex, src, a) for a in ir_axes)
    ax = ex.mb.tensor(f"{layer.name}/axes", (len(axes),), "int32", np.array(axes))
    x = ex.tmap[src]
    if layer.op.keepdims or len(s) != 4:
        ex.mb.op("MEAN", [x, ax], [ex.out_tensor(layer)], ("ReducerOptions", {"KeepDims": bool(layer.op.keepdims)}))
        return
    kept = tuple(1 if i in ir_axes else d for i, d in enumerate(s))
    kept_st = tuple(kept[a] for a in _NCHW_TO_NHWC)
    mid = ex.mid(f"{layer.name}/kept", kept_st, ex.ranges.get(layer.outputs[0], (-4.0, 4.0)))
    ex.mb.op("MEAN", [x, ax], [mid], ("ReducerOptions", {"KeepDims": True}))
    relayout(ex, layer, mid, kept, ex.g.type_of(layer.outputs[0]).shape)


@emitter(O.Pad)
def _pad(ex, layer):
    writer_pool.pad(ex, layer)

"""Per-op emitters of the TFLite exporter: IR layer -> TFLite operator(s) on NHWC int8 tensors."""

from __future__ import annotations

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.frontend.tflite.writer import _AXIS_4D, _NCHW_TO_NHWC, _NHWC_TO_NCHW, quantize_weights, same_pads
from cnncc.ir import ops as O

EMITTERS: dict = {}

_PAD = {"SAME": 0, "VALID": 1}
_ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def emitter(*classes):
    def deco(fn):
        for c in classes:
            EMITTERS[c] = fn
        return fn

    return deco


def _padding(ex, layer, x_idx: int, op) -> tuple[int, str]:
    """TFLite padding for an IR window op: SAME or VALID when they match, else an explicit PAD then VALID."""
    _, c, h, w = ex.g.type_of(layer.inputs[0]).shape
    if not any(op.pads):
        return x_idx, "VALID"
    dil = getattr(op, "dilations", (1, 1))
    oy, t, b = same_pads(h, op.kernel[0], op.strides[0], dil[0])
    ox, lft, r = same_pads(w, op.kernel[1], op.strides[1], dil[1])
    _, _, ty, tx = ex.g.type_of(layer.outputs[0]).shape
    if (t, lft, b, r) == tuple(op.pads) and (oy, ox) == (ty, tx):
        return x_idx, "SAME"
    if isinstance(op, O._Pool) and not isinstance(op, O.MaxPool):
        raise UnsupportedError(f"AveragePool padding {op.pads} of node {layer.name!r} is not TFLite SAME/VALID "
                               f"(target 'tflite export')")
    p = op.pads
    pads = ex.mb.tensor(f"{layer.name}/pads", (4, 2), "int32", np.array([[0, 0], [p[0], p[2]], [p[1], p[3]],
                                                                          [0, 0]]))
    scale, zp = ex.mb.scale_of(x_idx), ex.mb.zp_of(x_idx)
    mid = ex.mb.tensor(f"{layer.name}/pad", (1, h + p[0] + p[2], w + p[1] + p[3], c), "int8",
                       scales=[scale], zps=[zp])
    ex.mb.op("PAD", [x_idx, pads], [mid])
    return mid, "VALID"


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
    x, pad = _padding(ex, layer, x, op)
    s = ex.mb.scale_of(x)
    if op.groups > 1 and op.groups == c:
        wt = w.transpose(1, 2, 3, 0)  # [1, FY, FX, K]
        q, sc = quantize_weights(wt, 3)
        wi = ex.mb.tensor(f"{layer.name}/weights", wt.shape, "int8", q, scales=sc, zps=[0] * k, qdim=3)
        bi = _bias(ex, layer, f"{layer.name}/bias", k, s, sc, bias)
        code, opts = "DEPTHWISE_CONV_2D", ("DepthwiseConv2DOptions", {"DepthMultiplier": k // c})
    else:
        del cg
        wt = w.transpose(0, 2, 3, 1)  # [K, FY, FX, C/g]
        q, sc = quantize_weights(wt, 0)
        wi = ex.mb.tensor(f"{layer.name}/weights", wt.shape, "int8", q, scales=sc, zps=[0] * k, qdim=0)
        bi = _bias(ex, layer, f"{layer.name}/bias", k, s, sc, bias)
        code, opts = "CONV_2D", ("Conv2DOptions", {})

    def emit(out, act):
        fields = dict(opts[1], Padding=_PAD[pad], StrideW=op.strides[1], StrideH=op.strides[0],
                      FusedActivationFunction=_ACT[act], DilationWFactor=op.dilations[1],
                      DilationHFactor=op.dilations[0])
        ex.mb.op(code, [x, wi, bi], [out], (opts[0], fields))

    ex.emit_with_act(layer, op.act, emit)


def _fc(ex, layer, wmat: np.ndarray, bias, act):
    """FULLY_CONNECTED with ``wmat`` [N, K]."""
    x = ex.tmap[layer.inputs[0]]
    if layer.inputs[0] in ex.col_perm:
        wmat = wmat[:, ex.col_perm[layer.inputs[0]]]
    n = wmat.shape[0]
    q, sc = quantize_weights(wmat, 0)
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
    if ex.g.type_of(layer.inputs[0]).rank != 2 or not ex.g.is_weight(layer.inputs[1]) \
            or ex.g.type_of(layer.inputs[1]).rank != 2:
        raise UnsupportedError.op("MatMul", layer.name, "tflite export")
    _fc(ex, layer, np.asarray(ex.g.weights[layer.inputs[1]], np.float64).T, None, layer.op.act)


@emitter(O.MaxPool, O.AveragePool)
def _pool(ex, layer):
    op = layer.op
    if op.dilations != (1, 1) or op.ceil_mode:
        raise UnsupportedError.op(layer.kind, layer.name, "tflite export")
    x, pad = _padding(ex, layer, ex.tmap[layer.inputs[0]], op)
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))  # TFLite pools keep the input quantisation
    code = "MAX_POOL_2D" if isinstance(op, O.MaxPool) else "AVERAGE_POOL_2D"
    ex.mb.op(code, [x], [out], ("Pool2DOptions", {"Padding": _PAD[pad], "StrideW": op.strides[1],
                                                  "StrideH": op.strides[0], "FilterWidth": op.kernel[1],
                                                  "FilterHeight": op.kernel[0]}))


@emitter(O.GlobalAveragePool, O.GlobalMaxPool)
def _gpool(ex, layer):
    x = ex.tmap[layer.inputs[0]]
    _, _, h, w = ex.g.type_of(layer.inputs[0]).shape
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
    code = "AVERAGE_POOL_2D" if isinstance(layer.op, O.GlobalAveragePool) else "MAX_POOL_2D"
    ex.mb.op(code, [x], [out], ("Pool2DOptions", {"Padding": _PAD["VALID"], "StrideW": 1, "StrideH": 1,
                                                  "FilterWidth": w, "FilterHeight": h}))


@emitter(O.Add, O.Sub, O.Mul)
def _binary(ex, layer):
    ins = [ex.tmap[t] if t in ex.tmap else _const(ex, layer, t) for t in layer.inputs]
    code = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL"}[layer.kind]
    opt = {"Add": "AddOptions", "Sub": "SubOptions", "Mul": "MulOptions"}[layer.kind]
    if len(ins) != 2:
        raise UnsupportedError.op(layer.kind, layer.name, "tflite export (more than two inputs)")

    def emit(out, a):
        ex.mb.op(code, ins, [out], (opt, {"FusedActivationFunction": _ACT[a]}))

    ex.emit_with_act(layer, layer.op.act, emit)


def _const(ex, layer, name: str) -> int:
    a = np.asarray(ex.g.weights[name], np.float64)
    if a.ndim == 4:
        a = a.transpose(_NCHW_TO_NHWC)
    lo, hi = float(min(a.min(), 0)), float(max(a.max(), 0))
    from cnncc.frontend.tflite.writer import quant_params

    s, zp = quant_params(lo, hi)
    q = np.clip(np.round(a / s) + zp, -128, 127)
    return ex.mb.tensor(f"{layer.name}/{name}", a.shape, "int8", q, scales=[s], zps=[zp])


@emitter(O.Concat)
def _concat(ex, layer):
    rank = ex.g.type_of(layer.outputs[0]).rank
    ax = layer.op.axis % rank
    ax = _AXIS_4D[ax] if rank == 4 else ax
    ins = [ex.tmap[t] for t in layer.inputs]
    ex.mb.op("CONCATENATION", ins, [ex.out_tensor(layer)], ("ConcatenationOptions", {"Axis": ax}))


def _to_onnx_order(ex, layer, idx: int, ir_name: str) -> int:
    """The tensor in ONNX axis order (a TRANSPOSE for 4-D maps with more than one spatial position)."""
    s = ex.g.type_of(ir_name).shape
    if len(s) != 4 or s[2] * s[3] == 1:
        return idx
    perm = ex.mb.tensor(f"{layer.name}/to_nchw_perm", (4,), "int32", np.array(_NHWC_TO_NCHW))
    mid = ex.mb.tensor(f"{layer.name}/to_nchw", s, "int8", scales=[ex.mb.scale_of(idx)], zps=[ex.mb.zp_of(idx)])
    ex.mb.op("TRANSPOSE", [idx, perm], [mid])
    return mid


def _reshape_to(ex, layer, src: int, shape, name: str) -> int:
    shp = ex.mb.tensor(f"{name}/shape", (len(shape),), "int32", np.array(shape))
    out = ex.mb.tensor(name, shape, "int8", scales=[ex.mb.scale_of(src)], zps=[ex.mb.zp_of(src)])
    ex.mb.op("RESHAPE", [src, shp], [out])
    return out


def _fc_only_flatten(ex, layer, s_in, s_out) -> bool:
    if len(s_in) != 4 or len(s_out) != 2 or s_in[2] * s_in[3] == 1 or s_out[0] != s_in[0]:
        return False
    cons = ex.g.consumers(layer.outputs[0])
    return bool(cons) and layer.outputs[0] not in ex.g.outputs and all(
        isinstance(c.op, (O.Gemm, O.MatMul)) and c.inputs[0] == layer.outputs[0] for c in cons)


@emitter(O.Reshape, O.Flatten, O.Transpose)
def _reshape(ex, layer):
    src_name, out_name = layer.inputs[0], layer.outputs[0]
    s_in, s_out = ex.g.type_of(src_name).shape, ex.g.type_of(out_name).shape
    x = ex.tmap[src_name]
    four_out = len(s_out) == 4 and s_out[2] * s_out[3] > 1
    if isinstance(layer.op, O.Transpose):
        # stored axis i of the output = stored axis q[i] of the input (4-D maps are stored NHWC)
        perm = layer.op.perm or tuple(reversed(range(len(s_in))))
        o = _NCHW_TO_NHWC if len(s_out) == 4 else tuple(range(len(s_out)))
        m = _NHWC_TO_NCHW if len(s_in) == 4 else tuple(range(len(s_in)))
        q = [m[perm[o[i]]] for i in range(len(s_out))]
        pt = ex.mb.tensor(f"{layer.name}/perm", (len(q),), "int32", np.array(q))
        out = ex.out_tensor(layer)
        ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
        ex.mb.op("TRANSPOSE", [x, pt], [out])
        return
    if _fc_only_flatten(ex, layer, s_in, s_out):
        # flatten feeding only fully-connected layers: keep NHWC order, permute the FC weight columns instead
        c, h, w = s_in[1], s_in[2], s_in[3]
        ex.col_perm[out_name] = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()
    else:
        x = _to_onnx_order(ex, layer, x, src_name)
    if not four_out:
        out = ex.out_tensor(layer)
        ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
        shp = ex.mb.tensor(f"{layer.name}/shape", (len(s_out),), "int32",
                           np.array(ex.shape_of(out_name)))
        ex.mb.op("RESHAPE", [x, shp], [out])
        return
    mid = _reshape_to(ex, layer, x, s_out, f"{layer.name}/nchw")
    perm = ex.mb.tensor(f"{layer.name}/to_nhwc_perm", (4,), "int32", np.array(_NCHW_TO_NHWC))
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(mid), ex.mb.zp_of(mid))
    ex.mb.op("TRANSPOSE", [mid, perm], [out])


@emitter(O.Identity)
def _identity(ex, layer):
    ex.tmap[layer.outputs[0]] = ex.tmap[layer.inputs[0]]


@emitter(O.Relu, O.Clip, O.Sigmoid, O.Tanh, O.HardSwish, O.LeakyRelu)
def _act(ex, layer):
    ex.activation(layer.op, ex.tmap[layer.inputs[0]], ex.out_tensor(layer), layer)


@emitter(O.Softmax)
def _softmax(ex, layer):
    if layer.op.axis % ex.g.type_of(layer.inputs[0]).rank != ex.g.type_of(layer.inputs[0]).rank - 1:
        raise UnsupportedError.op("Softmax", layer.name, "tflite export (axis not last)")
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, 1.0 / 256, -128)
    ex.mb.op("SOFTMAX", [ex.tmap[layer.inputs[0]]], [out], ("SoftmaxOptions", {"Beta": 1.0}))


@emitter(O.ReduceMean)
def _mean(ex, layer):
    s = ex.g.type_of(layer.inputs[0]).shape
    axes = sorted({a % len(s) for a in (layer.op.axes or range(len(s)))})
    if len(s) == 4:
        axes = sorted(_AXIS_4D[a] for a in axes)
    ax = ex.mb.tensor(f"{layer.name}/axes", (len(axes),), "int32", np.array(axes))
    if not layer.op.keepdims and len(s) == 4:
        raise UnsupportedError.op("ReduceMean", layer.name, "tflite export (keepdims=0 on a 4-D map)")
    ex.mb.op("MEAN", [ex.tmap[layer.inputs[0]], ax], [ex.out_tensor(layer)],
             ("ReducerOptions", {"KeepDims": bool(layer.op.keepdims)}))


@emitter(O.Pad)
def _pad(ex, layer):
    p = layer.op.pads
    r = len(p) // 2
    if layer.op.mode != "constant" or layer.op.value != 0:
        raise UnsupportedError.op("Pad", layer.name, "tflite export (non-zero or non-constant padding)")
    pairs = [[p[i], p[i + r]] for i in range(r)]
    if r == 4:
        pairs = [pairs[a] for a in _NHWC_TO_NCHW]
    pt = ex.mb.tensor(f"{layer.name}/pads", (r, 2), "int32", np.array(pairs))
    x = ex.tmap[layer.inputs[0]]
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
    ex.mb.op("PAD", [x, pt], [out])


def _stored_axis(ex, ir_name: str, axis: int) -> int:
    """The axis of the stored (NHWC for 4-D maps) tensor that IR axis ``axis`` of ``ir_name`` maps to."""
    rank = ex.g.type_of(ir_name).rank
    ax = axis % rank
    return _AXIS_4D[ax] if rank == 4 else ax


@emitter(O.Slice)
def _slice(ex, layer):
    """SLICE when every step is 1 (Vela maps it to a memory copy of a sub-box), else STRIDED_SLICE."""
    src = layer.inputs[0]
    s_in = ex.g.type_of(src).shape
    stored = list(ex.shape_of(src))
    begin, size, strides = [0] * len(s_in), list(stored), [1] * len(s_in)
    for st, en, ax, sp in zip(layer.op.starts, layer.op.ends, layer.op.axes, layer.op.steps):
        a = _stored_axis(ex, src, ax)
        begin[a], strides[a] = st, sp
        size[a] = len(range(st, en, sp))
    x = ex.tmap[src]
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
    bt = ex.mb.tensor(f"{layer.name}/begin", (len(begin),), "int32", np.array(begin))
    if all(s == 1 for s in strides):
        st = ex.mb.tensor(f"{layer.name}/size", (len(size),), "int32", np.array(size))
        ex.mb.op("SLICE", [x, bt, st], [out], ("SliceOptions", {}))
        return
    end = [b + (n - 1) * s + 1 for b, n, s in zip(begin, size, strides)]
    et = ex.mb.tensor(f"{layer.name}/end", (len(end),), "int32", np.array(end))
    sp = ex.mb.tensor(f"{layer.name}/strides", (len(strides),), "int32", np.array(strides))
    ex.mb.op("STRIDED_SLICE", [x, bt, et, sp], [out], ("StridedSliceOptions", {}))


@emitter(O.Split)
def _split(ex, layer):
    """SPLIT_V along the stored axis; output k is named ``layer`` (k = 0) or ``layer:k``."""
    src = layer.inputs[0]
    x = ex.tmap[src]
    sizes = ex.mb.tensor(f"{layer.name}/sizes", (len(layer.op.sizes),), "int32", np.array(layer.op.sizes))
    axis = ex.mb.tensor(f"{layer.name}/axis", (), "int32", np.array(_stored_axis(ex, src, layer.op.axis)))
    outs = []
    for k in range(len(layer.outputs)):
        o = ex.out_tensor(layer, k)
        ex.mb.set_quant(o, ex.mb.scale_of(x), ex.mb.zp_of(x))
        outs.append(o)
    ex.mb.op("SPLIT_V", [x, sizes, axis], outs, ("SplitVOptions", {"NumSplits": len(outs)}))


#: (IR mode, coordinate transform, nearest rounding or None) -> (TFLite op, AlignCorners, HalfPixelCenters)
_RESIZE = {("nearest", "asymmetric", "floor"): ("RESIZE_NEAREST_NEIGHBOR", False, False),
           ("nearest", "align_corners", "round_prefer_ceil"): ("RESIZE_NEAREST_NEIGHBOR", True, False),
           ("nearest", "tf_half_pixel_for_nn", "round_prefer_ceil"): ("RESIZE_NEAREST_NEIGHBOR", False, True),
           ("linear", "asymmetric", None): ("RESIZE_BILINEAR", False, False),
           ("linear", "align_corners", None): ("RESIZE_BILINEAR", True, False),
           ("linear", "half_pixel", None): ("RESIZE_BILINEAR", False, True),
           ("linear", "pytorch_half_pixel", None): ("RESIZE_BILINEAR", False, True)}


@emitter(O.Resize)
def _resize(ex, layer):
    """RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR for the coordinate transforms TFLite computes the same way."""
    op: O.Resize = layer.op
    key = (op.mode, op.coord_mode, op.nearest_mode if op.mode == "nearest" else None)
    if key not in _RESIZE:
        raise UnsupportedError.op("Resize", layer.name, f"tflite export (mode {op.mode}, coordinate transform "
                                                        f"{op.coord_mode}, nearest {op.nearest_mode})")
    code, align, half = _RESIZE[key]
    x = ex.tmap[layer.inputs[0]]
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
    size = ex.mb.tensor(f"{layer.name}/size", (2,), "int32", np.array(op.size))
    opts = "ResizeNearestNeighborOptions" if code == "RESIZE_NEAREST_NEIGHBOR" else "ResizeBilinearOptions"
    ex.mb.op(code, [x, size], [out], (opts, {"AlignCorners": align, "HalfPixelCenters": half}))

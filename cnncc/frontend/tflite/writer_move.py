"""Data-movement emitters of the TFLite exporter (NHWC int8): Concat, Reshape/Flatten/Transpose (keeping the
ONNX element order of 4-D maps with TRANSPOSEs), Slice, Split, Resize, Identity — and the emitter registry.

4-D IR tensors are stored NHWC; ``stored_axis`` maps an IR axis to the stored one, ``relayout`` reshapes a
stored tensor into a layer's output through the ONNX (NCHW) order.
"""

from __future__ import annotations

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.frontend.tflite.writer import _AXIS_4D, _NCHW_TO_NHWC, _NHWC_TO_NCHW
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


@emitter(O.Concat)
def _concat(ex, layer):
    rank = ex.g.type_of(layer.outputs[0]).rank
    ax = layer.op.axis % rank
    ax = _AXIS_4D[ax] if rank == 4 else ax
    out = ex.out_tensor(layer)
    s, z = ex.mb.scale_of(out), ex.mb.zp_of(out)
    ins = []
    for i, t in enumerate(layer.inputs):  # TFLite needs one quantisation: requantise inputs that differ
        x = ex.tmap[t]
        if (ex.mb.scale_of(x), ex.mb.zp_of(x)) != (s, z):
            y = ex.like(f"{layer.name}/requant{i}", ex.mb.tensors[x].shape, out)
            ex.mb.op("QUANTIZE", [x], [y])
            x = y
        ins.append(x)
    ex.mb.op("CONCATENATION", ins, [out], ("ConcatenationOptions", {"Axis": ax}))


def _to_onnx_order(ex, layer, idx: int, s: tuple[int, ...]) -> int:
    """The tensor (IR shape ``s``) in ONNX axis order (a TRANSPOSE for 4-D maps with more than one spatial
    position)."""
    if len(s) != 4 or s[2] * s[3] == 1:
        return idx
    perm = ex.mb.tensor(f"{layer.name}/to_nchw_perm", (4,), "int32", np.array(_NHWC_TO_NCHW))
    mid = ex.like(f"{layer.name}/to_nchw", s, idx)
    ex.mb.op("TRANSPOSE", [idx, perm], [mid])
    return mid


def _fc_only_flatten(ex, layer, s_in, s_out) -> bool:
    if len(s_in) != 4 or len(s_out) != 2 or s_in[2] * s_in[3] == 1 or s_out[0] != s_in[0]:
        return False
    cons = ex.g.consumers(layer.outputs[0])
    return bool(cons) and layer.outputs[0] not in ex.g.outputs and all(
        isinstance(c.op, (O.Gemm, O.MatMul)) and c.inputs[0] == layer.outputs[0] for c in cons)


def nhwc_flatten(graph, layer) -> bool:
    """Is ``layer`` a Transpose of a 4-D map into NHWC order (perm 0, 2, 3, 1) whose only reader is a
    Reshape/Flatten to a non-spatial shape? The pair flattens the map in NHWC order, which is the order the export
    stores it in: it is written as one RESHAPE of the stored map, no TRANSPOSE (TFLite files read back and tf2onnx
    graphs carry this pair in front of their fully-connected heads)."""
    if not isinstance(layer.op, O.Transpose) or tuple(layer.op.perm or ()) != _NCHW_TO_NHWC:
        return False
    if graph.type_of(layer.inputs[0]).rank != 4 or layer.outputs[0] in graph.outputs:
        return False
    cons = graph.consumers(layer.outputs[0])
    if len(cons) != 1 or not isinstance(cons[0].op, (O.Reshape, O.Flatten)):
        return False
    s = graph.type_of(cons[0].outputs[0]).shape
    return not (len(s) == 4 and s[2] * s[3] > 1)


def nhwc_flatten_source(graph, layer) -> str | None:
    """The 4-D map a Reshape/Flatten ``layer`` flattens in NHWC order through a :func:`nhwc_flatten` Transpose."""
    if not isinstance(layer.op, (O.Reshape, O.Flatten)):
        return None
    prod = graph.producer(layer.inputs[0])
    return prod.inputs[0] if prod is not None and nhwc_flatten(graph, prod) else None


def relayout(ex, layer, x: int, s_in: tuple[int, ...], s_out: tuple[int, ...], onnx_order: bool = True) -> None:
    """Reshape stored tensor ``x`` (IR shape ``s_in``) into the layer's output (IR shape ``s_out``) so that the
    ONNX element order is kept: 4-D maps go through NCHW order with TRANSPOSEs where their layout differs."""
    if onnx_order:
        x = _to_onnx_order(ex, layer, x, s_in)
    out_name = layer.outputs[0]
    if not (len(s_out) == 4 and s_out[2] * s_out[3] > 1):
        out = ex.out_tensor(layer)
        ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
        shp = ex.mb.tensor(f"{layer.name}/shape", (len(s_out),), "int32", np.array(ex.shape_of(out_name)))
        ex.mb.op("RESHAPE", [x, shp], [out])
        return
    shp = ex.mb.tensor(f"{layer.name}/nchw/shape", (4,), "int32", np.array(s_out))
    mid = ex.like(f"{layer.name}/nchw", s_out, x)
    ex.mb.op("RESHAPE", [x, shp], [mid])
    perm = ex.mb.tensor(f"{layer.name}/to_nhwc_perm", (4,), "int32", np.array(_NCHW_TO_NHWC))
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(mid), ex.mb.zp_of(mid))
    ex.mb.op("TRANSPOSE", [mid, perm], [out])


@emitter(O.Reshape, O.Flatten, O.Transpose)
def _reshape(ex, layer):
    src_name, out_name = layer.inputs[0], layer.outputs[0]
    s_in, s_out = ex.g.type_of(src_name).shape, ex.g.type_of(out_name).shape
    if nhwc_flatten(ex.g, layer):
        return  # written with its Reshape/Flatten reader (below)
    flat = nhwc_flatten_source(ex.g, layer)
    if flat is not None:
        relayout(ex, layer, ex.tmap[flat], ex.g.type_of(flat).shape, s_out, onnx_order=False)
        return
    x = ex.tmap[src_name]
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
    keep_nhwc = _fc_only_flatten(ex, layer, s_in, s_out)
    if keep_nhwc:
        # flatten feeding only fully-connected layers: keep NHWC order, permute the FC weight columns instead
        c, h, w = s_in[1], s_in[2], s_in[3]
        ex.col_perm[out_name] = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()
    relayout(ex, layer, x, s_in, s_out, onnx_order=not keep_nhwc)


@emitter(O.Identity)
def _identity(ex, layer):
    ex.tmap[layer.outputs[0]] = ex.tmap[layer.inputs[0]]


def stored_axis(ex, ir_name: str, axis: int) -> int:
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
        a = stored_axis(ex, src, ax)
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
    axis = ex.mb.tensor(f"{layer.name}/axis", (), "int32", np.array(stored_axis(ex, src, layer.op.axis)))
    outs = []
    for k in range(len(layer.outputs)):
        o = ex.out_tensor(layer, k)
        ex.mb.set_quant(o, ex.mb.scale_of(x), ex.mb.zp_of(x))
        outs.append(o)
    ex.mb.op("SPLIT_V", [x, sizes, axis], outs, ("SplitVOptions", {"NumSplits": len(outs)}))


#: (IR mode, coordinate transform, nearest rounding or None) -> (TFLite op, AlignCorners, HalfPixelCenters)
_RESIZE = {("nearest", "asymmetric", "floor"): ("RESIZE_NEAREST_NEIGHBOR", False, False),
           ("nearest", "align_corners", "round_prefer_ceil"): ("RESIZE_NEAREST_NEIGHBOR", True, False),
           ("nearest", "tf_half_pixel_for_nn", "floor"): ("RESIZE_NEAREST_NEIGHBOR", False, True),
           ("nearest", "half_pixel", "round_prefer_ceil"): ("RESIZE_NEAREST_NEIGHBOR", False, True),
           # floor((o + ½)/k) = ceil((o + ½)/k − 1) for integer upscales k (the ONNX default nearest mode)
           ("nearest", "half_pixel", "round_prefer_floor"): ("RESIZE_NEAREST_NEIGHBOR", False, True),
           ("linear", "asymmetric", None): ("RESIZE_BILINEAR", False, False),
           ("linear", "align_corners", None): ("RESIZE_BILINEAR", True, False),
           ("linear", "half_pixel", None): ("RESIZE_BILINEAR", False, True),
           ("linear", "pytorch_half_pixel", None): ("RESIZE_BILINEAR", False, True)}


@emitter(O.Resize)
def _resize(ex, layer):
    """RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR for the coordinate transforms TFLite computes the same way."""
    op: O.Resize = layer.op
    key = (op.mode, op.coord_mode, op.nearest_mode if op.mode == "nearest" else None)
    hw = ex.g.type_of(layer.inputs[0]).shape[2:]
    if key == ("nearest", "half_pixel", "round_prefer_floor") and any(o % i for o, i in zip(op.size, hw)):
        key = ("nearest", "half_pixel", "downscale")  # rounds differently from TFLite: refused below
    if op.coord_mode != "align_corners" and any(abs(sc - o / i) > 1e-6 for sc, o, i in zip(op.scales, op.size, hw)):
        key = (op.mode, "scales differ from output/input size", None)  # TFLite maps by the sizes only
    if key not in _RESIZE:
        raise UnsupportedError.op("Resize", layer.name, f"tflite export (mode {op.mode}, coordinate transform "
                                                        f"{op.coord_mode}, nearest {op.nearest_mode}, scales "
                                                        f"{op.scales} for {tuple(hw)} -> {op.size})")
    code, align, half = _RESIZE[key]
    x = ex.tmap[layer.inputs[0]]
    out = ex.out_tensor(layer)
    ex.mb.set_quant(out, ex.mb.scale_of(x), ex.mb.zp_of(x))
    size = ex.mb.tensor(f"{layer.name}/size", (2,), "int32", np.array(op.size))
    opts = "ResizeNearestNeighborOptions" if code == "RESIZE_NEAREST_NEIGHBOR" else "ResizeBilinearOptions"
    ex.mb.op(code, [x, size], [out], (opts, {"AlignCorners": align, "HalfPixelCenters": half}))

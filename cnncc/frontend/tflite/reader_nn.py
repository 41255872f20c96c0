"""TFLite operator handlers of the conv family, pooling and reductions (registered in :mod:`.reader_ops`)."""

from __future__ import annotations

import math

import numpy as np

from cnncc.frontend.tflite.reader import TO_NCHW
from cnncc.frontend.tflite.reader_ops import Builder, handles, same_pads
from cnncc.ir import ops as O


# ---------------------------------------------------------------------------------------------- conv family
def _pads(b: Builder, o, x: str, kernel, strides, dil) -> tuple[int, int, int, int]:
    if int(o.Padding()) == 1:  # VALID
        return (0, 0, 0, 0)
    _, _, h, w = b._types[x].shape
    t, bt = same_pads(h, kernel[0], strides[0], dil[0])
    lf, r = same_pads(w, kernel[1], strides[1], dil[1])
    return (t, lf, bt, r)


def _check_hybrid(b: Builder, x: str, w: str) -> None:
    if b._types[x].dtype == "float32" and np.issubdtype(b.weights[w].dtype, np.integer):
        b.fail("hybrid (dynamic-range) quantisation — float activations with integer weights — is not supported")


@handles("CONV_2D", "DEPTHWISE_CONV_2D")
def _conv(b: Builder, op, ins, outs):
    depthwise = b.op_name == "DEPTHWISE_CONV_2D"
    o = b.options("DepthwiseConv2DOptions" if depthwise else "Conv2DOptions")
    x = b.act(ins[0])
    if b.ir_rank(x) != 4:
        b.fail("input must be 4-D")
    c = b._types[x].shape[1]
    fshape = b.const(ins[1])[0].shape
    if depthwise:  # [1, FY, FX, C·M] -> [C·M, 1, FY, FX]
        w = b.weight(ins[1], (3, 0, 1, 2))
        groups = c
    else:  # [K, FY, FX, C/g] -> [K, C/g, FY, FX]
        w = b.weight(ins[1], TO_NCHW)
        groups = c // fshape[3] if fshape[3] and c % fshape[3] == 0 else 0
        if groups <= 0:
            b.fail(f"filter {list(fshape)} does not match {c} input channels")
    _check_hybrid(b, x, w)
    kernel = (int(fshape[1]), int(fshape[2]))
    strides = (int(o.StrideH()), int(o.StrideW()))
    dil = (int(o.DilationHFactor()), int(o.DilationWFactor()))
    pads = _pads(b, o, x, kernel, strides, dil)
    args = [x, w] + ([b.weight(ins[2])] if len(ins) > 2 and ins[2] >= 0 else [])
    b.emit(O.Conv(kernel, strides, dil, pads, groups, b.fused(o)), args, outs[:1])


@handles("TRANSPOSE_CONV")
def _tconv(b: Builder, op, ins, outs):
    o = b.options("TransposeConvOptions")
    out_shape = b.const_ints(ins[0])
    x = b.act(ins[2])
    w = b.weight(ins[1], (3, 0, 1, 2))  # [K, FY, FX, C] -> [C, K, FY, FX]
    _check_hybrid(b, x, w)
    _, _, h, wd = b._types[x].shape
    fy, fx = b.weights[w].shape[2:]
    strides = (int(o.StrideH()), int(o.StrideW()))
    pads, outpad = [], []
    for size, k, s, want in ((h, fy, strides[0], out_shape[1]), (wd, fx, strides[1], out_shape[2])):
        total = (size - 1) * s + k - want
        if total >= 0:
            pads.append((total // 2, total - total // 2))
            outpad.append(0)
        else:
            pads.append((0, 0))
            outpad.append(-total)
    args = [x, w] + ([b.weight(ins[3])] if len(ins) > 3 and ins[3] >= 0 else [])
    act = b.fused(o) if hasattr(o, "FusedActivationFunction") else None
    b.emit(O.ConvTranspose((int(fy), int(fx)), strides, (1, 1), (pads[0][0], pads[1][0], pads[0][1], pads[1][1]),
                           (outpad[0], outpad[1]), 1, act), args, outs[:1])


@handles("FULLY_CONNECTED")
def _fc(b: Builder, op, ins, outs):
    o = b.options("FullyConnectedOptions")
    if o is not None and int(o.WeightsFormat()) != 0:
        b.fail("shuffled weights format is not supported")
    x = b.act(ins[0])
    wq = b.is_const(ins[1])
    w = b.weight(ins[1]) if wq else b.act(ins[1])
    n_in = (b.weights[w].shape if wq else b._types[w].shape)[1]
    xs = b._types[x].shape
    if wq:
        _check_hybrid(b, x, w)
    if len(xs) != 2 or xs[1] != n_in:
        src = b.tfl_order(x)
        x = b.emit(O.Reshape((math.prod(xs) // n_in, n_in)), [src], suffix="flatten")
        b.quant_like(x, ins[0])
    args = [x, w] + ([b.weight(ins[2])] if len(ins) > 2 and ins[2] >= 0 else [])
    t = b.ts[outs[0]]
    m = b._types[x].shape[0]
    if tuple(t.shape) == (m, b.ts[ins[1]].shape[0]):
        b.emit(O.Gemm(False, True, act=b.fused(o)), args, outs[:1])
    else:
        mid = b.emit(O.Gemm(False, True, act=b.fused(o)), args, suffix="fc")
        b.quant_like(mid, outs[0])
        b.reshape_to(mid, outs[0])


# ---------------------------------------------------------------------------------------------- pooling, reductions
@handles("AVERAGE_POOL_2D", "MAX_POOL_2D")
def _pool(b: Builder, op, ins, outs):
    o = b.options("Pool2DOptions")
    x = b.act(ins[0])
    kernel = (int(o.FilterHeight()), int(o.FilterWidth()))
    strides = (int(o.StrideH()), int(o.StrideW()))
    pads = _pads(b, o, x, kernel, strides, (1, 1))
    pool = (O.MaxPool(kernel, strides, (1, 1), pads) if b.op_name == "MAX_POOL_2D"
            else O.AveragePool(kernel, strides, (1, 1), pads, False, False))
    b.act_after(b.fused(o), x, outs, lambda oi: b.emit(pool, [x], oi, suffix="pool"))


@handles("MEAN")
def _mean(b: Builder, op, ins, outs):
    o = b.options("ReducerOptions")
    x = b.act(ins[0])
    r = b.ir_rank(x)
    axes = tuple(sorted(b.axis(a, r) for a in b.const_ints(ins[1])))
    keep = bool(o.KeepDims()) if o is not None else False
    if r == 4 and not keep and not (set(axes) == {2, 3} or 1 in axes):
        b.fail(f"MEAN over axes {b.const_ints(ins[1])} without keep_dims changes the axis order")
    b.emit(O.ReduceMean(axes, keep), [x], outs[:1])

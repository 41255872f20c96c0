"""Integer kernels that accumulate exactly, then rescale once (``interp_int``): Conv, ConvTranspose, Gemm and
MatMul (``Σ (x - zx)·(w - zw) + bias`` in int64, rescaled by ``s_x·s_w[k]/s_y``), max and average pooling (the
input quantisation kept; average: round half away from zero over the valid taps), global average pool and
ReduceMean."""

from __future__ import annotations

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.ir import ops as O
from cnncc.ir.interp_int_ctx import Ctx, _scales, _zp, kernel, requant
from cnncc.ir.quant import dequantize, multipliers, qrange, rescale
from cnncc.ir.types import QuantParams


# ---------------------------------------------------------------------------------------------- reductions
def _acc_scale(ctx: Ctx, s_in: float, qw: QuantParams) -> np.ndarray:
    """The accumulator's rescale ``s_in·s_w[k]/s_out`` per output channel. TFLite: in double. onnxruntime
    (QLinearConv, QLinearMatMul): in float32, the product rounded, then the quotient; a last-bit difference in the
    scale moves a value within an ulp of a .5 tie by 1 LSB (tests/ir/test_qlinear_requant_ort.py)."""
    if ctx.onnx:
        sw = np.asarray(qw.scale, np.float32)
        return ((np.float32(s_in) * sw).astype(np.float32) / np.float32(ctx.qout().scale[0])).astype(np.float32)
    return s_in * _scales(qw) / ctx.qout().scale[0]  # TFLite: double(s_in)·double(s_w)/double(s_out)


@kernel(O.Conv)
def _conv(ctx: Ctx, op: O.Conv, x, w, b=None):
    from cnncc.ir.interp import windows

    qx, qw = ctx.qin(0), ctx.qin(1)
    xs = (x.astype(np.int64) - qx.zero_point[0]).astype(np.float64)
    ws = (w.astype(np.int64) - _zp(qw, w.ndim)).astype(np.float64)
    n, c = x.shape[:2]
    k, g = w.shape[0], op.groups
    win = windows(xs, op.kernel, op.strides, op.dilations, op.pads)
    oy, ox = win.shape[2:4]
    win = win.reshape(n, g, c // g, oy, ox, op.kernel[0], op.kernel[1])
    wg = ws.reshape(g, k // g, c // g, op.kernel[0], op.kernel[1])
    acc = np.einsum("ngcyxij,gkcij->ngkyx", win, wg, optimize=True).reshape(n, k, oy, ox)
    acc = np.rint(acc).astype(np.int64)
    if b is not None:
        acc = acc + b.astype(np.int64).reshape(1, k, 1, 1)
    real = _acc_scale(ctx, qx.scale[0], qw)
    return [requant(ctx, acc, real, 1, op.act)]


@kernel(O.ConvTranspose)
def _convt(ctx: Ctx, op: O.ConvTranspose, x, w, b=None):
    qx, qw = ctx.qin(0), ctx.qin(1)
    xs = (x.astype(np.int64) - qx.zero_point[0]).astype(np.float64)
    ws = (w.astype(np.int64) - _zp(qw, w.ndim)).astype(np.float64)
    n, c, h, wd = x.shape
    fy, fx = op.kernel
    sy, sx = op.strides
    kk = w.shape[1]
    full_h = (h - 1) * sy + fy + op.output_padding[0]
    full_w = (wd - 1) * sx + fx + op.output_padding[1]
    acc = np.zeros((n, kk, full_h, full_w), np.float64)
    contrib = np.einsum("nchw,ckij->nkijhw", xs, ws)
    for i in range(fy):
        for j in range(fx):
            acc[:, :, i:i + (h - 1) * sy + 1:sy, j:j + (wd - 1) * sx + 1:sx] += contrib[:, :, i, j]
    t, lf, bt, r = op.pads
    acc = np.rint(acc[:, :, t:full_h - bt, lf:full_w - r]).astype(np.int64)
    if b is not None:
        acc = acc + b.astype(np.int64).reshape(1, kk, 1, 1)
    real = _acc_scale(ctx, qx.scale[0], qw)
    return [requant(ctx, acc, real, 1, op.act)]


@kernel(O.Gemm)
def _gemm(ctx: Ctx, op: O.Gemm, a, bm, c=None):
    qa, qb = ctx.qin(0), ctx.qin(1)
    av = (a.astype(np.int64) - qa.zero_point[0]).astype(np.float64)
    bv = (bm.astype(np.int64) - _zp(qb, bm.ndim)).astype(np.float64)
    av = av.T if op.trans_a else av
    bv = bv.T if op.trans_b else bv
    acc = np.rint(av @ bv).astype(np.int64)
    if c is not None:
        acc = acc + c.astype(np.int64).reshape(1, -1)
    real = _acc_scale(ctx, qa.scale[0], qb)
    return [requant(ctx, acc, real, 1, op.act)]


@kernel(O.MatMul)
def _matmul(ctx: Ctx, op: O.MatMul, a, bm):
    qa, qb = ctx.qin(0), ctx.qin(1)
    av = (a.astype(np.int64) - qa.zero_point[0]).astype(np.float64)
    bv = (bm.astype(np.int64) - _zp(qb, bm.ndim)).astype(np.float64)
    acc = np.rint(np.matmul(av, bv)).astype(np.int64)
    real = _acc_scale(ctx, qa.scale[0], qb)
    return [requant(ctx, acc, real, acc.ndim - 1, op.act)]


# ---------------------------------------------------------------------------------------------- pooling
@kernel(O.MaxPool)
def _maxpool(ctx: Ctx, op: O.MaxPool, x):
    from cnncc.ir.interp import _ceil_pad, windows

    lo = qrange(ctx.tin[0].dtype)[0]
    xe = _ceil_pad(op, x.astype(np.int64))  # ceil_mode: the overhang holds -inf, never a window's max
    y = windows(xe, op.kernel, op.strides, op.dilations, op.pads, lo).max(axis=(4, 5)).astype(np.int64)
    return [_same_quant(ctx, y)]


@kernel(O.AveragePool)
def _avgpool(ctx: Ctx, op: O.AveragePool, x):
    from cnncc.ir.interp import windows

    if op.ceil_mode:
        raise UnsupportedError.op("AveragePool", ctx.layer.name, "integer reference interpreter (ceil_mode)")
    xi = x.astype(np.int64)
    s = windows(xi, op.kernel, op.strides, op.dilations, op.pads, 0).sum(axis=(4, 5))
    cnt = windows(np.ones((1, 1) + x.shape[2:], np.int64), op.kernel, op.strides, op.dilations, op.pads,
                  0).sum(axis=(4, 5))
    if op.count_include_pad:
        cnt = np.full_like(cnt, op.kernel[0] * op.kernel[1])
    if ctx.onnx:  # onnxruntime runs DQ -> float AveragePool -> Q: emulate it in float32, taps summed in order
        deq = dequantize(x, ctx.qin(0))
        win = windows(deq, op.kernel, op.strides, op.dilations, op.pads, np.nan)
        acc = np.zeros(win.shape[:4], np.float32)
        for i in range(win.shape[4]):
            for j in range(win.shape[5]):
                v = win[..., i, j]
                acc = np.where(np.isnan(v), acc, acc + np.nan_to_num(v)).astype(np.float32)
        qo = ctx.qout()
        v = np.rint((acc / cnt.astype(np.float32)) / np.float32(qo.scale[0]) + np.float32(qo.zero_point[0]))
        return [np.clip(v, *qrange(ctx.out_dtype)).astype(ctx.out_dtype)]  # QLinearAveragePool: zp added first
    y = np.where(s > 0, (s + cnt // 2) // cnt, -((-s + cnt // 2) // cnt))
    return [_same_quant(ctx, y)]


def _same_quant(ctx: Ctx, y: np.ndarray) -> np.ndarray:
    """Window ops that keep the input quantisation; requantise if the output's differs."""
    qi, qo = ctx.qin(0), ctx.qout()
    if (qi.scale, qi.zero_point) != (qo.scale, qo.zero_point):
        return requant(ctx, y - qi.zero_point[0], qi.scale[0] / qo.scale[0])
    lo, hi = qrange(ctx.out_dtype)
    return np.clip(y, lo, hi).astype(ctx.out_dtype)


@kernel(O.GlobalAveragePool)
def _gap(ctx: Ctx, op, x):
    qx = ctx.qin(0)
    n = int(np.prod(x.shape[2:]))
    s = (x.astype(np.int64) - qx.zero_point[0]).sum(axis=tuple(range(2, x.ndim)), keepdims=True)
    return [requant(ctx, s, qx.scale[0] / (ctx.qout().scale[0] * n))]


@kernel(O.ReduceMean)
def _mean(ctx: Ctx, op: O.ReduceMean, x):
    qx, qo = ctx.qin(0), ctx.qout()
    axes = tuple(a % x.ndim for a in op.axes) if op.axes else tuple(range(x.ndim))
    n = int(np.prod([x.shape[a] for a in axes]))
    s = (x.astype(np.int64) - qx.zero_point[0]).sum(axis=axes, keepdims=op.keepdims)
    if ctx.onnx:
        return [requant(ctx, s, qx.scale[0] / (qo.scale[0] * n))]
    m, sh = multipliers([np.float64(np.float32(qx.scale[0])) / np.float64(np.float32(qo.scale[0]))])
    v = rescale(s, m[0], sh[0])
    v = np.where(v > 0, (v + n // 2) // n, -((-v + n // 2) // n))
    lo, hi = qrange(ctx.out_dtype)
    return [np.clip(v + qo.zero_point[0], lo, hi).astype(ctx.out_dtype)]


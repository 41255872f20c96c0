"""Per-operator conversion of the TFLite reader: TFLite builtin operators (NHWC) -> IR layers (NCHW)."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable

import numpy as np

from cnncc.errors import InvalidModelError, UnsupportedError
from cnncc.frontend.tflite.reader import TO_NCHW, TO_NHWC, TflTensor, ir_shape, ir_type
from cnncc.ir import ops as O
from cnncc.ir.graph import Layer
from cnncc.ir.quant import Dequantize, Quantize, dequantize
from cnncc.ir.types import QuantParams, TensorType

HANDLERS: dict[str, Callable] = {}
_FUSED = {0: None, 1: O.Relu(), 2: O.Clip(-1.0, 1.0), 3: O.Clip(0.0, 6.0)}


def handles(*names):
    def deco(fn):
        for n in names:
            HANDLERS[n] = fn
        return fn

    return deco


def same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TFLite SAME padding along one axis: (pad before, pad after)."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _perm_axis(axis: int | None, perm: tuple[int, ...]) -> int | None:
    """Where stored axis ``axis`` lands after ``np.transpose(a, perm)``."""
    return None if axis is None else perm.index(axis)


class Builder:
    """Accumulates IR inputs, layers, weights and quantisation records while walking the operators."""

    def __init__(self, ts: list[TflTensor], where: str):
        self.ts = ts
        self.where = where
        self.names: dict[int, str] = {}        # TFLite tensor index -> IR activation name
        self.consts: dict[int, tuple[np.ndarray, QuantParams | None]] = {}  # folded constants (NHWC, TFLite axis)
        self.inputs: dict[str, TensorType] = {}
        self.layers: list[Layer] = []
        self.weights: dict[str, np.ndarray] = {}
        self.quant: dict[str, QuantParams] = {}
        self.used: set[str] = set()
        self.extra_outputs: list[str] = []
        self.handles: dict[int, str] = {}
        self.op_index = -1
        self.op_name = ""
        self.op = None

    # ------------------------------------------------------------------ names and tensors
    def unique(self, base: str) -> str:
        name, i = base, 1
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name

    def act_quant(self, t: TflTensor) -> QuantParams | None:
        if t.quant is not None and t.quant.per_axis:
            raise UnsupportedError(f"{self.where}: activation {t.name!r} has per-axis quantisation; only weights "
                                   f"may be quantised per channel")
        return t.quant

    def graph_input(self, t: TflTensor) -> None:
        name = self.unique(t.name)
        q = self.act_quant(t)
        self.inputs[name] = ir_type(t, q)
        if q is not None:
            self.quant[name] = q
        self.names[t.index] = name

    def ir_output(self, t: TflTensor) -> str:
        if t.index not in self.names:
            raise UnsupportedError(f"{self.where}: graph output {t.name!r} is a constant or never produced")
        return self.names[t.index]

    def is_const(self, idx: int) -> bool:
        return idx in self.consts or (idx >= 0 and self.ts[idx].data is not None and idx not in self.names)

    def const(self, idx: int) -> tuple[np.ndarray, QuantParams | None]:
        if idx in self.consts:
            return self.consts[idx]
        t = self.ts[idx]
        if t.data is None:
            self.fail(f"input {t.name!r} must be a constant")
            raise AssertionError  # unreachable: fail raises
        return t.data, t.quant

    def const_ints(self, idx: int) -> list[int]:
        return [int(v) for v in np.asarray(self.const(idx)[0]).reshape(-1)]

    def weight(self, idx: int, perm: tuple[int, ...] | None = None, shape: tuple[int, ...] | None = None) -> str:
        """Store constant ``idx`` in the weight table (permuted by ``perm`` / reshaped) and return its name."""
        arr, q = self.const(idx)
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        if shape is not None:
            arr = arr.reshape(shape)
        if perm is not None:
            arr = np.transpose(arr, perm)
            if q is not None:
                q = QuantParams(q.scale, q.zero_point, _perm_axis(q.axis, perm))
        name = self.unique(self.ts[idx].name)
        self.weights[name] = np.ascontiguousarray(arr)
        if q is not None and np.issubdtype(arr.dtype, np.integer):
            self.quant[name] = q
        return name

    def act(self, idx: int) -> str:
        """IR name of an activation input (a constant is stored as a weight in IR layout)."""
        if idx in self.names:
            return self.names[idx]
        if self.is_const(idx):
            arr = self.const(idx)[0]
            return self.weight(idx, TO_NCHW if arr.ndim == 4 else None)
        self.fail(f"input tensor {self.ts[idx].name!r} is not produced before use")
        raise AssertionError  # unreachable

    def ir_rank(self, name: str) -> int:
        return len(self.type_of(name).shape)

    def type_of(self, name: str) -> TensorType:
        if name in self.weights:
            return TensorType(tuple(self.weights[name].shape), "float32")
        return self._types[name]

    # ------------------------------------------------------------------ emitting
    def emit(self, op: O.Op, inputs: list[str], out_idx: list[int] | None = None, suffix: str = "",
             out_type: TensorType | None = None) -> str:
        """Append a layer. ``out_idx``: the TFLite tensors it produces (named after the first); without them an
        intermediate tensor ``<first output>/<suffix>`` is made. Returns the (first) IR output name."""
        outs_t = [self.ts[i] for i in (out_idx or [])]
        base = self.ts[self.op.Outputs(0)].name if self.op is not None and self.op.OutputsLength() else "out"
        if outs_t:
            outs = [self.unique(t.name) for t in outs_t]
            lname = outs[0]
        else:
            outs = [self.unique(f"{base}/{suffix}")]
            lname = outs[0]
        self.layers.append(Layer(lname, op, tuple(inputs), tuple(outs), (f"{self.op_name}#{self.op_index}",)))
        for t, name in zip(outs_t, outs):
            self.names[t.index] = name
            q = self.act_quant(t)
            if q is not None:
                self.quant[name] = q
        if not outs_t and out_type is not None and out_type.quant is not None:
            self.quant[outs[0]] = out_type.quant
        return outs[0]

    def fail(self, reason: str) -> None:
        out = self.ts[self.op.Outputs(0)].name if self.op is not None and self.op.OutputsLength() else "?"
        raise UnsupportedError(f"{self.where}: TFLite operator {self.op_name} (operator #{self.op_index}, output "
                               f"tensor {out!r}): {reason}")

    def operator(self, index: int, name: str, op) -> None:
        self.op_index, self.op_name, self.op = index, name, op
        fn = HANDLERS.get(name)
        if fn is None:
            out = self.ts[op.Outputs(0)].name if op.OutputsLength() else "?"
            raise UnsupportedError(f"{self.where}: unsupported TFLite operator {name} (operator #{index}, output "
                                   f"tensor {out!r}) on target 'cnncc'")
        fn(self, op, [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else [],
           [int(v) for v in op.OutputsAsNumpy()] if op.OutputsLength() else [])

    def options(self, cls: str):
        assert self.op is not None
        tab = self.op.BuiltinOptions()
        if tab is None:
            return None
        o = getattr(importlib.import_module(f"tflite.{cls}"), cls)()
        o.Init(tab.Bytes, tab.Pos)
        return o

    def fused(self, o) -> O.Activation | None:
        code = int(o.FusedActivationFunction()) if o is not None else 0
        if code not in _FUSED:
            self.fail(f"fused activation {code} is not supported")
        return _FUSED[code]

    def act_after(self, act, x: str, out_idx: list[int], emit_main: Callable[[list[int] | None], str]) -> None:
        """Emit the main layer, then a separate activation layer for ops without an ``act`` field."""
        if act is None:
            emit_main(out_idx)
            return
        mid = emit_main(None)
        self.quant_like(mid, out_idx[0])
        self.emit(act, [mid], out_idx)

    def quant_like(self, name: str, idx: int) -> None:
        q = self.ts[idx].quant
        if q is not None:
            self.quant[name] = q

    @property
    def _types(self) -> dict[str, TensorType]:
        """Types of the IR tensors so far (inferred incrementally)."""
        cache = self.__dict__.setdefault("_tcache", {})
        done = self.__dict__.get("_tdone", 0)
        for k, v in self.inputs.items():
            cache.setdefault(k, v)
        for layer in self.layers[done:]:
            ins = [self.weight_type(t) if t in self.weights else cache[t] for t in layer.inputs]
            for t, ty in zip(layer.outputs, layer.op.infer(ins)):
                q = self.quant.get(t)
                cache[t] = ty.with_quant(q) if q is not None and ty.dtype != "float32" else ty
        self.__dict__["_tdone"] = len(self.layers)
        return cache

    def weight_type(self, name: str) -> TensorType:
        a = self.weights[name]
        return TensorType(tuple(int(d) for d in a.shape), str(a.dtype) if str(a.dtype) != "float16" else "float32")

    # ------------------------------------------------------------------ layout helpers
    def tfl_order(self, name: str) -> str:
        """An IR tensor whose row-major element order equals TFLite's (NHWC) order of ``name``."""
        s = self._types[name].shape if name not in self.weights else self.weights[name].shape
        if len(s) == 4 and s[1] > 1 and s[2] * s[3] > 1:
            return self.emit(O.Transpose(TO_NHWC), [name], suffix="to_nhwc")
        return name

    def reshape_to(self, x: str, out_idx: int) -> None:
        """Reshape IR tensor ``x`` to TFLite tensor ``out_idx`` (as TFLite reshapes: in NHWC element order)."""
        t = self.ts[out_idx]
        src = self.tfl_order(x)
        if len(t.shape) == 4 and t.shape[3] > 1 and t.shape[1] * t.shape[2] > 1:
            mid = self.emit(O.Reshape(tuple(t.shape)), [src], suffix="nhwc")
            self.quant_like(mid, out_idx)
            self.emit(O.Transpose(TO_NCHW), [mid], [out_idx])
        else:
            self.emit(O.Reshape(ir_shape(t.shape)), [src], [out_idx])

    def axis(self, axis: int, rank: int) -> int:
        a = axis % rank
        return TO_NCHW.index(a) if rank == 4 else a

    def bcast_const(self, idx: int, rank: int) -> str:
        """A constant operand of a broadcasting op, in IR layout for a rank-``rank`` result."""
        arr = self.const(idx)[0]
        if rank == 4 and arr.ndim < 4:
            return self.weight(idx, TO_NCHW, (1,) * (4 - arr.ndim) + tuple(arr.shape))
        return self.weight(idx, TO_NCHW if arr.ndim == 4 else None)


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


# ---------------------------------------------------------------------------------------------- elementwise
@handles("ADD", "SUB", "MUL")
def _binary(b: Builder, op, ins, outs):
    o = b.options({"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[b.op_name])
    rank = len(b.ts[outs[0]].shape)
    args = [b.bcast_const(i, rank) if b.is_const(i) else b.act(i) for i in ins]
    for a in args:
        if a not in b.weights and b.ir_rank(a) != rank and rank == 4:
            b.fail("broadcasting a lower-rank activation against a 4-D map is not supported")
    cls = {"ADD": O.Add, "SUB": O.Sub, "MUL": O.Mul}[b.op_name]
    b.emit(cls(b.fused(o)), args, outs[:1])


@handles("CONCATENATION")
def _concat(b: Builder, op, ins, outs):
    o = b.options("ConcatenationOptions")
    rank = len(b.ts[outs[0]].shape)
    args = [b.act(i) for i in ins]
    ax = b.axis(int(o.Axis()), rank)
    b.act_after(b.fused(o), args[0], outs, lambda oi: b.emit(O.Concat(ax), args, oi, suffix="concat"))


_ACTS = {"LOGISTIC": O.Sigmoid(), "TANH": O.Tanh(), "RELU": O.Relu(), "RELU6": O.Clip(0.0, 6.0),
         "RELU_N1_TO_1": O.Clip(-1.0, 1.0), "HARD_SWISH": O.HardSwish()}


@handles(*_ACTS)
def _act(b: Builder, op, ins, outs):
    b.emit(_ACTS[b.op_name], [b.act(ins[0])], outs[:1])


@handles("LEAKY_RELU")
def _leaky(b: Builder, op, ins, outs):
    o = b.options("LeakyReluOptions")
    b.emit(O.LeakyRelu(float(np.float32(o.Alpha()))), [b.act(ins[0])], outs[:1])


@handles("SOFTMAX")
def _softmax(b: Builder, op, ins, outs):
    o = b.options("SoftmaxOptions")
    if o is not None and abs(float(o.Beta()) - 1.0) > 1e-6:
        b.fail(f"beta={o.Beta():g} is not supported (only 1)")
    x = b.act(ins[0])
    b.emit(O.Softmax(1 if b.ir_rank(x) == 4 else -1), [x], outs[:1])


@handles("QUANTIZE")
def _quantize(b: Builder, op, ins, outs):
    b.emit(Quantize(ir_type(b.ts[outs[0]], None).dtype), [b.act(ins[0])], outs[:1])


@handles("DEQUANTIZE")
def _dequantize(b: Builder, op, ins, outs):
    if b.is_const(ins[0]):  # fp16 / int8 weights stored compressed: fold to float32
        arr, q = b.const(ins[0])
        val = arr.astype(np.float32) if q is None else dequantize(arr, q)
        b.consts[outs[0]] = (val, None)
        return
    b.emit(Dequantize(), [b.act(ins[0])], outs[:1])


# ---------------------------------------------------------------------------------------------- data movement
@handles("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(b: Builder, op, ins, outs):
    if b.is_const(ins[0]):
        arr, q = b.const(ins[0])
        b.consts[outs[0]] = (arr.reshape(b.ts[outs[0]].shape), q)
        return
    b.reshape_to(b.act(ins[0]), outs[0])


@handles("PAD", "PADV2")
def _pad(b: Builder, op, ins, outs):
    x = b.act(ins[0])
    r = b.ir_rank(x)
    p = np.asarray(b.const(ins[1])[0]).reshape(r, 2)
    order = TO_NCHW if r == 4 else tuple(range(r))
    pads = tuple(int(p[order[i], 0]) for i in range(r)) + tuple(int(p[order[i], 1]) for i in range(r))
    value = 0.0
    tq = b.ts[ins[0]].quant
    if b.op_name == "PADV2" and len(ins) > 2:
        v, vq = b.const(ins[2])
        v = np.asarray(v).reshape(-1)[:1]
        value = float(dequantize(v, vq)[0]) if vq is not None else float(v[0])
    elif tq is not None:
        value = 0.0  # TFLite pads a quantised tensor with its zero point (real 0)
    b.emit(O.Pad(pads, "constant", value), [x], outs[:1])


@handles("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR")
def _resize(b: Builder, op, ins, outs):
    bil = b.op_name == "RESIZE_BILINEAR"
    o = b.options("ResizeBilinearOptions" if bil else "ResizeNearestNeighborOptions")
    x = b.act(ins[0])
    size = tuple(b.const_ints(ins[1]))
    _, _, h, w = b._types[x].shape
    align, half = bool(o.AlignCorners()), bool(o.HalfPixelCenters())
    if bil:
        mode, nearest = ("align_corners" if align else "half_pixel" if half else "asymmetric"), "floor"
    else:
        mode = "align_corners" if align else "tf_half_pixel_for_nn" if half else "asymmetric"
        nearest = "round_prefer_ceil" if align else "floor"
    b.emit(O.Resize((size[0], size[1]), (size[0] / h, size[1] / w), "linear" if bil else "nearest", mode, nearest),
           [x], outs[:1])


@handles("STRIDED_SLICE")
def _strided_slice(b: Builder, op, ins, outs):
    o = b.options("StridedSliceOptions")
    x = b.act(ins[0])
    shape = b.ts[ins[0]].shape
    r = len(shape)
    if int(o.EllipsisMask()) or int(o.NewAxisMask()) or (hasattr(o, "Offset") and o.Offset()):
        b.fail("ellipsis/new-axis masks and offset are not supported")
    begin, end, strides = b.const_ints(ins[1]), b.const_ints(ins[2]), b.const_ints(ins[3])
    bm, em, sm = int(o.BeginMask()), int(o.EndMask()), int(o.ShrinkAxisMask())
    starts, ends, axes, steps = [], [], [], []
    for a in range(r):
        if a >= len(begin):
            continue
        s = strides[a]
        if sm >> a & 1:
            st = begin[a] % shape[a]
            rng = (st, st + 1, 1)
        else:
            rng = slice(None if bm >> a & 1 else begin[a], None if em >> a & 1 else end[a], s).indices(shape[a])
        if rng == (0, shape[a], 1):
            continue
        starts.append(rng[0])
        ends.append(rng[1])
        axes.append(b.axis(a, r))
        steps.append(rng[2])
    if not axes:
        src = x
    else:
        src = b.emit(O.Slice(tuple(starts), tuple(ends), tuple(axes), tuple(steps)), [x],
                     None if sm else outs[:1], suffix="slice")
    if sm or not axes:
        b.quant_like(src, outs[0])
        b.reshape_to(src, outs[0])


@handles("SLICE")
def _slice(b: Builder, op, ins, outs):
    x = b.act(ins[0])
    shape = b.ts[ins[0]].shape
    begin, size = b.const_ints(ins[1]), b.const_ints(ins[2])
    starts, ends, axes = [], [], []
    for a, (st, n) in enumerate(zip(begin, size)):
        en = shape[a] if n == -1 else st + n
        if (st, en) != (0, shape[a]):
            starts.append(st)
            ends.append(en)
            axes.append(b.axis(a, len(shape)))
    b.emit(O.Slice(tuple(starts), tuple(ends), tuple(axes), (1,) * len(axes)), [x], outs[:1])


@handles("SPLIT", "SPLIT_V")
def _split(b: Builder, op, ins, outs):
    if b.op_name == "SPLIT":
        axis, x = b.const_ints(ins[0])[0], b.act(ins[1])
        n = len(outs)
        dim = b.ts[ins[1]].shape[axis]
        sizes = tuple([dim // n] * n)
    else:
        x, axis = b.act(ins[0]), b.const_ints(ins[2])[0]
        sizes_l = b.const_ints(ins[1])
        dim = b.ts[ins[0]].shape[axis]
        if -1 in sizes_l:
            sizes_l[sizes_l.index(-1)] = dim - (sum(sizes_l) + 1)
        sizes = tuple(sizes_l)
    b.emit(O.Split(b.axis(axis, b.ir_rank(x)), sizes), [x], outs)


@handles("TRANSPOSE")
def _transpose(b: Builder, op, ins, outs):
    x = b.act(ins[0])
    perm = b.const_ints(ins[1])
    r = len(perm)
    p1 = TO_NHWC if r == 4 else tuple(range(r))
    p3 = TO_NCHW if r == 4 else tuple(range(r))
    total = tuple(p1[perm[p3[i]]] for i in range(r))
    b.emit(O.Transpose(total), [x], outs[:1])


# ---------------------------------------------------------------------------------------------- streaming state
@handles("VAR_HANDLE")
def _var_handle(b: Builder, op, ins, outs):
    from cnncc.frontend.tflite.reader import _var_key

    b.handles[outs[0]] = _var_key(op)


@handles("CALL_ONCE")
def _call_once(b: Builder, op, ins, outs):
    return  # runs the variable-init subgraph; the initial values are graph inputs here


@handles("READ_VARIABLE")
def _read_variable(b: Builder, op, ins, outs):
    if ins[0] not in b.handles:
        b.fail("reads a variable no VAR_HANDLE created")
    b.graph_input(b.ts[outs[0]])


@handles("ASSIGN_VARIABLE")
def _assign_variable(b: Builder, op, ins, outs):
    if ins[1] in b.names:
        b.extra_outputs.append(b.names[ins[1]])
    elif not b.is_const(ins[1]):
        raise InvalidModelError(f"{b.where}: ASSIGN_VARIABLE (operator #{b.op_index}) of an undefined tensor")

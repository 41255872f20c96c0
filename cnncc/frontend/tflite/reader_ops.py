"""Per-operator conversion of the TFLite reader: TFLite builtin operators (NHWC) -> IR layers (NCHW)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.frontend.tflite.reader import TO_NCHW, TO_NHWC, TflTensor, ir_shape, ir_type
from cnncc.ir import ops as O
from cnncc.ir.graph import Layer
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


# the handlers register themselves when their modules load
from cnncc.frontend.tflite import reader_move, reader_nn  # noqa: E402,F401

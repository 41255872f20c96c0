"""IR -> ONNX writer: standard ONNX ops only (default opset 17), so onnxruntime and training frameworks load
the result. Fused activations become separate nodes after their layer; Im2col is emitted exactly as
Pad + Gather (constant int64 index table) + Reshape (+ Transpose for the HWC layout)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from cnncc.errors import UnsupportedError
from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from cnncc.passes.base import Namer, used_names

#: ONNX IR version written (onnxruntime >= 1.14 reads it; matches opset 17)
IR_VERSION = 8

_DTYPES = {"float32": 1, "uint8": 2, "int8": 3, "int16": 5, "int32": 6, "int64": 7, "bool": 9, "float16": 10}


class _Emitter:
    def __init__(self, graph: Graph, opset: int):
        from onnx import helper, numpy_helper

        self.h, self.nh = helper, numpy_helper
        self.g, self.opset = graph, opset
        self.nodes: list = []
        self.inits: list = []
        self.fresh = Namer(used_names(graph))  # fresh(base) -> a name not used in the graph yet

    def const(self, base: str, value) -> str:
        name = self.fresh(base)
        self.inits.append(self.nh.from_array(np.asarray(value), name))
        return name

    def i64(self, base: str, values) -> str:
        return self.const(base, np.asarray(values, dtype=np.int64))

    def f32(self, base: str, value) -> str:
        return self.const(base, np.asarray(value, dtype=np.float32))

    def node(self, op_type: str, inputs, outputs, name: str, **attrs) -> None:
        self.nodes.append(self.h.make_node(op_type, list(inputs), list(outputs), name=self.fresh(name),
                                           **{k: v for k, v in attrs.items() if v is not None}))

    # ------------------------------------------------------------------ activations
    def activation(self, act, x: str, y: str, name: str) -> None:
        k = act.kind
        if k in ("Relu", "Sigmoid", "Tanh", "HardSwish"):
            self.node(k, [x], [y], name)
        elif k == "LeakyRelu":
            self.node(k, [x], [y], name, alpha=float(act.alpha))
        elif k == "HardSigmoid":
            self.node(k, [x], [y], name, alpha=float(act.alpha), beta=float(act.beta))
        elif k == "Clip":
            lo = self.f32(f"{name}.min", act.lo if math.isfinite(act.lo) else -np.finfo(np.float32).max)
            hi = self.f32(f"{name}.max", act.hi if math.isfinite(act.hi) else np.finfo(np.float32).max)
            self.node("Clip", [x, lo, hi], [y], name)
        else:
            raise UnsupportedError.op(k, name, "onnx export")

    def layer(self, layer: Layer) -> None:
        op, name = layer.op, layer.name
        outs = list(layer.outputs)
        act = getattr(op, "act", None)
        if act is not None:
            pre = self.fresh(f"{outs[0]}.preact")
            self.emit(layer, [pre] + outs[1:])
            self.activation(act, pre, outs[0], f"{name}/{act.kind}")
        else:
            self.emit(layer, outs)

    # ------------------------------------------------------------------ ops
    def emit(self, layer: Layer, outs: list[str]) -> None:  # noqa: C901 - one branch per op kind
        op: Any = layer.op  # dispatched on op.kind below: each branch reads that record's attributes
        name, ins = layer.name, list(layer.inputs)
        k = op.kind
        if isinstance(op, O.Activation):
            return self.activation(op, ins[0], outs[0], name)
        if k in ("Conv", "ConvTranspose"):
            attrs = dict(kernel_shape=list(op.kernel), strides=list(op.strides), dilations=list(op.dilations),
                         pads=[op.pads[0], op.pads[1], op.pads[2], op.pads[3]], group=op.groups)
            if k == "ConvTranspose" and any(op.output_padding):
                attrs["output_padding"] = list(op.output_padding)
            return self.node(k, ins, outs, name, **attrs)
        if k == "Gemm":
            return self.node(k, ins, outs, name, transA=int(op.trans_a), transB=int(op.trans_b),
                             alpha=float(op.alpha), beta=float(op.beta))
        if k == "MatMul":
            return self.node(k, ins, outs, name)
        if k == "Im2col":
            return self.im2col(layer, outs)
        if k in ("MaxPool", "AveragePool"):
            attrs = dict(kernel_shape=list(op.kernel), strides=list(op.strides), pads=list(op.pads),
                         ceil_mode=int(op.ceil_mode))
            if k == "MaxPool":
                attrs["dilations"] = list(op.dilations)
            else:
                if tuple(op.dilations) != (1, 1) and self.opset < 19:
                    raise UnsupportedError(f"AveragePool {name!r} with dilations needs opset >= 19")
                if tuple(op.dilations) != (1, 1):
                    attrs["dilations"] = list(op.dilations)
                attrs["count_include_pad"] = int(op.count_include_pad)
            return self.node(k, ins, outs, name, **attrs)
        if k in ("GlobalAveragePool", "GlobalMaxPool", "Identity", "PRelu", "Sqrt"):
            return self.node(k, ins, outs, name)
        if k == "Pow":
            return self.node(k, [ins[0], self.f32(f"{name}.exponent", op.exponent)], outs, name)
        if k == "LRN":
            return self.node(k, ins, outs, name, size=op.size, alpha=float(op.alpha), beta=float(op.beta),
                             bias=float(op.bias))
        if k == "BatchNormalization":
            return self.node(k, ins, outs, name, epsilon=float(op.epsilon))
        if k in ("Add", "Sub", "Mul", "Div"):
            if len(ins) == 2:
                return self.node(k, ins, outs, name)
            if k != "Add":
                raise UnsupportedError.op(k, name, "onnx export")
            return self.node("Sum", ins, outs, name)
        if k == "Concat":
            return self.node(k, ins, outs, name, axis=op.axis)
        if k == "Split":
            return self.node(k, [ins[0], self.i64(f"{name}.split", op.sizes)], outs, name, axis=op.axis)
        if k == "Slice":
            # the IR's normalised end -1 of a negative step means "through index 0"; ONNX reads -1 as the
            # last index, so it is written as -INT64_MAX (how torch.flip exports it), which ONNX clamps to -1
            ends = [-(2**63 - 1) if sp < 0 and en < 0 else en for en, sp in zip(op.ends, op.steps)]
            return self.node(k, [ins[0], self.i64(f"{name}.starts", op.starts),
                                 self.i64(f"{name}.ends", ends), self.i64(f"{name}.axes", op.axes),
                                 self.i64(f"{name}.steps", op.steps)], outs, name)
        if k == "Reshape":
            return self.node(k, [ins[0], self.i64(f"{name}.shape", op.shape)], outs, name)
        if k == "Flatten":
            return self.node(k, ins, outs, name, axis=op.axis)
        if k == "Transpose":
            return self.node(k, ins, outs, name, perm=list(op.perm) if op.perm else None)
        if k == "Pad":
            extra = [self.f32(f"{name}.value", op.value)] if op.mode == "constant" else []
            return self.node(k, [ins[0], self.i64(f"{name}.pads", op.pads)] + extra, outs, name, mode=op.mode)
        if k == "Softmax":
            return self.node(k, ins, outs, name, axis=op.axis)
        if k == "Resize":
            sizes = list(self.g.type_of(ins[0]).shape[:2]) + list(op.size)
            attrs = dict(mode=op.mode, coordinate_transformation_mode=op.coord_mode)
            if op.mode == "nearest":
                attrs["nearest_mode"] = op.nearest_mode
            return self.node(k, [ins[0], "", "", self.i64(f"{name}.sizes", sizes)], outs, name, **attrs)
        if k == "ReduceMean":
            axes = list(op.axes) if op.axes else None
            if self.opset >= 18:
                extra = [self.i64(f"{name}.axes", axes)] if axes else []
                return self.node(k, ins[:1] + extra, outs, name, keepdims=int(op.keepdims))
            return self.node(k, ins[:1], outs, name, axes=axes, keepdims=int(op.keepdims))
        raise UnsupportedError.op(k, name, "onnx export")

    def im2col(self, layer: Layer, outs: list[str]) -> None:
        """Exact Im2col: Pad (zeros) -> Reshape [N,C,Hp·Wp] -> Gather(axis 2, idx [FF,P] or [P,FF])
        -> Reshape (chw) or Transpose + Reshape (hwc)."""
        op, name, x = layer.op, layer.name, layer.inputs[0]
        assert isinstance(op, O.Im2col)
        n, c, h, w = self.g.type_of(x).shape
        (fy, fx), (sy, sx), (dy, dx) = op.kernel, op.strides, op.dilations
        pt, pl, pb, pr = op.pads
        hp, wp = h + pt + pb, w + pl + pr
        oy = (hp - (dy * (fy - 1) + 1)) // sy + 1
        ox = (wp - (dx * (fx - 1) + 1)) // sx + 1
        if any(op.pads):
            padded = self.fresh(f"{name}.padded")
            self.node("Pad", [x, self.i64(f"{name}.pads", [0, 0, pt, pl, 0, 0, pb, pr]),
                              self.f32(f"{name}.zero", 0.0)], [padded], f"{name}/pad", mode="constant")
            x = padded
        flat = self.fresh(f"{name}.flat")
        self.node("Reshape", [x, self.i64(f"{name}.flat_shape", [n, c, hp * wp])], [flat], f"{name}/flatten")
        ky, kx = np.meshgrid(np.arange(fy), np.arange(fx), indexing="ij")
        py, px = np.meshgrid(np.arange(oy), np.arange(ox), indexing="ij")
        rows = py.reshape(1, -1) * sy + ky.reshape(-1, 1) * dy            # [FF, P]
        cols = px.reshape(1, -1) * sx + kx.reshape(-1, 1) * dx
        idx = (rows * wp + cols).astype(np.int64)                         # [FF, P]
        gathered = self.fresh(f"{name}.patches")
        if op.layout == "chw":
            self.node("Gather", [flat, self.i64(f"{name}.index", idx)], [gathered], f"{name}/gather", axis=2)
            self.node("Reshape", [gathered, self.i64(f"{name}.shape", [n, c * fy * fx, oy * ox])], outs,
                      f"{name}/reshape")
        else:
            self.node("Gather", [flat, self.i64(f"{name}.index", idx.T.copy())], [gathered], f"{name}/gather",
                      axis=2)                                              # [N, C, P, FF]
            tr = self.fresh(f"{name}.patches_t")
            self.node("Transpose", [gathered], [tr], f"{name}/transpose", perm=[0, 2, 3, 1])
            self.node("Reshape", [tr, self.i64(f"{name}.shape", [n, oy * ox, fy * fx * c])], outs,
                      f"{name}/reshape")


def to_onnx(graph: Graph, opset: int = 17):
    """The graph as an ``onnx.ModelProto`` (opset ``opset``, checked with ``onnx.checker``).
    Raises UnsupportedError for an op that has no standard-ONNX form at that opset. A quantised graph is written
    as QDQ ONNX with its own scales and integer weights (:mod:`cnncc.frontend.onnx.qdq_writer`)."""
    import onnx
    from onnx import helper, numpy_helper

    from cnncc.ir.quant import is_quantized

    if is_quantized(graph):
        from cnncc.frontend.onnx.qdq_writer import to_qdq_onnx

        return to_qdq_onnx(graph, opset)
    em = _Emitter(graph, opset)
    for layer in graph.layers:
        em.layer(layer)
    inits = [numpy_helper.from_array(np.asarray(graph.weights[w]), w) for w in sorted(graph.weights)]

    def vi(t: str):
        ty = graph.type_of(t)
        return helper.make_tensor_value_info(t, _DTYPES[ty.dtype], list(ty.shape))

    out_vis = []
    for o in graph.outputs:
        if graph.is_weight(o) or o in graph.inputs:     # ONNX outputs must be produced by a node
            raise UnsupportedError(f"graph output {o!r} is a constant or an input; cannot export")
        out_vis.append(vi(o))
    g = helper.make_graph(em.nodes, graph.name or "cnncc", [vi(i) for i in graph.inputs], out_vis,
                          initializer=inits + em.inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="cnncc",
                              ir_version=IR_VERSION)
    for k, v in sorted(graph.meta.items()):
        model.metadata_props.add(key=str(k), value=str(v))
    onnx.checker.check_model(model)
    return model


def write_onnx(graph: Graph, path: str | Path, opset: int = 17) -> None:
    """Write the graph as ONNX atomically (never a half-written file)."""
    from cnncc.report import atomic_write

    atomic_write(path, to_onnx(graph, opset).SerializeToString())

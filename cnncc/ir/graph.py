"""Layers and graphs: immutable, topologically ordered, weights in a separate read-only table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from cnncc.errors import IRVerifyError
from cnncc.ir import ops as O
from cnncc.ir.loopnest import CONV, CONVT, DEPTHWISE, FC, MATMUL, POOL, LoopNest, intensities
from cnncc.ir.types import MAX_ELEMENTS, TensorType, tensor_type


class WeightTable(Mapping):
    """Name -> read-only numpy array. Arrays are frozen (``writeable=False``) on entry."""

    def __init__(self, arrays: Mapping[str, np.ndarray] | None = None):
        self._d: dict[str, np.ndarray] = {}
        for k, v in (arrays or {}).items():
            a = np.array(v, copy=True) if (not isinstance(v, np.ndarray) or v.flags.writeable) else v
            a.setflags(write=False)
            self._d[k] = a

    def __getitem__(self, k: str) -> np.ndarray:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def with_arrays(self, extra: Mapping[str, np.ndarray], drop: Iterable[str] = ()) -> WeightTable:
        """A new table with ``extra`` added (or replaced) and ``drop`` removed; unchanged arrays are shared."""
        t = WeightTable()
        dropped = set(drop)
        t._d = {k: v for k, v in self._d.items() if k not in dropped}
        for k, v in WeightTable(extra)._d.items():
            t._d[k] = v
        return t

    def type_of(self, name: str) -> TensorType:
        a = self._d[name]
        return TensorType(tuple(int(d) for d in a.shape), str(a.dtype) if str(a.dtype) in
                          ("float32", "int64", "int32", "int8", "uint8", "bool", "float16") else "float32")


@dataclass(frozen=True)
class Layer:
    """One IR layer. ``inputs`` name activations or weights (weights live in ``Graph.weights``).

    ``onnx_nodes`` lists every ONNX node folded into this layer; ``group`` names the original layer a
    derived layer (a tile, an im2col part) belongs to, or is empty."""

    name: str
    op: O.Op
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    onnx_nodes: tuple[str, ...] = ()
    group: str = ""

    @property
    def kind(self) -> str:
        return self.op.kind

    @property
    def origin(self) -> str:
        """The name of the original layer this one reports under."""
        return self.group or self.name


@dataclass(frozen=True, eq=False)
class Graph:
    """A topologically ordered layer graph. Build it with :meth:`Graph.build`, which infers every type."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    layers: tuple[Layer, ...]
    types: Mapping[str, TensorType]
    weights: WeightTable = field(default_factory=WeightTable)
    meta: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    # ------------------------------------------------------------------ construction
    @staticmethod
    def build(name: str, inputs: Mapping[str, TensorType], outputs: Iterable[str], layers: Iterable[Layer],
              weights: WeightTable | Mapping[str, np.ndarray] | None = None,
              meta: Mapping[str, str] | None = None) -> Graph:
        """Create a graph, running shape inference over ``layers`` in order. Raises IRVerifyError."""
        w = weights if isinstance(weights, WeightTable) else WeightTable(weights or {})
        types: dict[str, TensorType] = dict(inputs)
        layers = tuple(layers)
        for layer in layers:
            ins = []
            for t in layer.inputs:
                if t in types:
                    ins.append(types[t])
                elif t in w:
                    ins.append(w.type_of(t))
                else:
                    raise IRVerifyError(f"layer {layer.name!r} reads {t!r}, which is not defined before it "
                                        f"(graph not topologically ordered, or a cycle)")
            outs = layer.op.infer(ins)
            if len(outs) != len(layer.outputs):
                raise IRVerifyError(f"layer {layer.name!r} ({layer.kind}) has {len(layer.outputs)} outputs, "
                                    f"its op produces {len(outs)}")
            for t, ty in zip(layer.outputs, outs):
                types[t] = ty
        g = Graph(name, tuple(inputs), tuple(outputs), layers, MappingProxyType(types), w,
                  MappingProxyType(dict(meta or {})))
        g.verify()
        return g

    def with_layers(self, layers: Iterable[Layer], weights: WeightTable | None = None,
                    outputs: Iterable[str] | None = None) -> Graph:
        """A new graph with other layers (types re-inferred), e.g. the result of a pass."""
        return Graph.build(self.name, {i: self.types[i] for i in self.inputs},
                           self.outputs if outputs is None else tuple(outputs), layers,
                           self.weights if weights is None else weights, self.meta)

    # ------------------------------------------------------------------ queries
    def type_of(self, tensor: str) -> TensorType:
        """Type of an activation or weight tensor."""
        if tensor in self.types:
            return self.types[tensor]
        return self.weights.type_of(tensor)

    def is_weight(self, tensor: str) -> bool:
        return tensor in self.weights and tensor not in self.types

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def producer(self, tensor: str) -> Layer | None:
        for layer in self.layers:
            if tensor in layer.outputs:
                return layer
        return None

    def consumers(self, tensor: str) -> list[Layer]:
        return [layer for layer in self.layers if tensor in layer.inputs]

    def activation_inputs(self, layer: Layer) -> list[str]:
        return [t for t in layer.inputs if not self.is_weight(t)]

    def weight_inputs(self, layer: Layer) -> list[str]:
        return [t for t in layer.inputs if self.is_weight(t)]

    def params(self, layer: Layer) -> int:
        """Number of weight elements the layer reads."""
        return sum(int(self.weights[t].size) for t in self.weight_inputs(layer))

    def loop_nest(self, layer: Layer) -> LoopNest | None:
        """The (K, C, OY, OX, FY, FX, groups) loop nest, or None for layers without one."""
        op = layer.op
        if isinstance(op, O.Conv):
            _, c, iy, ix = self.type_of(layer.inputs[0]).shape
            _, k, oy, ox = self.type_of(layer.outputs[0]).shape
            kind = DEPTHWISE if op.groups > 1 and op.groups == c else CONV
            return LoopNest(kind, k, c, oy, ox, op.kernel[0], op.kernel[1], op.groups, iy, ix,
                            op.strides[0], op.strides[1], op.dilations[0], op.dilations[1], op.pads)
        if isinstance(op, O.ConvTranspose):
            _, c, iy, ix = self.type_of(layer.inputs[0]).shape
            k = self.type_of(layer.outputs[0]).shape[1]
            return LoopNest(CONVT, k, c, iy, ix, op.kernel[0], op.kernel[1], op.groups, iy, ix,
                            op.strides[0], op.strides[1], op.dilations[0], op.dilations[1], op.pads)
        if isinstance(op, O._Pool):
            _, c, iy, ix = self.type_of(layer.inputs[0]).shape
            _, _, oy, ox = self.type_of(layer.outputs[0]).shape
            return LoopNest(POOL, c, c, oy, ox, op.kernel[0], op.kernel[1], c, iy, ix,
                            op.strides[0], op.strides[1], op.dilations[0], op.dilations[1], op.pads)
        if isinstance(op, (O.GlobalAveragePool, O.GlobalMaxPool)):
            _, c, iy, ix = self.type_of(layer.inputs[0]).shape
            return LoopNest(POOL, c, c, 1, 1, iy, ix, c, iy, ix, 1, 1)
        if isinstance(op, O.Gemm):
            a = self.type_of(layer.inputs[0]).shape
            m, red = a[::-1] if op.trans_a else a
            n = self.type_of(layer.outputs[0]).shape[1]
            return LoopNest(FC, n, red, 1, m, IY=1, IX=m)
        if isinstance(op, O.MatMul):
            a, b = self.type_of(layer.inputs[0]).shape, self.type_of(layer.inputs[1]).shape
            a2 = a if len(a) > 1 else (1,) + a
            b2 = b if len(b) > 1 else b + (1,)
            red = a2[-1]
            batch = int(np.prod(self.type_of(layer.outputs[0]).shape[:-2] or (1,)))
            if self.is_weight(layer.inputs[0]) and not self.is_weight(layer.inputs[1]):
                k, pos = a2[-2], b2[-1] * batch       # W[K,R] · X[R,P]
            else:
                k, pos = b2[-1], a2[-2] * batch       # X[P,R] · W[R,K]
            return LoopNest(MATMUL, k, red, 1, pos, IY=1, IX=pos)
        return None

    def macs(self, layer: Layer) -> int:
        nest = self.loop_nest(layer)
        return nest.macs if nest else 0

    def intensities(self, layer: Layer):
        return intensities(self.loop_nest(layer))

    @property
    def total_macs(self) -> int:
        return sum(self.macs(layer) for layer in self.layers)

    # ------------------------------------------------------------------ checks and text
    def verify(self) -> None:
        """Check names unique, every input defined before use (hence acyclic), shapes consistent with shape
        inference, dimensions positive and sane, outputs defined. Raises IRVerifyError."""
        seen_layers: set[str] = set()
        defined: dict[str, TensorType] = {}
        for i in self.inputs:
            if i not in self.types:
                raise IRVerifyError(f"graph input {i!r} has no type")
            defined[i] = self.types[i]
        for t, ty in self.types.items():
            if any(d <= 0 for d in ty.shape):
                raise IRVerifyError(f"tensor {t!r} has a non-positive dimension {ty.shape}")
            if ty.numel > MAX_ELEMENTS:
                raise IRVerifyError(f"tensor {t!r} of shape {ty.shape} has {ty.numel} elements "
                                    f"(limit {MAX_ELEMENTS})")
        for layer in self.layers:
            if layer.name in seen_layers:
                raise IRVerifyError(f"duplicate layer name {layer.name!r}")
            seen_layers.add(layer.name)
            ins = []
            for t in layer.inputs:
                if t in defined:
                    ins.append(defined[t])
                elif t in self.weights and t not in self.types:
                    ins.append(self.weights.type_of(t))
                else:
                    raise IRVerifyError(f"layer {layer.name!r} reads {t!r} before it is defined "
                                        f"(cycle or wrong order)")
            outs = layer.op.infer(ins)
            if len(outs) != len(layer.outputs):
                raise IRVerifyError(f"layer {layer.name!r}: output count mismatch")
            for t, ty in zip(layer.outputs, outs):
                if t in defined or t in self.weights:
                    raise IRVerifyError(f"tensor {t!r} is defined twice (second time by {layer.name!r})")
                if self.types.get(t) != ty:
                    raise IRVerifyError(f"layer {layer.name!r}: output {t!r} recorded as {self.types.get(t)} "
                                        f"but infers to {ty}")
                defined[t] = ty
        for o in self.outputs:
            if o not in defined:
                raise IRVerifyError(f"graph output {o!r} is never produced")
        extra = set(self.types) - set(defined)
        if extra:
            raise IRVerifyError(f"types recorded for tensors nothing defines: {sorted(extra)[:5]}")

    def dump(self) -> str:
        """A stable, human-readable text form (used for golden tests and --print-ir-after)."""
        lines = [f"graph {self.name}(" + ", ".join(f"{i}: {self.types[i]}" for i in self.inputs) + ")"
                 + " -> (" + ", ".join(self.outputs) + ")"]
        for name in sorted(self.weights):
            a = self.weights[name]
            lines.append(f"  weight {name}: {a.dtype}[{'x'.join(str(d) for d in a.shape)}]")
        for layer in self.layers:
            outs = ", ".join(f"{t}: {self.types[t]}" for t in layer.outputs)
            attrs = layer.op.attrs_text()
            grp = f" group={layer.group}" if layer.group else ""
            lines.append(f"  {layer.name} = {layer.kind}({', '.join(layer.inputs)})"
                         f"{' ' + attrs if attrs else ''}{grp} -> {outs}")
        return "\n".join(lines) + "\n"


__all__ = ["Graph", "Layer", "WeightTable", "TensorType", "tensor_type"]

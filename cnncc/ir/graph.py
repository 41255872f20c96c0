"""Layers and graphs: immutable, topologically ordered, weights in a separate read-only table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np

from cnncc.errors import IRVerifyError
from cnncc.ir import ops as O
from cnncc.ir.loopnest import LoopNest, intensities
from cnncc.ir.types import DTYPE_BYTES, MAX_ELEMENTS, QUANT_RANGES, QuantParams, TensorType, tensor_type


class WeightTable(Mapping):
    """Name -> read-only numpy array. Arrays are frozen (``writeable=False``) on entry.

    Quantised models keep their integer weights (int8/int16 weights, int32/int64 biases) as they are, and
    ``quant`` maps tensor names to their :class:`QuantParams`: the weights' own and also those of the
    graph's quantised *activations* (the table travels with the layers through every pass, so the output
    quantisation of each layer survives re-inference). Read a tensor's record with ``graph.type_of(t).quant``.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray] | None = None,
                 quant: Mapping[str, QuantParams] | None = None):
        self._d: dict[str, np.ndarray] = {}
        for k, v in (arrays or {}).items():
            a = np.array(v, copy=True) if (not isinstance(v, np.ndarray) or v.flags.writeable) else v
            a.setflags(write=False)
            self._d[k] = a
        self._q: dict[str, QuantParams] = dict(quant or {})

    def __getitem__(self, k: str) -> np.ndarray:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    @property
    def quant(self) -> Mapping[str, QuantParams]:
        """Tensor name (weight or activation) -> QuantParams, read-only."""
        return MappingProxyType(self._q)

    def with_arrays(self, extra: Mapping[str, np.ndarray], drop: Iterable[str] = (),
                    quant: Mapping[str, QuantParams] | None = None) -> WeightTable:
        """A new table with ``extra`` added (or replaced) and ``drop`` removed (with their quantisation);
        ``quant`` adds or replaces quantisation records; unchanged arrays are shared."""
        t = WeightTable()
        dropped = set(drop)
        t._d = {k: v for k, v in self._d.items() if k not in dropped}
        for k, v in WeightTable(extra)._d.items():
            t._d[k] = v
        t._q = {k: v for k, v in self._q.items() if k not in dropped}
        t._q.update(quant or {})
        return t

    def type_of(self, name: str) -> TensorType:
        a = self._d[name]
        dt = str(a.dtype)
        return TensorType(tuple(int(d) for d in a.shape), dt if dt in DTYPE_BYTES else "float32", "",
                          self._q.get(name) if dt in QUANT_RANGES else None)

    def typed(self, name: str, ty: TensorType) -> TensorType:
        """``ty`` (an inferred activation type) with the quantisation this table records for ``name``."""
        q = self._q.get(name)
        return ty if q is None or ty.dtype not in QUANT_RANGES else ty.with_quant(q)


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


@dataclass(frozen=True)
class _GraphIndex:
    """The lookup tables behind :meth:`Graph.layer`, :meth:`Graph.producer` and :meth:`Graph.consumers`."""

    by_name: Mapping[str, Layer]
    producers: Mapping[str, Layer]
    consumers: Mapping[str, tuple[Layer, ...]]


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
                types[t] = w.typed(t, ty)
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

    @cached_property
    def _index(self) -> _GraphIndex:
        """Name -> layer, tensor -> producer and tensor -> consumers, built once (linear in the graph size)."""
        by_name: dict[str, Layer] = {}
        producers: dict[str, Layer] = {}
        consumers: dict[str, list[Layer]] = {}
        for layer in self.layers:
            by_name.setdefault(layer.name, layer)
            for t in layer.outputs:
                producers.setdefault(t, layer)
            for t in dict.fromkeys(layer.inputs):  # a layer reading a tensor twice is one consumer
                consumers.setdefault(t, []).append(layer)
        return _GraphIndex(by_name, producers, {k: tuple(v) for k, v in consumers.items()})

    def layer(self, name: str) -> Layer:
        try:
            return self._index.by_name[name]
        except KeyError:
            raise KeyError(name) from None

    def producer(self, tensor: str) -> Layer | None:
        return self._index.producers.get(tensor)

    def consumers(self, tensor: str) -> list[Layer]:
        """The layers reading ``tensor``, in graph order (a fresh list; O(1) lookup after the first query)."""
        return list(self._index.consumers.get(tensor, ()))

    def activation_inputs(self, layer: Layer) -> list[str]:
        return [t for t in layer.inputs if not self.is_weight(t)]

    def weight_inputs(self, layer: Layer) -> list[str]:
        return [t for t in layer.inputs if self.is_weight(t)]

    def params(self, layer: Layer) -> int:
        """Number of weight elements the layer reads."""
        return sum(int(self.weights[t].size) for t in self.weight_inputs(layer))

    def loop_nest(self, layer: Layer) -> LoopNest | None:
        """The (K, C, OY, OX, FY, FX, groups) loop nest, or None for layers without one (the op record says:
        :meth:`cnncc.ir.ops.Op.loop_nest`)."""
        return layer.op.loop_nest([self.type_of(t) for t in layer.inputs], [self.type_of(t) for t in layer.outputs],
                                  tuple(self.is_weight(t) for t in layer.inputs))

    def macs(self, layer: Layer) -> int:
        nest = self.loop_nest(layer)
        return nest.macs if nest else 0

    def intensities(self, layer: Layer):
        """Arithmetic intensities from the real element sizes (``TensorType.deployed_itemsize``)."""
        nest = self.loop_nest(layer)
        if nest is None:
            return intensities(None)
        acts, ws = self.activation_inputs(layer), self.weight_inputs(layer)
        size = lambda ts: self.type_of(ts[0]).deployed_itemsize if ts else 1  # noqa: E731
        w = ws if ws else acts[1:2]  # MatMul of two activations: the second plays the weight
        return intensities(nest, size(acts), size(w), size(list(layer.outputs)))

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
                ty = self.weights.typed(t, ty)
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
            lines.append(f"  weight {name}: {self.weights.type_of(name)}")
        for layer in self.layers:
            outs = ", ".join(f"{t}: {self.types[t]}" for t in layer.outputs)
            attrs = layer.op.attrs_text()
            grp = f" group={layer.group}" if layer.group else ""
            lines.append(f"  {layer.name} = {layer.kind}({', '.join(layer.inputs)})"
                         f"{' ' + attrs if attrs else ''}{grp} -> {outs}")
        return "\n".join(lines) + "\n"


__all__ = ["Graph", "Layer", "WeightTable", "TensorType", "QuantParams", "tensor_type"]

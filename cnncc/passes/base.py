"""Shared machinery of passes: the pass base class, the per-run context and small graph-editing helpers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cnncc.ir import Graph, Layer

#: layer kinds that are element-wise activations (fusable into a producer's ``act`` field)
ACTIVATIONS = ("Relu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu")


@dataclass
class PassContext:
    """What a pass may read (``target``) and report (counters, notes, report sections) during one run."""

    target: Any = None
    counters: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict)

    def count(self, counter: str, n: int = 1) -> None:
        """Add ``n`` to the named counter (counters always appear, even when 0)."""
        self.counters[counter] = self.counters.get(counter, 0) + n


class Pass:
    """Base of every pass. Subclasses are frozen dataclasses whose fields are the pass options."""

    NAME: ClassVar[str] = "?"
    #: option name (field name) -> allowed string values, for str options with a closed set
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}

    def validate(self) -> None:
        """Raise PipelineError for option values that parse but make no sense (called by the parser)."""

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        raise NotImplementedError(self.NAME)


def used_names(graph: Graph) -> set[str]:
    """Every layer, tensor and weight name in the graph (to make fresh ones)."""
    names = set(graph.types) | set(graph.weights) | {layer.name for layer in graph.layers}
    return names


class Namer:
    """Hands out names not yet used in a graph: ``base``, else ``base_1``, ``base_2``, ..."""

    def __init__(self, taken: Iterable[str]):
        self.taken = set(taken)

    def __call__(self, base: str) -> str:
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name


def drop_unused_weights(layers: Iterable[Layer], weights) -> Any:
    """The weight table without arrays no layer reads."""
    read = {t for layer in layers for t in layer.inputs}
    unused = [w for w in weights if w not in read]
    return weights.with_arrays({}, drop=unused) if unused else weights


def rename_inputs(layers: Iterable[Layer], mapping: dict[str, str]) -> list[Layer]:
    """Layers with every input name in ``mapping`` replaced."""
    from dataclasses import replace

    out = []
    for layer in layers:
        if any(t in mapping for t in layer.inputs):
            layer = replace(layer, inputs=tuple(mapping.get(t, t) for t in layer.inputs))
        out.append(layer)
    return out


def consumers_count(graph: Graph) -> dict[str, int]:
    """Tensor name -> number of layer input slots reading it, plus one per graph-output use."""
    n: dict[str, int] = {}
    for layer in graph.layers:
        for t in layer.inputs:
            n[t] = n.get(t, 0) + 1
    for o in graph.outputs:
        n[o] = n.get(o, 0) + 1
    return n

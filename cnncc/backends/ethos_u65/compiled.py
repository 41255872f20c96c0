"""The network as Vela 5.2.0 compiles it, and each IR layer's cost back from the ops of that network.

Vela does not run every IR layer as one op: a zero Pad a convolution takes as its own padding runs as nothing
(padfuse.py), a PAD the exporter writes for a conv's own padding runs as copies before the conv, and the activation
of a conv with fewer than 8 output channels runs as a pass of its own (actsplit.py). ``as_vela_compiles`` builds that
network; ``rows_back`` turns its per-op costs into one row per layer of the original graph: a fused Pad's row costs
nothing and names the convolution it went into (``fused into <conv>``), a layer run as several ops carries the sum
of their cycles, access cycles and bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM
from cnncc.backends.ethos_u65.lower import FREE, Lowered, lower
from cnncc.backends.ethos_u65.opcost import OpCost
from cnncc.ir.graph import Graph, Layer


@dataclass(frozen=True)
class Compiled:
    """``graph``: the network Vela compiles; ``into``: each Pad it leaves out -> the convolution that took it;
    ``parts``: each layer run as several ops -> those ops' layers in ``graph`` (the main one first)."""

    graph: Graph
    into: dict[str, str]
    parts: dict[str, tuple[str, ...]]
    folded: dict[str, str] = field(default_factory=dict)  # a requantisation the export folds -> why (requant.py)


def as_vela_compiles(graph: Graph) -> Compiled:
    """The network Vela compiles for ``graph`` (module doc); ``graph`` itself when nothing changes."""
    from cnncc.backends.ethos_u65.actsplit import split_activations
    from cnncc.backends.ethos_u65.padfuse import fuse_pads
    from cnncc.backends.ethos_u65.prelu import uniform_as_leaky
    from cnncc.backends.ethos_u65.requant import fold_requantizes

    graph, folded = fold_requantizes(uniform_as_leaky(graph))
    fusion = fuse_pads(graph)
    out, act_parts = split_activations(fusion.graph)
    parts = {x.name: tuple(n for p in fusion.parts.get(x.name, (x.name,)) for n in act_parts.get(p, (p,)))
             for x in graph.layers if x.name in fusion.parts or x.name in act_parts}
    return Compiled(out, fusion.into, parts, folded)


def rows_back(graph: Graph, compiled: Compiled, rows: list[tuple[Layer, Lowered, OpCost]]
              ) -> list[tuple[Layer, Lowered, OpCost]]:
    """One (layer, lowered, cost) row per layer of ``graph`` from the rows of ``compiled.graph`` (module doc)."""
    by_name = {layer.name: (lw, c) for layer, lw, c in rows}
    out = []
    for layer in graph.layers:
        if layer.name in compiled.into or layer.name in compiled.folded:
            why = compiled.folded.get(layer.name) or f"fused into {compiled.into[layer.name]}"
            lw = Lowered(FREE, ofm=lower(graph, layer).ofm, reason=why)
            out.append((layer, lw, OpCost("none", 0, 0, 0, 0, {SRAM: 0, OFFCHIP: 0}, {}, {}, 0, "none", None, "",
                                          why)))
            continue
        names = compiled.parts.get(layer.name, (layer.name,))
        lw, cost = by_name[names[0]]
        for n in names[1:]:  # ops Vela runs for this layer besides its main one (a PAD's copies, an activation)
            cost = plus(cost, by_name[n][1])
        out.append((layer, lw, cost))
    return out


def plus(cost: OpCost, other: OpCost) -> OpCost:
    """An op's cost with another op run for the same layer added (cycles, access cycles and bytes)."""
    acc = {m: cost.access_cycles.get(m, 0) + other.access_cycles.get(m, 0) for m in (SRAM, OFFCHIP)}
    rd = {m: cost.read_bytes.get(m, 0) + other.read_bytes.get(m, 0) for m in (SRAM, OFFCHIP)}
    wr = {m: cost.write_bytes.get(m, 0) + other.write_bytes.get(m, 0) for m in (SRAM, OFFCHIP)}
    return replace(cost, npu_cycles=cost.npu_cycles + other.npu_cycles, cycles=cost.cycles + other.cycles,
                   access_cycles=acc, read_bytes=rd, write_bytes=wr)

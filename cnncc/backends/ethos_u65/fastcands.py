"""The maps Vela 5.2.0's fast-storage allocator may keep in SRAM when the arena is off-chip (faststorage.py decides
which): one candidate per map an NPU op outside a cascade writes, with its live range and element accesses, maps
written over their single-reader input joined, and Vela's elementwise sanitiser applied to the kept set (our own
formulation of the rules of Regor's ``FastStorageAllocator``)."""

from __future__ import annotations

from dataclasses import replace

from cnncc.backends.ethos_u65.blocks import ELEMENTWISE
from cnncc.backends.ethos_u65.cascade import Cascade
from cnncc.backends.ethos_u65.lower import CPU, FREE, FUSED, Lowered
from cnncc.backends.ethos_u65.opcost import OpCost
from cnncc.backends.ethos_u65.placement import Placement
from cnncc.ir.graph import Graph

__all__ = ["candidates", "casc_member", "sanitize"]


def casc_member(cascades: list[Cascade], k: int) -> bool:
    """Whether op ``k`` is in one of ``cascades``."""
    return any(c.start <= k <= c.end for c in cascades)


def candidates(graph: Graph, lowered: list[Lowered], pl: Placement, costs: list[OpCost], cascades: list[Cascade],
               merge: bool = True):
    """The maps Vela's fast-storage allocator may keep in SRAM, with their live ranges and element accesses
    (``merge``: a map written over another in place joins that one, _merge_in_place)."""
    from cnncc.backends.ethos_u65.faststorage import LiveRange

    layers = graph.layers
    out_root = {pl.root[o] for o in graph.outputs}
    cpu_read = {pl.root[t] for layer, lw in zip(layers, lowered) if lw.kind == CPU for t in layer.inputs
                if t in pl.root}
    access: dict[str, int] = {}
    ew_only: dict[str, bool] = {}
    producer: dict[str, tuple[int, str]] = {}
    free_writer: set[str] = set()  # maps written by an NPU op outside every cascade
    read = {pl.root[t] for layer in layers for t in layer.inputs if t in pl.root and not graph.is_weight(t)}
    for k, (layer, lw) in enumerate(zip(layers, lowered)):
        acts = [t for t in layer.inputs if not graph.is_weight(t)]
        r1, r2, w = costs[k].elements
        for j, t in enumerate(acts[:2]):
            if t in pl.root:
                r = pl.root[t]
                access[r] = access.get(r, 0) + (r1 if j == 0 else r2)
                ew_only[r] = ew_only.get(r, True) and lw.kind == ELEMENTWISE
        for o in layer.outputs:
            r = pl.root[o]
            access[r] = access.get(r, 0) + w
            if r not in producer:
                producer[r] = (k, lw.kind)
            if lw.kind not in (CPU, FREE, FUSED) and not casc_member(cascades, k):
                free_writer.add(r)
    out = []
    for r, (_k, kind) in sorted(producer.items(), key=lambda x: (pl.ranges[x[0]][0], x[0])):
        # Vela makes the OFM of every NPU op outside a cascade a candidate: a map a cascade's last op writes is
        # one too when another op outside the cascade also writes it (a Pad's border fills, a Concat's copies)
        if kind in (CPU, FREE) or r in out_root or r in cpu_read or r in pl.inner or r not in free_writer:
            continue
        a, b = pl.ranges[r]
        if b <= a and not (merge is False and r in read):
            continue  # no reader (with ``merge`` off: its only reader may be a copy run right after its writer)
        out.append(LiveRange(r, a, b, pl.size[r], access.get(r, 0), ew_only.get(r, False)))
    return _merge_in_place(graph, lowered, pl, cascades, out) if merge else out


def _merge_in_place(graph: Graph, lowered: list[Lowered], pl: Placement, cascades: list[Cascade], cands: list):
    """Vela's live ranges with IFM reuse: an in-place op outside a cascade (liveranges._in_place) writes its OFM
    over a candidate IFM of the same shape, size and format that it alone reads; the two maps are one candidate
    (the IFM's start, the later end, the accesses of both) and are kept or evicted together."""
    from cnncc.backends.ethos_u65.liveranges import _in_place

    by_name = {lr.name: lr for lr in cands}
    readers: dict[str, int] = {}
    for layer in graph.layers:
        for r in {pl.root[t] for t in layer.inputs if t in pl.root and not graph.is_weight(t)}:
            readers[r] = readers.get(r, 0) + 1
    owner: dict[str, str] = {}  # merged map -> the candidate it joined
    for k, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        o = pl.root.get(layer.outputs[0], "")
        if not _in_place(graph, lw) or casc_member(cascades, k) or o not in by_name or o in owner:
            continue
        for t in layer.inputs:
            r = pl.root.get(t)
            if (r is None or graph.is_weight(t) or r == o or r not in by_name or readers.get(r) != 1
                    or pl.size[r] != pl.size[o] or pl.fmt[r] != pl.fmt[o]
                    or graph.type_of(t).shape != graph.type_of(layer.outputs[0]).shape):
                continue
            head = owner.get(r, r)
            a, b = by_name[head], by_name[o]
            by_name[head] = replace(a, end=max(a.end, b.end), access=a.access + b.access,
                                    elementwise_only=a.elementwise_only and b.elementwise_only,
                                    aliases=a.aliases + (o,) + b.aliases)
            owner[o] = head
            break
    return [by_name[lr.name] for lr in cands if lr.name not in owner]


def sanitize(graph: Graph, lowered: list[Lowered], pl: Placement, kept: set[str], cascades: list[Cascade]
             ) -> set[str]:
    """Vela's elementwise sanitiser: an op with an input left off-chip has its other inputs that only elementwise
    ops read evicted too."""
    kept = set(kept)
    for k, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        if lw.kind in (FREE, FUSED, CPU) or any(c.start < k <= c.end for c in cascades):
            continue
        ins = [pl.root[t] for t in layer.inputs if t in pl.root and not graph.is_weight(t)]
        if any(r not in kept and r not in pl.inner for r in ins):
            for r in ins:
                readers = [lowered[j].kind for j, x in enumerate(graph.layers)
                           if any(pl.root.get(t) == r for t in x.inputs)]
                if r in kept and all(kind == ELEMENTWISE for kind in readers):
                    kept.discard(r)
    return kept

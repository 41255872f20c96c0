"""Feature-map placement: a live-range allocator that keeps maps in the SRAM arena while they fit.

Graph inputs and outputs live in the arena memory of the memory mode (off-chip for Dedicated_Sram, SRAM
otherwise). Intermediate maps go to SRAM while the maps live at the same time (plus the weight staging buffer) fit
its budget, else off-chip. Views (Reshape/Flatten/Identity/Concat) share their input's storage. Maps only NPU ops
touch use Vela's NHCWB16 brick format; maps seen by views, the host CPU or the graph boundary stay NHWC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config
from cnncc.backends.ethos_u65.datamove import misaligned_concat, written_in_place
from cnncc.backends.ethos_u65.lower import CPU, FREE, FUSED, Lowered
from cnncc.ir.graph import Graph


@dataclass(frozen=True)
class Placement:
    """Per activation tensor: memory ("sram"/"offchip") and format; peak SRAM bytes used by maps + staging."""

    memory: dict
    fmt: dict
    peak_sram_bytes: int


def _bytes(graph: Graph, t: str, fmt: str) -> int:
    s = graph.type_of(t).shape
    if fmt == "NHCWB16" and len(s) == 4:
        return s[0] * s[2] * s[3] * (-(-s[1] // 16) * 16)
    return int(math.prod(s))


def storage_roots(graph: Graph, lowered: list[Lowered]) -> dict[str, str]:
    """Activation tensor -> the tensor whose storage it uses: a view (Reshape/Flatten/Identity) shares its input's,
    a fused activation's producer writes the activation's output, and a Concat input written in place is part of
    the concatenated map."""
    kinds = {layer.name: lw.kind for layer, lw in zip(graph.layers, lowered)}
    fwd: dict[str, str] = {}
    for layer, lw in zip(graph.layers, lowered):
        if lw.kind == FUSED:
            fwd[layer.inputs[0]] = layer.outputs[0]
        elif layer.kind == "Concat":
            for i, t in enumerate(layer.inputs):
                if written_in_place(graph, layer, i, kinds):
                    fwd[t] = layer.outputs[0]

    def final(t: str) -> str:
        while t in fwd:
            t = fwd[t]
        return t

    root: dict[str, str] = {i: i for i in graph.inputs}
    for layer, lw in zip(graph.layers, lowered):
        for o in layer.outputs:
            view = lw.kind == FREE and layer.kind != "Concat"
            root[o] = root[layer.inputs[0]] if view else final(o)
    return root


def place(graph: Graph, lowered: list[Lowered], arch: U65Config, staging_bytes: int, cascades=()) -> Placement:
    """Assign every activation a memory and a format (see module doc). ``staging_bytes``: SRAM reserved for
    weight double buffers. ``cascades`` (cascade.Cascade): maps inside a cascade live in SRAM as rolling buffers;
    while a cascade runs its buffers fill the SRAM, so any other map live then goes off-chip."""
    layers = graph.layers
    root = storage_roots(graph, lowered)
    fmt: dict[str, str] = {}
    boundary = {root[t] for t in list(graph.inputs) + list(graph.outputs)}
    nhwc = set(boundary)
    for layer, lw in zip(layers, lowered):
        if lw.kind in (FREE, CPU):
            nhwc.update(root[t] for t in layer.inputs if t in root)
            nhwc.update(root[o] for o in layer.outputs)
        elif layer.kind == "Concat" and misaligned_concat(graph, layer):
            nhwc.add(root[layer.outputs[0]])
    for t in set(root.values()):
        fmt[t] = "NHWC" if t in nhwc else "NHCWB16"
    # live ranges over layer indices, on root tensors
    first: dict[str, int] = {i: -1 for i in graph.inputs}
    last: dict[str, int] = {}
    for idx, layer in enumerate(layers):
        for t in layer.inputs:
            if t in root:
                last[root[t]] = idx
        for o in layer.outputs:
            first.setdefault(root[o], idx)
            last.setdefault(root[o], idx)
    for o in graph.outputs:
        last[root[o]] = len(layers)
    budget = arch.cache_bytes if arch.arena_mem == OFFCHIP else 1 << 62
    inner = {root[layers[k].outputs[0]] for c in cascades for k in range(c.start, c.end)}
    spans = [(c.start, c.end) for c in cascades]
    mem: dict[str, str] = {}
    live: list[tuple[int, int]] = []  # (last use, bytes) of SRAM maps
    peak = 0
    for t in sorted(first, key=lambda x: (first[x], x)):
        start = first[t]
        live = [(e, b) for e, b in live if e >= start]
        size = _bytes(graph, t, fmt[t])
        used = sum(b for _, b in live)
        if t in boundary and arch.arena_mem == OFFCHIP:
            mem[t] = OFFCHIP
        elif t in inner:
            mem[t] = SRAM
        elif any(a <= last.get(t, start) and start <= b for a, b in spans):
            mem[t] = OFFCHIP
        elif used + size + staging_bytes <= budget:
            mem[t] = SRAM
            live.append((last.get(t, start), size))
            used += size
        else:
            mem[t] = OFFCHIP
        peak = max(peak, used)
    peak = max([peak] + [c.buffer_bytes for c in cascades])
    memory = {t: mem[r] for t, r in root.items()}
    formats = {t: fmt[r] for t, r in root.items()}
    staged = staging_bytes if arch.const_mem == OFFCHIP else 0
    return Placement(memory, formats, peak + staged)

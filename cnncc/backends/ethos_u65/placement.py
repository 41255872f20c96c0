"""Feature-map placement: which memory and format every activation has, and the live ranges of the maps.

With the arena in SRAM (Sram_Only, Shared_Sram) every map is in SRAM. With an off-chip arena (Dedicated_Sram) graph
inputs and outputs and most maps are off-chip; cascade-internal maps live in SRAM as rolling buffers, and the
maps Vela's fast-storage allocator keeps (faststorage.py) are in SRAM. Views (Reshape/Flatten/Identity) share
their input's storage, a fused activation's producer and a Concat input written in place write into the map they
feed. Maps only NPU ops touch use Vela's NHCWB16 brick format; maps seen by views, the host CPU, the graph boundary
or a Concat at a channel offset that is not a multiple of 16 stay NHWC. Sizes are rounded to 16 bytes. A map's live
range (op indices) starts at its first writer; a requantising copy into a Concat counts where Vela runs it, right
after its source's writer (liveranges.concat_copies), so the fast-storage allocator sees the Concat's map from then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config
from cnncc.backends.ethos_u65.datamove import misaligned_concat, moved_to_consumers, written_in_place
from cnncc.backends.ethos_u65.lower import CPU, FREE, FUSED, MEMCOPY, TRANSPOSE, Lowered, hwc
from cnncc.ir.graph import Graph


@dataclass(frozen=True)
class Placement:
    """Per activation tensor: memory ("sram"/"offchip") and format; peak SRAM bytes (maps + buffers, set by the
    estimate); per root map its live range (first, last op index) and SRAM bytes; the cascade-internal maps; the
    tensor -> root map table."""

    memory: dict
    fmt: dict
    peak_sram_bytes: int
    ranges: dict = field(default_factory=dict)
    size: dict = field(default_factory=dict)
    inner: frozenset = frozenset()
    root: dict = field(default_factory=dict)
    arch: U65Config | None = field(default=None, compare=False, repr=False)  # what was placed for (its SRAM cache)


def _bytes(graph: Graph, t: str, fmt: str) -> int:
    s = graph.type_of(t).shape
    if fmt == "NHCWB16" and len(s) == 4:
        return s[0] * s[2] * s[3] * (-(-s[1] // 16) * 16)
    return int(math.prod(s))


def storage_roots(graph: Graph, lowered: list[Lowered]) -> dict[str, str]:
    """Activation tensor -> the tensor whose storage it uses: a view (Reshape/Flatten/Identity) shares its input's,
    a fused activation's producer writes the activation's output, a Concat input written in place is part of
    the concatenated map, and a slice its readers read as a sub-box (datamove.moved_to_consumers) is its input's."""
    kinds = {layer.name: lw.kind for layer, lw in zip(graph.layers, lowered)}
    fwd: dict[str, str] = {}
    for layer, lw in zip(graph.layers, lowered):
        if lw.kind == FUSED:
            fwd[layer.inputs[0]] = layer.outputs[0]
        elif layer.kind == "Concat" or (layer.kind == "Pad" and lw.kind == MEMCOPY
                                        and any(getattr(layer.op, "pads", ()))):
            for i, t in enumerate(layer.inputs[:1] if layer.kind == "Pad" else layer.inputs):
                if written_in_place(graph, layer, i, kinds):
                    fwd[t] = layer.outputs[0]

    def final(t: str) -> str:
        while t in fwd:
            t = fwd[t]
        return t

    root: dict[str, str] = {i: i for i in graph.inputs}
    for layer, lw in zip(graph.layers, lowered):
        for k, o in enumerate(layer.outputs):
            view = (lw.kind == FREE and layer.kind != "Concat") or (
                lw.kind == MEMCOPY and moved_to_consumers(graph, layer, k, kinds))
            root[o] = root[layer.inputs[0]] if view else final(o)
    return root


def place(graph: Graph, lowered: list[Lowered], arch: U65Config, cascades=(), kept: set[str] | frozenset = frozenset()
          ) -> Placement:
    """Assign every activation a memory and a format (see module doc). With an off-chip arena only the maps inside
    a cascade (rolling buffers, cascade.Cascade) and the root maps in ``kept`` (faststorage.py) are in SRAM."""
    from cnncc.backends.ethos_u65.liveranges import concat_copies
    from cnncc.frontend.tflite.writer_move import nhwc_flatten

    layers = graph.layers
    root = storage_roots(graph, lowered)
    boundary = {root[t] for t in list(graph.inputs) + list(graph.outputs)}
    nhwc = set(boundary)
    for layer, lw in zip(layers, lowered):
        if nhwc_flatten(graph, layer):
            continue  # not in the export: its reader's RESHAPE reads the map (writer_move.nhwc_flatten)
        if lw.kind in (FREE, CPU) or lw.deepened:  # a reshaped op reads and writes NHWC (actsplit.py)
            nhwc.update(root[t] for t in layer.inputs if t in root)
            nhwc.update(root[o] for o in layer.outputs)
        elif layer.kind == "Concat" and misaligned_concat(graph, layer):
            nhwc.add(root[layer.outputs[0]])
        elif lw.kind == TRANSPOSE:  # Vela's transposes read and write NHWC (its operator constraints)
            nhwc.update(root[t] for t in layer.inputs if t in root)
            nhwc.update(root[o] for o in layer.outputs)
        elif layer.kind in ("Split", "Slice") and _sub_box_wc(graph, layer):
            nhwc.add(root[layer.inputs[0]])
    fmt = {t: "NHWC" if t in nhwc else "NHCWB16" for t in set(root.values())}
    first: dict[str, int] = {root[i]: 0 for i in graph.inputs}
    last: dict[str, int] = {}
    # a requantising copy into a Concat runs right after its source's writer (liveranges.schedule): the Concat's
    # map is written from then on, and the copy is the source's reader there
    early: dict[tuple[int, str], int] = {}
    for k, cps in concat_copies(graph, lowered, root).items():
        for src, dst, w in cps:
            if 0 <= w < k:
                early[(k, src)] = w
                first[dst] = min(first.get(dst, w), w)
    for idx, layer in enumerate(layers):
        for t in layer.inputs:
            if t in root:
                r = root[t]
                last[r] = max(last.get(r, -1), early.get((idx, r), idx))
        for o in layer.outputs:
            first.setdefault(root[o], idx)
            last.setdefault(root[o], idx)
    for o in graph.outputs:
        last[root[o]] = len(layers) - 1
    inner = {root[layers[k].outputs[0]] for c in cascades for k in range(c.start, c.end)}
    mem: dict[str, str] = {}
    for t in first:
        on_chip = arch.arena_mem == SRAM or t in inner or t in kept
        mem[t] = SRAM if on_chip else OFFCHIP
    size = {t: -(-_bytes(graph, t, fmt[t]) // 16) * 16 for t in first}
    return Placement({t: mem[r] for t, r in root.items()}, {t: fmt[r] for t, r in root.items()}, 0,
                     {t: (first[t], last[t]) for t in first}, size, frozenset(inner), dict(root), arch)


def _sub_box_wc(graph: Graph, layer) -> bool:
    """Does a Split/Slice read boxes of another width or depth than its input's? Vela keeps such a map NHWC:
    the brick format needs every reader's box to have the map's W and C (Regor's scheduler tensor formats)."""
    _, w, c = hwc(graph.type_of(layer.inputs[0]).shape)
    return any(hwc(graph.type_of(o).shape)[1:] != (w, c) for o in layer.outputs)


def sram_timeline(pl: Placement, n: int) -> list[int]:
    """SRAM bytes of the maps in SRAM live at each op index (cascade-internal maps are not counted: their rolling
    buffers are the cascade's)."""
    use = [0] * n
    for t, (a, b) in pl.ranges.items():
        if pl.memory.get(t) == SRAM and t not in pl.inner:
            for k in range(max(a, 0), min(b, n - 1) + 1):
                use[k] += pl.size[t]
    return use

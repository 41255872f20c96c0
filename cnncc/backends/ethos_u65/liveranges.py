"""The SRAM live ranges of an Ethos-U schedule as Vela 5.2.0 builds them before it allocates addresses (our own
formulation of the rules of Regor's ``LiveRangeGraph::ExtractLiveRangesFromCascades``, read in the public fork
hapv3/neural-compiler, checked against Vela 5.2.0's ``--verbose-allocation``).

Time: every NPU or host op gets a time point and the next op's point is two later (the odd point between them is
when the next op's weights are pre-buffered); all ops of a cascade share the cascade's first point; a layer that
runs no op of its own (a view, a fused activation, a Concat written in place) gets none. A map is live from its
producer's point (a graph input from 0) to its last reader's point + 1, a graph output to the end. An elementwise
op (also a 1×1 pooling or a standalone activation) outside a cascade writes its OFM over an IFM of the same
storage shape and format that has no other reader and is no graph output (the two share one range). Weight
buffers: a single buffer lives during its op (t, t + 1); of a double buffer the part holding the last depth slice
lives t .. t + 1, the other part t .. t; a pre-buffered first part starts one point earlier (t - 1), so it overlaps
the previous op's maps. A cascade's rolling buffers live at the cascade's point. A graph input Vela copies into
SRAM (inputcopy.py) gets the copy's own point before its reader; the buffer lives from the copy to the reader + 1.
Sizes are rounded to 16 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnncc.backends.ethos_u65.blocks import ELEMENTWISE, POOL
from cnncc.backends.ethos_u65.config import SRAM
from cnncc.backends.ethos_u65.lower import FREE, FUSED, MEMCOPY, Lowered
from cnncc.ir.graph import Graph

ALIGN = 16  # bytes: Vela's NPU tensor alignment


@dataclass(frozen=True)
class Range:
    """One SRAM live range: name, first and last time point (inclusive) and bytes (rounded to ALIGN)."""

    name: str
    start: int
    end: int
    size: int


def _align(n: int) -> int:
    return -(-int(n) // ALIGN) * ALIGN


def op_times(graph: Graph, lowered: list[Lowered], cascades=(), copied=frozenset()) -> list[int | None]:
    """Each layer's time point (None: the layer runs no op; see module doc); a layer in ``copied`` has a graph
    input copied just before it (inputcopy.py), an op of its own with the point before."""
    from cnncc.backends.ethos_u65.datamove import copies

    kinds = {layer.name: lw.kind for layer, lw in zip(graph.layers, lowered)}
    first_of = {k: c.start for c in cascades for k in range(c.start, c.end + 1)}
    times: list[int | None] = []
    now = 0
    for k, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        runs = lw.kind not in (FREE, FUSED) and (lw.kind != MEMCOPY or bool(copies(graph, layer, kinds)))
        if not runs:
            times.append(None)
        elif k in first_of and first_of[k] != k:
            times.append(next(t for t in reversed(times) if t is not None))
        else:
            now += 2 if k in copied else 0
            times.append(now)
            now += 2
    return times


def _in_place(graph: Graph, lw: Lowered) -> bool:
    """Whether Vela may write this op's OFM over one of its IFMs (a one-element-to-one-element op)."""
    return lw.kind == ELEMENTWISE or (lw.kind == POOL and lw.kernel == (1, 1) and lw.stride == (1, 1)
                                      and lw.ifm == lw.ofm)


def _parts(oc) -> list[int]:
    """SRAM bytes of each part of an op's weight buffer (one for single, two for double buffering)."""
    wb = oc.wbuf
    if wb is None or not oc.buffer_bytes or wb.mode == "none":
        return []
    if wb.mode != "double":
        return [oc.buffer_bytes]
    if len(wb.parts) == 2:
        return list(wb.parts)
    s = wb.slices
    depth = [b - a for a, b in zip(s, s[1:])]
    a, b = max(depth[0::2]), max(depth[1::2], default=0)
    first = int(oc.buffer_bytes * a / (a + b)) if a + b else 0
    return [first, oc.buffer_bytes - first]


def live_ranges(graph: Graph, lowered: list[Lowered], pl, costs: list, cascades=(), times=None) -> list[Range]:
    """Every SRAM live range of the schedule (see module doc): ``pl`` the placement (placement.Placement),
    ``costs`` each layer's OpCost (weight buffers), ``cascades`` cascade.Cascade list."""
    layers = graph.layers
    copied = {k for k, oc in enumerate(costs) if oc.input_copy}
    times = op_times(graph, lowered, cascades, copied) if times is None else times
    known = [t for t in times if t is not None]
    end = (max(known) if known else 0) + 2
    casc_of = {k: c for c in cascades for k in range(c.start, c.end + 1)}
    readers: dict[str, set[int]] = {}
    for k, layer in enumerate(layers):
        for t in layer.inputs:
            if t in pl.root and not graph.is_weight(t):
                readers.setdefault(pl.root[t], set()).add(k)
    outputs = {pl.root[o] for o in graph.outputs}
    inputs = {pl.root[i] for i in graph.inputs}

    def point(k: int) -> int:
        """Time point of layer k, or of the latest op before it when it runs none."""
        for j in range(k, -1, -1):
            if times[j] is not None:
                return times[j]
        return 0

    span: dict[str, list[int]] = {}
    for r in pl.ranges:
        if pl.memory.get(r) != SRAM or r in pl.inner:
            continue
        prod = pl.ranges[r][0]
        a = 0 if r in inputs else point(prod)
        b = max((point(k) + 1 for k in readers.get(r, ())), default=a + 1)
        span[r] = [a, end if r in outputs else max(b, a + 1)]
    # an elementwise op writes in place over a single-reader IFM of its OFM's storage
    share: dict[str, str] = {}
    for k, (layer, lw) in enumerate(zip(layers, lowered)):
        if not _in_place(graph, lw) or k in casc_of or times[k] is None:
            continue
        o = pl.root[layer.outputs[0]]
        if o not in span or o in share:
            continue
        for t in layer.inputs:
            r = pl.root.get(t)
            if (r is None or graph.is_weight(t) or r not in span or r in share.values() or r == o
                    or r in outputs or len(readers.get(r, ())) != 1 or pl.size[r] != pl.size[o]
                    or pl.fmt[r] != pl.fmt[o] or graph.type_of(t).shape != graph.type_of(layer.outputs[0]).shape):
                continue
            share[o] = r
            break
    for o in share:
        r = o
        while r in share:  # an in-place op's OFM may itself be overwritten in place later
            r = share[r]
        span[r][1] = max(span[r][1], span[o][1])
    out = [Range(r, a, b, _align(pl.size[r])) for r, (a, b) in span.items() if r not in share]
    for k in sorted(copied):  # a copied graph input's SRAM buffer: from the copy to its reader
        tk = point(k)
        out.append(Range(f"{layers[k].name}/input_buffer", tk - 2, tk + 1, _align(costs[k].input_copy)))
    for c in cascades:
        tc = point(c.start)
        out.append(Range(f"cascade{c.start}", tc, tc + 1, _align(c.buffer_bytes)))
    for k, oc in enumerate(costs):
        parts = _parts(oc)
        t = times[k]
        if not parts or t is None:
            continue
        nslices = len(oc.wbuf.slices) - 1
        last_part = (nslices - 1) % len(parts)
        for p, size in enumerate(parts):
            a = t - 1 if p == 0 and oc.wbuf.prebuffered_bytes else t
            b = t + 1 if p == last_part else t
            out.append(Range(f"{layers[k].name}/wbuf{p}", max(a, 0), b, _align(size)))
    return sorted(out, key=lambda x: (x.start, x.end, x.name))


def usage(ranges: list[Range]) -> list[int]:
    """SRAM bytes live at each time point (the sum of the ranges live then)."""
    n = max((x.end for x in ranges), default=-1) + 1
    use = [0] * n
    for x in ranges:
        for t in range(x.start, x.end + 1):
            use[t] += x.size
    return use

"""The SRAM live ranges of an Ethos-U schedule as Vela 5.2.0 builds them before it allocates addresses (our own
formulation of the rules of Regor's ``LiveRangeGraph::ExtractLiveRangesFromCascades``, read in the public fork
hapv3/neural-compiler, checked against Vela 5.2.0's ``--verbose-allocation``).

Time: every NPU or host op gets a time point and the next op's point is two later (the odd point between them is
when the next op's weights are pre-buffered); all ops of a cascade share the cascade's first point; a layer that
runs no op of its own (a view, a fused activation, a Concat written in place) gets none, and a layer Vela runs as
several ops (subops.py: PRelu, the exporter's chains, Softmax) gets one point per op, its intermediate maps
allocated like any other. A requantising copy into a Concat (the export's QUANTIZE) runs right after the op
writing its source; the Concat's own copies run where the Concat is. The graph-edge conversions of a float graph
(a host Quantize of a graph input, a host Dequantize into a graph output) are no part of the network Vela compiles:
its graph inputs and outputs are their integer sides, and the float maps are not allocated. A map is live from
its first writer's point (a graph input from 0) to its last reader's point + 1, a graph output to the end. An
elementwise op (also a 1×1 pooling or a standalone activation, or an elementwise step of a multi-op layer) outside
a cascade writes its OFM over an IFM of the same storage size and format that has no other reader and is no graph
output (the two share one range). Weight buffers: a single buffer lives during its op (t, t + 1); of a double
buffer the part holding the last depth slice lives t .. t + 1, the other part t .. t; a pre-buffered first part
starts one point earlier (t - 1), so it overlaps the previous op's maps. A cascade's rolling buffers live at the
cascade's point. A graph input Vela copies into SRAM (inputcopy.py) gets the copy's own point before its reader;
the buffer lives from the copy to the reader + 1. Sizes are rounded to 16 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnncc.backends.ethos_u65.blocks import ELEMENTWISE, POOL
from cnncc.backends.ethos_u65.config import SRAM
from cnncc.backends.ethos_u65.lower import CPU, FREE, FUSED, MEMCOPY, Lowered
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


@dataclass(frozen=True)
class Event:
    """One op of the schedule: its time point, the layer it belongs to, the range keys it reads and writes, and
    whether it may write its output over an input (an elementwise-like op)."""

    time: int
    layer: int
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    in_place: bool = False


def edge_layers(graph: Graph, lowered: list[Lowered]) -> set[int]:
    """Indices of the graph-edge conversions the int8 export does not hold (a host Quantize of a graph input, a
    host Dequantize into a graph output): Vela's network starts and ends at their integer sides."""
    out = set()
    for k, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        if lw.kind == CPU and ((layer.kind == "Quantize" and layer.inputs[0] in graph.inputs)
                               or (layer.kind == "Dequantize" and layer.outputs[0] in graph.outputs)):
            out.add(k)
    return out


def _runs(graph: Graph, layer, lw: Lowered, kinds: dict) -> bool:
    from cnncc.backends.ethos_u65.datamove import copies

    return lw.kind not in (FREE, FUSED) and (lw.kind != MEMCOPY or bool(copies(graph, layer, kinds)))


def concat_copies(graph: Graph, lowered: list[Lowered], root: dict) -> dict[int, list[tuple[str, str, int]]]:
    """Per Concat layer index, the copies Vela runs into its map: (source map, Concat map, index of the layer
    after whose op the copy runs, -1: at the Concat). A requantising copy is an op of its own in the export (a
    QUANTIZE, requant.py), which Vela's schedule runs right after the op writing its source (measured: YOLOv8n's
    C2f copies follow each Split / bottleneck output); the Concat's own MemoryCopies run where the Concat is
    (measured on tests/ethos_u65/test_requant.py's C2f block without requantisation: after the Add written in
    place)."""
    from cnncc.backends.ethos_u65.datamove import folded_into_concat, written_in_place
    from cnncc.backends.ethos_u65.requant import requantised_input

    kinds = {layer.name: lw.kind for layer, lw in zip(graph.layers, lowered)}
    writer: dict[str, int] = {}
    out: dict[int, list[tuple[str, str, int]]] = {}
    for k, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        if layer.kind == "Concat" and lw.kind == MEMCOPY:
            dst = root[layer.outputs[0]]
            for i, t in enumerate(layer.inputs):
                if written_in_place(graph, layer, i, kinds):
                    continue
                prod = graph.producer(t)
                src = prod.inputs[0] if prod is not None and folded_into_concat(graph, prod) else t
                r = root.get(src, src)
                w = writer.get(r, -1) if requantised_input(graph, layer, i) else -1
                out.setdefault(k, []).append((r, dst, w))
        if lw.kind not in (FREE, FUSED, CPU):
            for o in layer.outputs:
                writer.setdefault(root.get(o, o), k)
    return out


def schedule(graph: Graph, lowered: list[Lowered], root: dict, cascades=(), copied=frozenset()
             ) -> tuple[list[Event], list[int | None], dict]:
    """Vela's ops in order with their time points (module doc): the events, each layer's time (its first op; None
    when it runs none) and the intermediates of multi-op layers (key -> (bytes, format, memory rule, the layer's
    output map))."""
    from cnncc.backends.ethos_u65.subops import layer_steps

    kinds = {layer.name: lw.kind for layer, lw in zip(graph.layers, lowered)}
    first_of = {k: c.start for c in cascades for k in range(c.start, c.end + 1)}
    edge = edge_layers(graph, lowered)
    concat = concat_copies(graph, lowered, root)
    after: dict[int, list[tuple[str, str]]] = {}
    at_concat: dict[int, list[tuple[str, str]]] = {}
    for k, cps in concat.items():
        for src, dst, w in cps:
            (after.setdefault(w, []) if 0 <= w < k else at_concat.setdefault(k, [])).append((src, dst))
    events: list[Event] = []
    times: list[int | None] = []
    inter: dict[str, tuple[int, str, str, str]] = {}
    now = 0

    def acts(layer) -> tuple[str, ...]:
        return tuple(root[t] for t in layer.inputs if t in root and not graph.is_weight(t))

    for k, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        t_k: int | None = None
        if k in edge or not _runs(graph, layer, lw, kinds):
            pass
        elif layer.kind == "Concat" and lw.kind == MEMCOPY:
            for src, dst in at_concat.get(k, ()):
                t_k = now if t_k is None else t_k
                events.append(Event(now, k, (src,), (dst,)))
                now += 2
        elif k in first_of and first_of[k] != k:
            t_k = next(t for t in reversed(times) if t is not None)
            events.append(Event(t_k, k, acts(layer), tuple(root[o] for o in layer.outputs)))
        else:
            now += 2 if k in copied else 0
            t_k = now
            sub = layer_steps(graph, layer, lw)
            if sub is None:
                events.append(Event(now, k, acts(layer), tuple(root[o] for o in layer.outputs),
                                    _in_place(graph, lw, layer) and k not in first_of))
                now += 2
            else:
                ins = acts(layer)
                key = {f"in{i}": r for i, r in enumerate(ins)}
                key["out"] = root[layer.outputs[0]]
                for m, size in sub.size.items():
                    key[m] = f"{layer.name}/{m}"
                    inter[key[m]] = (size, sub.fmt[m], sub.mem.get(m, "out"), key["out"])
                for st in sub.steps:
                    events.append(Event(now, k, tuple(key[r] for r in st.reads if r in key), (key[st.write],),
                                        st.elementwise))
                    now += 2
        times.append(t_k)
        for src, dst in after.get(k, ()):
            events.append(Event(now, k, (src,), (dst,)))
            now += 2
    return events, times, inter


def op_times(graph: Graph, lowered: list[Lowered], cascades=(), copied=frozenset()) -> list[int | None]:
    """Each layer's time point (None: the layer runs no op; see module doc); a layer in ``copied`` has a graph
    input copied just before it (inputcopy.py), an op of its own with the point before."""
    from cnncc.backends.ethos_u65.placement import storage_roots

    return schedule(graph, lowered, storage_roots(graph, lowered), cascades, copied)[1]


def _in_place(graph: Graph, lw: Lowered, layer=None) -> bool:
    """Whether Vela may write this op's OFM over one of its IFMs (a one-element-to-one-element op; a Div by a
    constant is one too: a single MUL by the reciprocal, composite.py)."""
    from cnncc.backends.ethos_u65.lower import CHAIN
    from cnncc.ir import ops as O

    if lw.kind == CHAIN and layer is not None and isinstance(layer.op, O.Div):
        return True
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


def live_ranges(graph: Graph, lowered: list[Lowered], pl, costs: list, cascades=(), times=None, arch=None
                ) -> list[Range]:
    """Every SRAM live range of the schedule (see module doc): ``pl`` the placement (placement.Placement),
    ``costs`` each layer's OpCost (weight buffers), ``cascades`` cascade.Cascade list, ``arch`` the U65Config
    (the SRAM cache, which decides where a multi-op layer's own intermediates live; None: the placement's, else
    all on chip)."""
    return ranges_of_schedule(graph, lowered, pl, costs, cascades, times, arch).ranges


@dataclass(frozen=True)
class ScheduleRanges:
    """:func:`live_ranges` with what the fast-storage allocator needs of them (faststorage.on_schedule): the
    ranges; per map written over another in place, the map whose range it joined (the range's name); the
    intermediate maps of multi-op layers in SRAM (key -> (bytes, the layer's index, how many ops read it)); the
    time point of every op the host CPU runs."""

    ranges: list[Range]
    joined: dict
    inter: dict
    host_times: frozenset


def ranges_of_schedule(graph: Graph, lowered: list[Lowered], pl, costs: list, cascades=(), times=None, arch=None
                       ) -> ScheduleRanges:
    """:func:`live_ranges` (same arguments) with the in-place merges, intermediates and host-op times."""
    arch = arch if arch is not None else getattr(pl, "arch", None)

    layers = graph.layers
    copied = {k for k, oc in enumerate(costs) if oc.input_copy}
    events, sched_times, inter = schedule(graph, lowered, pl.root, cascades, copied)
    times = sched_times if times is None else times
    known = [e.time for e in events]
    end = (max(known) if known else 0) + 2
    edge = edge_layers(graph, lowered)
    outputs = {pl.root[o] for o in graph.outputs}
    inputs = {pl.root[i] for i in graph.inputs}
    for k in edge:  # the integer side of an edge conversion is the graph input / output Vela sees
        layer = layers[k]
        if layer.kind == "Quantize":
            inputs.discard(pl.root[layer.inputs[0]])
            inputs.add(pl.root[layer.outputs[0]])
        else:
            outputs.discard(pl.root[layer.outputs[0]])
            outputs.add(pl.root[layer.inputs[0]])
    dropped = {pl.root[layers[k].inputs[0] if layers[k].kind == "Quantize" else layers[k].outputs[0]] for k in edge}
    readers: dict[str, set[int]] = {}
    first_w: dict[str, int] = {}
    last_r: dict[str, int] = {}
    for n, e in enumerate(events):
        for r in e.reads:
            readers.setdefault(r, set()).add(n)
            last_r[r] = max(last_r.get(r, -1), e.time)
        for w in e.writes:
            first_w[w] = min(first_w.get(w, e.time), e.time)

    def point(k: int) -> int:
        """Time point of layer k, or of the latest op before it when it runs none."""
        for j in range(k, -1, -1):
            if times[j] is not None:
                return times[j]
        return 0

    size: dict[str, int] = {}
    fmt: dict[str, str] = {}
    span: dict[str, list[int]] = {}
    for r in pl.ranges:
        if pl.memory.get(r) != SRAM or r in pl.inner or r in dropped:
            continue
        a = 0 if r in inputs else first_w.get(r, point(pl.ranges[r][0]))
        b = last_r[r] + 1 if r in last_r else a + 1
        span[r] = [a, end if r in outputs else max(b, a + 1)]
        size[r], fmt[r] = pl.size[r], pl.fmt[r]
    for m, (nbytes, f, rule, out_map) in inter.items():
        own = arch is None or arch.arena_mem == SRAM or nbytes <= arch.cache_bytes
        on_chip = pl.memory.get(out_map) == SRAM if rule == "out" else own
        if m in first_w and on_chip:
            a = first_w[m]
            span[m] = [a, max(last_r.get(m, a) + 1, a + 1)]
            size[m], fmt[m] = nbytes, f
    shape = {r: graph.type_of(r).shape for r in span if r in pl.root}
    # an elementwise op writes in place over a single-reader IFM of its OFM's storage
    share: dict[str, str] = {}
    for e in events:
        if not e.in_place:
            continue
        o = e.writes[0]
        if o not in span or o in share or o in e.reads:
            continue
        for r in e.reads:
            if (r not in span or r in share.values() or r == o or r in outputs or len(readers.get(r, ())) != 1
                    or size[r] != size[o] or fmt[r] != fmt[o] or (r in shape and o in shape and shape[r] != shape[o])):
                continue
            share[o] = r
            break
    for o in share:
        r = o
        while r in share:  # an in-place op's OFM may itself be overwritten in place later
            r = share[r]
        span[r][1] = max(span[r][1], span[o][1])
    out = [Range(r, a, b, _align(size[r])) for r, (a, b) in span.items() if r not in share]
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
        for p, nbytes in enumerate(parts):
            a = t - 1 if p == 0 and oc.wbuf.prebuffered_bytes else t
            b = t + 1 if p == last_part else t
            out.append(Range(f"{layers[k].name}/wbuf{p}", max(a, 0), b, _align(nbytes)))
    joined = {}
    for o in share:
        r = o
        while r in share:
            r = share[r]
        joined[o] = r
    owner = {e.writes[0]: e.layer for e in events if e.writes}
    host = frozenset(e.time for e in events if lowered[e.layer].kind == CPU)
    return ScheduleRanges(sorted(out, key=lambda x: (x.start, x.end, x.name)), joined,
                          {m: (size[m], owner.get(m, -1), len(readers.get(m, ()))) for m in inter if m in span}, host)


def usage(ranges: list[Range]) -> list[int]:
    """SRAM bytes live at each time point (the sum of the ranges live then)."""
    n = max((x.end for x in ranges), default=-1) + 1
    use = [0] * n
    for x in ranges:
        for t in range(x.start, x.end + 1):
            use[t] += x.size
    return use

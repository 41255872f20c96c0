"""Network-level Ethos-U estimate: lower every layer, find the cascades, choose the weight buffering with the maps
where the schedule has them, place the maps (Vela's fast-storage allocator when the arena is off-chip), cost every
layer in order (opcost.py) and the peak SRAM; the network total is the sum of the layers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cnncc.backends.ethos_u65.blocks import CONV, DEPTHWISE, ELEMENTWISE, POOL
from cnncc.backends.ethos_u65.cascade import Cascade, ChainOp, find_cascades
from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM, U65Config
from cnncc.backends.ethos_u65.datamove import with_reshape_copies
from cnncc.backends.ethos_u65.fastcands import candidates, sanitize
from cnncc.backends.ethos_u65.inputcopy import copy_cost, input_copies
from cnncc.backends.ethos_u65.lower import (
    CHAIN,
    CPU,
    FREE,
    FUSED,
    MEAN,
    MEMCOPY,
    SOFTMAX,
    TRANSPOSE,
    Lowered,
    fuse_activations,
    lower,
)
from cnncc.backends.ethos_u65.memory import constants_placed
from cnncc.backends.ethos_u65.opcost import (
    OpCost,
    _sum_costs,
    cost_copies,
    cost_mean,
    cost_npu_op,
    cost_transpose,
    encoded_weight_bytes,
    npu_op,
    stripe_op,
    with_copy,
)
from cnncc.backends.ethos_u65.placement import Placement, place, sram_timeline
from cnncc.backends.ethos_u65.resize import multi_op, with_zero_constant
from cnncc.backends.ethos_u65.softmax import cost_softmax, softmax_moves
from cnncc.backends.ethos_u65.sramalloc import sram_peak
from cnncc.backends.ethos_u65.transconv import with_crop_copy
from cnncc.backends.ethos_u65.transposes import cost_passes, vela_transposes, with_exported_transposes
from cnncc.backends.ethos_u65.weightbuf import Context
from cnncc.ir.graph import Graph, Layer

__all__ = ["Estimate", "OpCost", "cascades_and_copies", "cascades_of", "cost_npu_op", "cost_transpose",
           "encoded_weight_bytes", "estimate", "isolated_cycles", "stripe_op"]


@dataclass(frozen=True)
class Estimate:
    """Every layer's cost in order, the feature-map placement (with the peak SRAM use: maps, weight buffers and
    cascade buffers live at one time) and the weight-buffer and feature-map parts of it (bytes)."""

    rows: list[tuple[Layer, Lowered, OpCost]]
    placement: Placement
    staging_bytes: int           # the largest weight buffer of one op
    activation_peak_bytes: int = 0   # the most SRAM bytes of feature maps live at one time
    compiled: Graph | None = None    # the network as Vela compiles it, whose maps ``placement`` names (padfuse.py)

    @property
    def peak_sram_bytes(self) -> int:
        return self.placement.peak_sram_bytes


def estimate(graph: Graph, arch: U65Config) -> Estimate:
    """Cost every layer in Vela's execution order (order.py; the rows come back in ``graph``'s order), on the
    network as Vela compiles it (compiled.py: a zero Pad a convolution takes as its own padding is gone, a conv's
    exported PAD and the activation of a conv with few output channels are ops of their own, on the conv's row)."""
    from cnncc.backends.ethos_u65.compiled import as_vela_compiles, rows_back
    from cnncc.backends.ethos_u65.order import in_vela_order

    compiled = as_vela_compiles(graph)
    run, position = in_vela_order(compiled.graph)
    est = _estimate(run, arch)
    if run is not compiled.graph:
        est = replace(est, rows=[est.rows[pos] for pos in position])
    if compiled.graph is graph:
        return est
    return replace(est, rows=rows_back(graph, compiled, est.rows), compiled=compiled.graph)


def _estimate(graph: Graph, arch: U65Config) -> Estimate:
    """Cost every layer in order (see module doc). With an off-chip arena, Vela's order: the weight buffering is
    chosen with the feature maps off-chip (its schedule), then the fast-storage allocator (faststorage.py) moves
    maps into SRAM, and the ops are costed again with those placements and the buffering chosen before."""
    from cnncc.backends.ethos_u65.faststorage import allocate, on_schedule
    from cnncc.backends.ethos_u65.transposes import cancelling_transposes

    gone = cancelling_transposes(graph)
    lowered = [Lowered(FREE, ofm=lw.ofm, reason="cancelling transposes") if layer.name in gone else lw
               for layer, lw in zip(graph.layers, (lower(graph, x) for x in graph.layers))]
    lowered = with_exported_transposes(graph, lowered)
    lowered = with_reshape_copies(graph, lowered)
    lowered, _ = fuse_activations(graph, graph.layers, lowered)
    cascades, pl, copies = cascades_and_copies(graph, lowered, arch)
    costs, slacks = _cost_pass(graph, lowered, arch, pl, cascades, copies=copies)
    n = len(graph.layers)
    if arch.arena_mem == OFFCHIP and arch.cache_bytes:
        # at Vela's time points, with the other SRAM ranges of its schedule (faststorage.on_schedule)
        cands, fixed, host = on_schedule(graph, lowered, arch, cascades, costs,
                                         candidates(graph, lowered, pl, costs, cascades, merge=False))
        kept = allocate(cands, fixed, arch.cache_bytes, host)
        kept |= {a for lr in cands if lr.name in kept for a in lr.aliases}
        kept = sanitize(graph, lowered, pl, kept, cascades)
        pl = place(graph, lowered, arch, cascades, kept)
        costs, _ = _cost_pass(graph, lowered, arch, pl, cascades, [c.wbuf for c in costs], slacks, copies)
    use = sram_timeline(pl, n)
    peak = sram_peak(graph, lowered, pl, costs, cascades)  # Vela's live ranges and allocation (sramalloc.py)
    rows = [(layer, lw, c) for layer, lw, c in zip(graph.layers, lowered, costs)]
    return Estimate(rows, replace(pl, peak_sram_bytes=peak), max((c.buffer_bytes for c in costs), default=0),
                    max(use, default=0))


def cascades_and_copies(graph: Graph, lowered: list[Lowered], arch: U65Config):
    """Vela's cascades, the map placement around them and its copies of graph inputs into SRAM (inputcopy.py); a
    copy before a cascade's first op lives beside the cascade, whose stripes are then chosen again."""
    cascades = cascades_of(graph, lowered, arch)
    pl = place(graph, lowered, arch, cascades)
    copies = input_copies(graph, lowered, arch, pl, cascades)
    if any(c.start in copies for c in cascades):
        cascades = cascades_of(graph, lowered, arch, copies)
        pl = place(graph, lowered, arch, cascades)
    return cascades, pl, copies


def _cost_pass(graph: Graph, lowered: list[Lowered], arch: U65Config, pl: Placement, cascades: list[Cascade],
               forced: list | None = None, slacks_in: list[int] | None = None,
               copies: dict | None = None) -> tuple[list[OpCost], list[int]]:
    """Every layer's cost with placement ``pl``; ``forced``/``slacks_in``: weight-buffering decisions and slack
    cycles of an earlier pass to keep; ``copies``: the graph-input copies (inputcopy.InputCopy by reader index).
    Returns the costs and the slack each op was given."""
    stripe_of = {k: c.stripes[k - c.start] for c in cascades for k in range(c.start, c.end + 1)}
    casc_of = {k: c for c in cascades for k in range(c.start, c.end + 1)}
    staging_limit = arch.cache_bytes if arch.arena_mem == OFFCHIP and arch.cache_bytes else 1 << 30
    out: list[OpCost] = []
    given: list[int] = []
    slack, npu_index, prev_npu, prev_free = 0, 0, False, staging_limit
    kinds = {layer.name: lw.kind for layer, lw in zip(graph.layers, lowered)}
    split_slack: dict[str, int] = {}  # a Split output's map -> the slack its copy leaves its first reader
    inputs = {pl.root.get(t, t) for t in graph.inputs}  # graph inputs: maps no op of the network writes
    tmoves = vela_transposes(graph)  # the exporter's transposes as Vela runs them (transposes.py)
    from cnncc.backends.ethos_u65.prefetch import requantising_copies

    requant_after, at_concat = requantising_copies(graph, lowered, pl, arch)  # copies Vela runs early (prefetch.py)
    for idx, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        if slacks_in is not None:
            slack = slacks_in[idx]
        acts = [t for t in layer.inputs if not graph.is_weight(t)]
        if acts and pl.root.get(acts[0]) in split_slack and slacks_in is None:
            slack = split_slack.pop(pl.root[acts[0]])  # Vela runs a Split output's copy just before its reader
        given.append(slack)
        mems: tuple[str, str] = (pl.memory[acts[0]], pl.memory[layer.outputs[0]]) if acts else (SRAM, SRAM)
        fmts: tuple[str, str] = (pl.fmt[acts[0]], pl.fmt[layer.outputs[0]]) if acts else ("NHWC", "NHWC")
        if lw.kind in (FREE, FUSED):
            cost = OpCost("none", 0, 0, 0, 0, {SRAM: 0, OFFCHIP: 0}, {}, {}, 0, "none", None, "", lw.reason)
        elif lw.kind == CPU:
            cost = OpCost("cpu", graph.macs(layer), 0, 0, 0, {SRAM: 0, OFFCHIP: 0}, {}, {}, 0, "cpu", None, "",
                          lw.reason)
            slack = 0
        elif lw.kind == MEMCOPY:
            cost, copy_slacks = cost_copies(graph, layer, kinds, pl, arch)
            local = [x for x, run in zip(copy_slacks, at_concat.get(idx, [True] * len(copy_slacks))) if run]
            slack = local[0] if local else slack  # a Concat written in place runs no op of its own
            if layer.kind == "Split" and copy_slacks:
                from cnncc.backends.ethos_u65.datamove import moved_to_consumers

                copied = [o for k, o in enumerate(layer.outputs) if not moved_to_consumers(graph, layer, k, kinds)]
                split_slack.update(zip((pl.root[o] for o in copied), copy_slacks))
        elif lw.kind == TRANSPOSE:
            passes = tmoves.get(layer.name)
            cost = cost_passes(passes, arch, mems[0], mems[1]) if passes else cost_transpose(lw, arch, *mems)
            slack = cost.cycles
        elif lw.kind == SOFTMAX:
            cost = cost_softmax(lw, arch, mems[0], mems[1], fmts, softmax_moves(graph, layer))
            slack = 0
        elif lw.kind == CHAIN:
            from cnncc.backends.ethos_u65.composite import chain_ops

            parts = [cost_npu_op(op, arch) for op in chain_ops(graph, layer, arch, mems[0], mems[1], fmts)]
            cost = _sum_costs([c for c, _ in parts])
            slack = parts[-1][1]  # the op before the next one is the chain's last (the next weight DMA hides there)
        elif lw.kind == MEAN:
            ctx = Context(npu_index, prev_npu, slack, staging_limit, prev_free,
                          forced=forced[idx] if forced else None)
            cost, slack = cost_mean(lw, arch, mems[0], mems[1], fmts, ctx)
            prev_free = max(staging_limit - cost.buffer_bytes, 0)
        else:
            i2 = acts[1] if len(acts) > 1 else acts[0]
            c = casc_of.get(idx)
            limit = staging_limit - (c.buffer_bytes if c else 0)
            ic = (copies or {}).get(idx)
            if ic is not None:
                # Vela's input_buffer_ copy runs first: the op reads the SRAM copy, and its first weight slice
                # counts as pre-buffered; the copy leaves no slack (Vela schedules it with no cycle estimate)
                copy = copy_cost(ic, arch)[0]
                mems = (SRAM, mems[1])
                limit -= ic.nbytes
                slack = given[-1] = 0
                prev_npu, prev_free = True, max(limit, 0)
                npu_index += 1
            op = npu_op(lw, arch, (mems[0], pl.memory[i2], mems[1]), fmts, pl.fmt[i2] if len(acts) > 1 else "")
            op = with_zero_constant(layer, lw, op, arch)  # a 1×1 map's resize: an Add of a constant (resize.py)
            const = [graph.is_weight(t) for t in layer.inputs[:2]] + [False]
            op = constants_placed(op, (const[0], const[1]), arch.const_mem)  # constant operands: Vela's memory
            ctx = Context(npu_index, prev_npu, slack, max(limit, 0), prev_free, c is not None,
                          c is not None and c.start == idx, -(-lw.ofm[0] // stripe_of[idx][0]) if c else 1,
                          forced[idx] if forced else None, pl.root.get(acts[0]) not in inputs,
                          stripe_of[idx][0] if c else 0)
            if multi_op(lw):  # a ×4 / ×8 Resize (×2 upscaling AvgPools) or half-pixel bilinear (resize.py)
                from cnncc.backends.ethos_u65.resize import cost_resize

                cost, slack = cost_resize(op, lw.upscale, arch, ctx)
            else:
                cost, slack = cost_npu_op(op, arch, ctx, stripe_of.get(idx))
            if layer.kind == "ConvTranspose":  # the exported SLICE of a cropping ConvTranspose (transconv.py)
                cost = with_crop_copy(graph, layer, kinds, cost, op, arch, ctx)
            prev_free = max(limit - cost.buffer_bytes, 0)
            if ic is not None:
                cost = with_copy(cost, copy, ic.nbytes)
        if cost.device == "npu":
            npu_index += 1
        if lw.kind not in (FREE, FUSED) and not (lw.kind == MEMCOPY and idx in at_concat and not any(at_concat[idx])):
            prev_npu = cost.device == "npu"
        if idx in requant_after:  # a requantising copy into a Concat runs right after this op
            slack, prev_npu = requant_after[idx], True
        out.append(cost)
    return out, given


CASCADABLE = (CONV, DEPTHWISE, POOL, ELEMENTWISE)


def _cascadable(lw: Lowered) -> bool:
    """Whether Vela may cascade the op: convolutions, pooling and elementwise ops; a standalone LUT op (int8
    Sigmoid/Tanh/HardSwish/LeakyRelu) is none of these in Regor's op classes."""
    return lw.kind in CASCADABLE and not lw.lut and lw.resample == "none" and not multi_op(lw)  # upscaling: alone


def cascades_of(graph: Graph, lowered: list[Lowered], arch: U65Config, copies: dict | None = None) -> list[Cascade]:
    """Vela's cascades of the layer sequence (cascade.py); none when feature maps live in SRAM anyway. Activations
    fused into their producer are no ops of their own: the producer writes the activation's output. ``copies``:
    Vela's copies of graph inputs into SRAM (inputcopy.py), which live beside the cascade their reader starts."""
    from cnncc.backends.ethos_u65.cascadeweights import schedule_weights

    if arch.arena_mem != OFFCHIP or not arch.cache_bytes:
        return []
    fmt, copies = place(graph, lowered, arch).fmt, copies or {}
    layers = graph.layers
    keep = [k for k, lw in enumerate(lowered) if lw.kind != FUSED]
    out_of = {}
    for k, layer in enumerate(layers):
        out_of[k] = layer.outputs[0]
        if lowered[k].kind == FUSED and k > 0:
            src = graph.producer(layer.inputs[0])
            j = next(i for i in range(k) if layers[i] is src)
            out_of[j] = layer.outputs[0]
    units = _units(graph, lowered, keep)  # (layer, op as the rules see it, first op of the layer, last op)
    chain, fmts, from_input = [], [], []
    for n, (k, lw, first, last) in enumerate(units):
        layer = layers[k]
        # the next op of an exported chain reads this op's map alone and writes over its ring (cascade.ChainOp)
        link = inside = n + 1 < len(units) and units[n + 1][0] == k
        if not inside and _cascadable(lw) and n + 1 < len(units) and _cascadable(units[n + 1][1]):
            out, nxt = out_of[k], layers[units[n + 1][0]]
            acts = [t for t in nxt.inputs if not graph.is_weight(t)]
            link = (len(graph.consumers(out)) == 1 and out not in graph.outputs and acts[0] == out
                    and units[n + 1][1].ifm == lw.ofm)
        # the weight buffers of the final schedule are no part of the cascade's buffers (costed per op)
        ifm = next((t for t in layer.inputs if not graph.is_weight(t)), out_of[k])
        f_in = fmt.get(ifm, "NHCWB16") if first else "NHCWB16"
        f_out = fmt.get(out_of[k], "NHCWB16") if last else "NHCWB16"
        chain.append(ChainOp(lw.ifm, lw.ofm, (lw.kernel[0] - 1) * lw.dilation[0] + 1, lw.stride[0],
                             lw.kind == ELEMENTWISE, 0, link, f_in == "NHWC", f_out == "NHWC", inside))
        fmts.append((f_in, f_out))
        from_input.append(first and ifm in graph.inputs)
    staged = schedule_weights([lw for _, lw, _, _ in units], arch, fmts, [_cascadable(lw) for _, lw, _, _ in units],
                              [u[2] and u[0] in copies for u in units], from_input)
    result: list[Cascade] = []
    reserved = {n: copies[u[0]].nbytes for n, u in enumerate(units) if u[2] and u[0] in copies}
    for c in find_cascades(chain, arch.cache_bytes, staged, reserved):
        s, e = c.start, c.end
        while s <= e and not units[s][2]:
            s += 1  # a cascade from inside an exported chain: the chain's layer runs alone (its ops not split)
        while e >= s and not units[e][3]:
            e -= 1
        if s > e or units[s][0] == units[e][0]:
            continue  # no two layers left (one chain's ops alone keep their map off the rolling buffers)
        per_layer = {units[n][0]: c.stripes[n - c.start] for n in range(s, e + 1)}  # a layer's last op's stripe
        stripes, cur = [], per_layer[units[s][0]]
        for k in range(units[s][0], units[e][0] + 1):
            cur = per_layer.get(k, cur)
            stripes.append(cur)  # a fused activation runs with its producer's stripe
        result.append(replace(c, start=units[s][0], end=units[e][0], stripes=tuple(stripes)))
    return result


def _units(graph: Graph, lowered: list[Lowered], keep: list[int]) -> list[tuple[int, Lowered, bool, bool]]:
    """The ops the cascade rules walk, in order: (layer index, op, first op of the layer, last op of the layer);
    one per layer, and one per exported operator of a chain whose operators Vela cascades (composite.cascade_parts).
    """
    from cnncc.backends.ethos_u65.composite import cascade_parts

    out: list[tuple[int, Lowered, bool, bool]] = []
    for k in keep:
        parts = cascade_parts(graph, graph.layers[k], lowered[k]) if lowered[k].kind == CHAIN else []
        if not parts:
            out.append((k, lowered[k], True, True))
            continue
        out += [(k, p, n == 0, n == len(parts) - 1) for n, p in enumerate(parts)]
    return out


class _Const(dict):
    """A mapping that answers every key with one value (placement of an isolated layer: all maps in SRAM)."""

    def __init__(self, value: str):
        super().__init__()
        self.value = value

    def __missing__(self, key: str) -> str:
        return self.value


def isolated_cycles(graph: Graph, layer: Layer, arch: U65Config, cpu_cost) -> float:
    """Cycles of one layer run alone with its maps in SRAM (the abconv cost hook; see EthosU65Backend)."""
    from types import SimpleNamespace

    lw = lower(graph, layer)
    passes = vela_transposes(graph).get(layer.name)
    if passes is not None and lw.kind in (FREE, TRANSPOSE):  # the exporter's transposes (transposes.py)
        return float(cost_passes(passes, arch, SRAM, SRAM).cycles)
    if lw.kind == FREE:
        return 0.0
    if lw.kind == CPU:
        return float(cpu_cost(graph, layer, arch))
    if lw.kind == TRANSPOSE:
        return float(cost_transpose(lw, arch, SRAM, SRAM).cycles)
    if lw.kind == SOFTMAX:
        return float(cost_softmax(lw, arch, SRAM, SRAM, ("NHWC", "NHWC"), softmax_moves(graph, layer)).cycles)
    if lw.kind == CHAIN:
        from cnncc.backends.ethos_u65.composite import chain_ops

        return float(sum(cost_npu_op(op, arch)[0].cycles
                         for op in chain_ops(graph, layer, arch, SRAM, SRAM, ("NHCWB16", "NHCWB16"))))
    if lw.kind == MEAN:
        return float(cost_mean(lw, arch, SRAM, SRAM, ("NHCWB16", "NHCWB16"))[0].cycles)
    if lw.kind == MEMCOPY:
        kinds = {x.name: lower(graph, x).kind for x in graph.layers}
        pl = SimpleNamespace(memory=_Const(SRAM), fmt=_Const("NHCWB16"))
        return float(cost_copies(graph, layer, kinds, pl, arch)[0].cycles)
    op = npu_op(lw, arch, (SRAM, SRAM, SRAM), ("NHCWB16", "NHCWB16"))
    if multi_op(lw):
        from cnncc.backends.ethos_u65.resize import cost_resize

        return float(cost_resize(op, lw.upscale, arch)[0].cycles)
    return float(cost_npu_op(op, arch)[0].cycles)

"""Transposes Vela 5.2.0 removes before costing (Regor's RewriteIdentityTranspose, CanonicaliseReshapeTransposePattern
and MergeTransposes; our own formulation): a Transpose that only moves axes of size 1 is a reshape, and a chain
Transpose -> views that only add or drop axes of size 1 -> Transpose whose composition leaves the order of the
non-unit axes unchanged moves no data at all. Such Transposes cost nothing."""

from __future__ import annotations

from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

VIEWS = (O.Reshape, O.Flatten, O.Identity)


def _order(shape: tuple[int, ...], labels: list[int]) -> list[int]:
    """The labels of the non-unit axes, in order."""
    return [lab for lab, d in zip(labels, shape) if d != 1]


def _perm(layer: Layer, graph: Graph) -> tuple[int, ...]:
    assert isinstance(layer.op, O.Transpose)
    rank = graph.type_of(layer.inputs[0]).rank
    return layer.op.perm or tuple(reversed(range(rank)))


def no_op_transpose(graph: Graph, layer: Layer) -> bool:
    """A Transpose that keeps the order of the non-unit axes (a reshape)."""
    shape = graph.type_of(layer.inputs[0]).shape
    labels = list(range(len(shape)))
    perm = _perm(layer, graph)
    return _order(tuple(shape[p] for p in perm), [labels[p] for p in perm]) == _order(shape, labels)


def cancelling_transposes(graph: Graph) -> set[str]:
    """Names of Transposes that cancel in pairs across unit-axis views (see module doc)."""
    out: set[str] = set()
    for t1 in graph.layers:
        if not isinstance(t1.op, O.Transpose) or t1.name in out:
            continue
        shape = graph.type_of(t1.inputs[0]).shape
        seq = _order(shape, list(range(len(shape))))
        perm = _perm(t1, graph)
        cur = t1.outputs[0]
        labels = [list(range(len(shape)))[p] for p in perm]
        cur_seq = _order(graph.type_of(cur).shape, labels)
        while True:
            cons = graph.consumers(cur)
            if len(cons) != 1 or cur in graph.outputs:
                break
            nxt = cons[0]
            if isinstance(nxt.op, VIEWS):
                cur = nxt.outputs[0]
                new_shape = graph.type_of(cur).shape
                if len([d for d in new_shape if d != 1]) != len(cur_seq):
                    break  # the view merges or splits non-unit axes
                it = iter(cur_seq)
                labels = [next(it) if d != 1 else -1 for d in new_shape]
                continue
            if isinstance(nxt.op, O.Transpose):
                p2 = _perm(nxt, graph)
                in_shape = graph.type_of(nxt.inputs[0]).shape
                if len(labels) != len(in_shape):
                    break
                final = _order(tuple(in_shape[p] for p in p2), [labels[p] for p in p2])
                if final == seq:
                    out.update((t1.name, nxt.name))
            break
    return out


# ---------------------------------------------------------------------------------------------------------------
# The transposes the TFLite export writes and the passes Vela 5.2.0 runs them in.
#
# The exporter stores 4-D maps NHWC and keeps the ONNX element order of a Reshape/Flatten with TRANSPOSEs
# (cnncc/frontend/tflite/writer_move.py): a 4-D input with more than one spatial position is moved to NCHW order
# first, a 4-D output with more than one spatial position back to NHWC after the RESHAPE; an IR Transpose is one
# TRANSPOSE of the stored tensors. Vela then (Regor's graph optimiser, read in hapv3/neural-compiler; our own
# formulation, checked against Vela's per-op rows on generated nets, tests/ethos_u65/test_transposes.py):
#  - merges a transpose into the next one when only reshapes that keep the non-unit axes lie between
#    (MergeTransposes, CanonicaliseReshapeTransposePattern); a reshape that merges or splits axes ends the chain;
#  - drops one that keeps the order of the non-unit axes (RewriteIdentityTranspose);
#  - runs a swap of two of the H/W/C axes (NWHC, NHCW, NCWH) as one NPU transpose; any other permutation has
#    its unit axes removed (RearrangeTranspose) and is run as the swaps of a selection sort of its axes, one NPU
#    transpose each (DecomposeTranspose).
# One NPU transpose pass (a "compound" op in Regor's Ethos-U55/U65 performance model) reads every IFM element and
# writes every OFM element as NHWC maps, in bursts set by the OFM block that Vela's block search picks for the
# *un-transposed* OFM (i.e. the IFM shape, Scheduler::GetOpConfig); its NPU cycles are the slower of reading the
# IFM (bytes on the bus / bytes per cycle + read latency) and writing the OFM (+ write latency), and each memory's
# access cycles are its bytes on the bus / bytes per cycle.
# ---------------------------------------------------------------------------------------------------------------

Shape = tuple[int, ...]
Pass = tuple[tuple[int, int, int], tuple[int, int, int]]  # (IFM, OFM) as (H, W, C) of one NPU transpose


def _stored(shape: Shape) -> Shape:
    """The shape the TFLite export stores an IR tensor in (4-D maps NHWC)."""
    return (shape[0], shape[2], shape[3], shape[1]) if len(shape) == 4 else tuple(shape)


def _spatial(shape: Shape) -> bool:
    return len(shape) == 4 and shape[2] * shape[3] > 1


def exported_moves(graph: Graph, layer: Layer) -> list[tuple[str, Shape, tuple[int, ...]]]:
    """The stored-tensor operations the export writes for a Reshape/Flatten/Transpose layer, in order:
    ("t", input shape, perm) for a TRANSPOSE, ("r", input shape, output shape) for a RESHAPE."""
    from cnncc.frontend.tflite.writer_move import nhwc_flatten, nhwc_flatten_source

    s_in, s_out = graph.type_of(layer.inputs[0]).shape, graph.type_of(layer.outputs[0]).shape
    if nhwc_flatten(graph, layer):
        return []  # written as part of its reader's RESHAPE
    flat = nhwc_flatten_source(graph, layer)
    if flat is not None:
        return [("r", _stored(graph.type_of(flat).shape), _stored(s_out))]
    if isinstance(layer.op, O.Transpose):
        perm = layer.op.perm or tuple(reversed(range(len(s_in))))
        o = (0, 2, 3, 1) if len(s_out) == 4 else tuple(range(len(s_out)))
        m = (0, 3, 1, 2) if len(s_in) == 4 else tuple(range(len(s_in)))
        return [("t", _stored(s_in), tuple(m[perm[o[i]]] for i in range(len(s_out))))]
    if not isinstance(layer.op, (O.Reshape, O.Flatten)):
        return []
    from types import SimpleNamespace

    from cnncc.frontend.tflite.writer_move import _fc_only_flatten

    if _fc_only_flatten(SimpleNamespace(g=graph), layer, s_in, s_out):
        return [("r", _stored(s_in), _stored(s_out))]
    moves: list[tuple[str, Shape, tuple[int, ...]]] = []
    cur = _stored(s_in)
    if _spatial(s_in):
        moves.append(("t", cur, (0, 3, 1, 2)))
        cur = tuple(s_in)
    if _spatial(s_out):
        moves += [("r", cur, tuple(s_out)), ("t", tuple(s_out), (0, 2, 3, 1))]
    else:
        moves.append(("r", cur, _stored(s_out)))
    return moves


def _squeezed(shape: Shape) -> Shape:
    return tuple(d for d in shape if d != 1)


def _swap(shape: Shape, a: int, b: int) -> Shape:
    s = list(shape)
    s[a], s[b] = s[b], s[a]
    return tuple(s)


def _hwc3(shape: Shape) -> tuple[int, int, int]:
    s = (1,) * (3 - len(shape)) + tuple(shape)
    return (s[0], s[1], s[2])


def decompose(shape: Shape, perm: tuple[int, ...]) -> list[Pass] | None:
    """The NPU transpose passes of a transpose of a stored tensor ``shape`` by ``perm`` (see the notes above): []
    when it moves no data, None when more than three axes of more than one element take part (not modelled)."""
    labels = list(range(len(shape)))
    moved = [labels[p] for p in perm]
    if _order(tuple(shape[p] for p in perm), moved) == _order(shape, labels):
        return []
    pad = max(0, 4 - len(shape))
    s4 = (1,) * pad + tuple(shape)
    p4 = tuple(range(pad)) + tuple(p + pad for p in perm)
    if len(s4) == 4 and s4[0] == 1 and p4[0] == 0:
        fixed = [k for k in (1, 2, 3) if p4[k] == k]
        if len(fixed) == 1:  # a swap of two of H, W, C: natively one pass
            return [(_hwc3(s4[1:]), _hwc3(tuple(s4[p] for p in p4[1:])))]
    # unit axes removed, then the swaps of a selection sort of the remaining axes
    keep = [k for k, d in enumerate(shape) if d != 1]
    if len(keep) > 3:
        return None
    sq = tuple(shape[k] for k in keep)
    rank = {k: i for i, k in enumerate(keep)}
    sperm = [rank[p] for p in perm if p in rank]
    pad = 3 - len(sq)
    cur = (1,) * pad + sq
    order = [0] * 3
    full = list(range(pad)) + [p + pad for p in sperm]
    for out_pos, src in enumerate(full):
        order[src] = out_pos
    passes: list[Pass] = []
    for axis in range(3):
        if order[axis] == axis:
            continue
        i = next(j for j in range(axis + 1, 3) if order[j] == axis)
        nxt = _swap(cur, axis, i)
        passes.append((_hwc3(cur), _hwc3(nxt)))
        cur = nxt
        order[axis], order[i] = order[i], order[axis]
    return passes


def _flush(state) -> list[Pass] | None:
    """The passes of the carried transpose ``state`` (source shape, labels of the current axes, current shape):
    the source axis each current axis holds, None for a unit axis a reshape brought in."""
    s0, labels, cur = state
    if None not in labels and len(labels) == len(s0) and sorted(labels) == list(range(len(s0))):
        return decompose(s0, tuple(labels))
    keep = [k for k, d in enumerate(s0) if d != 1]
    rank = {k: i for i, k in enumerate(keep)}
    order = [rank[lab] for lab, d in zip(labels, cur) if d != 1]
    return decompose(tuple(s0[k] for k in keep), tuple(order))


def vela_transposes(graph: Graph) -> dict[str, list[Pass] | None]:
    """Every Reshape/Flatten/Transpose layer -> the NPU transpose passes Vela runs for it once the exporter's
    transposes are merged and the no-op ones dropped (see the notes above). A chain of such layers carries its
    transposes to the layer where the chain ends (Vela names the merged op after its output): the layers before
    map to []; None: not modelled (more than three non-unit axes move)."""
    out: dict[str, list[Pass] | None] = {}
    carried: dict[str, tuple] = {}  # tensor -> (source shape, labels of the current axes, current shape)
    for layer in graph.layers:
        moves = exported_moves(graph, layer)
        if not moves:
            if isinstance(layer.op, O.Transpose):  # not in the export (its reader's RESHAPE reads the map)
                out[layer.name] = []
            continue
        state = carried.pop(layer.inputs[0], None)
        if state is None:
            first = moves[0][1]
            state = (first, list(range(len(first))), first)
        passes: list[Pass] | None = []
        for kind, shape, arg in moves:
            s0, labels, cur = state
            if kind == "t":
                state = (s0, [labels[p] for p in arg], tuple(cur[p] for p in arg))
            elif _squeezed(shape) == _squeezed(arg):
                # a reshape of unit axes only: the non-unit axes keep their labels, in order
                it = iter(lab for lab, d in zip(labels, cur) if d != 1)
                state = (s0, [next(it) if d != 1 else None for d in arg], tuple(arg))
            else:
                got = _flush(state)
                passes = None if got is None or passes is None else passes + got
                state = (tuple(arg), list(range(len(arg))), tuple(arg))
        o = layer.outputs[0]
        cons = graph.consumers(o)
        if len(cons) == 1 and o not in graph.outputs and exported_moves(graph, cons[0]):
            carried[o] = state
        else:
            got = _flush(state)
            passes = None if got is None or passes is None else passes + got
        out[layer.name] = passes
    return out


def pass_cycles(ifm: tuple[int, int, int], ofm: tuple[int, int, int], arch, src: str, dst: str
                ) -> tuple[int, dict[str, float]]:
    """(NPU cycles, access cycles per memory) of one NPU transpose pass of an int8 (H, W, C) map ``ifm`` read from
    ``src`` into ``ofm`` written to ``dst`` (see the notes above; Regor's EthosU55Performance for compound ops)."""
    from cnncc.backends.ethos_u65.blocks import NpuOp, find_block_config
    from cnncc.backends.ethos_u65.cycles import transfer_bytes

    cfg = find_block_config(NpuOp("transpose", ifm, ifm), arch)
    n = ifm[0] * ifm[1] * ifm[2]
    rd = transfer_bytes(arch, True, src, "NHWC", cfg.ifm, ifm, n)
    wr = transfer_bytes(arch, False, dst, "NHWC", cfg.ofm, ofm, n)
    ms, md = arch.mem(src), arch.mem(dst)
    npu = max(int(rd / ms.bytes_per_cycle) + ms.read_latency, int(wr / md.bytes_per_cycle) + md.write_latency)
    acc: dict[str, float] = {}
    acc[src] = acc.get(src, 0.0) + rd / ms.bytes_per_cycle
    acc[dst] = acc.get(dst, 0.0) + wr / md.bytes_per_cycle
    return npu, acc


def cost_passes(passes: list[Pass], arch, src: str, dst: str):
    """OpCost of a layer's NPU transpose passes (:func:`vela_transposes`): the first reads ``src``, the last writes
    ``dst``; the maps between live where the output does. Each pass costs the larger of its NPU and access cycles
    (Vela's op cycles); the layer is their sum."""
    from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM
    from cnncc.backends.ethos_u65.opcost import OpCost

    acc = {SRAM: 0, OFFCHIP: 0}
    rd = {SRAM: 0, OFFCHIP: 0}
    wr = {SRAM: 0, OFFCHIP: 0}
    npu = cycles = 0
    for k, (ifm, ofm) in enumerate(passes):
        a, b = (src if k == 0 else dst), dst
        p_npu, p_acc = pass_cycles(ifm, ofm, arch, a, b)
        npu += p_npu
        cycles += max([p_npu] + [int(v) for v in p_acc.values()])
        for m, v in p_acc.items():
            acc[m] += int(v)
        n = ifm[0] * ifm[1] * ifm[2]
        rd[a] += n
        wr[b] += n
    if not passes:
        return OpCost("none", 0, 0, 0, 0, acc, {}, {}, 0, "none", None, "", "moves no data")
    bound = "sram" if max(acc.values()) >= npu else "compute"
    return OpCost("npu", 0, npu, 0, 0, acc, rd, wr, cycles, bound, None, "",
                  elements=(rd[src], 0, wr[dst]))


def with_exported_transposes(graph: Graph, lowered: list) -> list:
    """``lowered`` (one Lowered per layer of ``graph``) with every Reshape/Flatten/Transpose layer as Vela runs
    its exported transposes (:func:`vela_transposes`): TRANSPOSE when it runs passes of its own, FREE when it moves
    no data or its transposes merge into a later layer's; a layer Vela's passes are not modelled for keeps its
    lowering."""
    from dataclasses import replace

    from cnncc.backends.ethos_u65.lower import FREE, TRANSPOSE, hwc

    out = list(lowered)
    moves = vela_transposes(graph)
    for k, layer in enumerate(graph.layers):
        passes = moves.get(layer.name, None)
        if passes is None or out[k].kind not in (FREE, TRANSPOSE) or layer.name not in moves:
            continue
        if passes:
            out[k] = replace(out[k], kind=TRANSPOSE, ifm=hwc(graph.type_of(layer.inputs[0]).shape),
                             reason=f"{len(passes)} NPU transpose pass(es)")
        else:
            out[k] = replace(out[k], kind=FREE, reason="the exported transposes move no data here")
    return out

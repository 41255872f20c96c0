"""Data-movement layers on Ethos-U65 (Concat, Slice, Split, Pad) as Vela 5.2.0 runs them.

Vela lowers a Concat to one MemoryCopy per input into the concatenated map, except that an NPU op whose only
consumer is the Concat writes straight into its slot (for a channel Concat only at a 16-channel brick boundary).
A Slice (or Split output) that feeds Concats is folded into those copies (the copy reads the sub-box); one whose
every reader is an NPU op that can read the sub-box itself, or a Concat's copy, costs no copy (moved_to_consumers); a
Concat input that needs the export's requantisation is a copy too, never written in place (requant.py); any
other Slice is a MemoryCopy of its output. A Pad is a copy into the padded map. Vela's rows for the copies are named
after the Concat's output tensor, so the copies' cost is reported on the Concat layer.

A MemoryCopy is an NPU 1×1 pooling pass (measured: cycles = 16 per micro-block of MAC time × blocks + 0.25
AO cycles per element of one block + one IFM and OFM block transfer; 4×4×64 → 960, 2×2×512 → 1,280 cycles).
"""

from __future__ import annotations

import math

from cnncc.backends.ethos_u65.blocks import CONV, DEPTHWISE, ELEMENTWISE, POOL, VECTOR, NpuOp
from cnncc.backends.ethos_u65.config import U65Config
from cnncc.backends.ethos_u65.lower import hwc
from cnncc.backends.ethos_u65.requant import requantised_input
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

COMPUTE = (CONV, DEPTHWISE, VECTOR, POOL, ELEMENTWISE, "fused")  # a fused activation writes as its producer


def copy_op(shape: tuple[int, int, int], mems: tuple[str, str], fmts: tuple[str, str]) -> NpuOp:
    """The NPU op of one MemoryCopy of an (H, W, C) box from ``mems[0]``/``fmts[0]`` to ``mems[1]``/``fmts[1]``."""
    return NpuOp(POOL, shape, shape, (1, 1), ao_kind="conv", ifm_fmt=fmts[0], ofm_fmt=fmts[1], ifm_mem=mems[0],
                 ifm2_mem=mems[0], ofm_mem=mems[1])


def folded_into_concat(graph: Graph, layer: Layer) -> bool:
    """A Slice/Split whose every output feeds only Concats: Vela folds it into the Concat's copies."""
    if not isinstance(layer.op, (O.Slice, O.Split)):
        return False
    return all(graph.consumers(o) and all(isinstance(c.op, O.Concat) for c in graph.consumers(o))
               and o not in graph.outputs for o in layer.outputs)


#: NPU op classes that can read their IFM (a binary elementwise op also its IFM2) as a sub-box of a larger map
READS_SUB_BOX = (CONV, DEPTHWISE, VECTOR, POOL, ELEMENTWISE, "mean")


def _readers(graph: Graph, t: str, kinds: dict[str, str]) -> list[tuple[Layer, str]] | None:
    """The ops reading ``t`` once the views between are gone (Vela removes reshapes and cancelling transposes
    before it moves slices): [(reader, the tensor it reads)]; None when ``t`` or a view of it is a graph output."""
    out: list[tuple[Layer, str]] = []
    for c in graph.consumers(t):
        if t in graph.outputs:
            return None
        if kinds.get(c.name) == "free" and not isinstance(c.op, O.Concat):
            sub = _readers(graph, c.outputs[0], kinds)
            if sub is None:
                return None
            out += sub
        else:
            out.append((c, t))
    return None if t in graph.outputs else out


def moved_to_consumers(graph: Graph, layer: Layer, index: int, kinds: dict[str, str]) -> bool:
    """Does Vela drop the MemoryCopy of output ``index`` of a Slice/Split because every reader reads the sub-box
    itself? (Regor's MoveSplitSliceToConsumer, our formulation: each reader is an NPU op of a class in
    READS_SUB_BOX that reads the slice, through views only, as its IFM — or IFM2 of a binary elementwise op —
    with the same shape, or a Concat (its MemoryCopy or requantising Quantize reads the sub-box; measured with
    Vela 5.2.0 on Split -> conv / Add / Concat blocks, tests/ethos_u65/test_requant.py); a reader that is itself a
    copy with an offset (another Slice) or a host op keeps the copy.)"""
    if not isinstance(layer.op, (O.Slice, O.Split)):
        return False
    return readers_take_sub_box(graph, layer.outputs[index], kinds)


def readers_take_sub_box(graph: Graph, o: str, kinds: dict[str, str]) -> bool:
    """Does every reader of ``o`` (through views) read it as a sub-box of a larger map itself (the rule of
    :func:`moved_to_consumers`)?"""
    readers = _readers(graph, o, kinds)
    if not readers:
        return False
    shape = [d for d in graph.type_of(o).shape if d != 1]
    for r, t in readers:
        acts = [x for x in r.inputs if not graph.is_weight(x)]
        slot = acts.index(t) if t in acts else -1
        binary = kinds.get(r.name) == ELEMENTWISE and len(acts) == 2
        if [d for d in graph.type_of(t).shape if d != 1] != shape:
            return False
        if isinstance(r.op, O.Concat):
            continue  # the Concat's copy (or the export's QUANTIZE into it, requant.py) reads the sub-box
        if kinds.get(r.name) not in READS_SUB_BOX or not (slot == 0 or (slot == 1 and binary)):
            return False
    return True


def written_in_place(graph: Graph, concat: Layer, index: int, kinds: dict[str, str]) -> bool:
    """Does input ``index`` of ``concat`` get written straight into the concatenated map by its producer? (Regor's
    MoveConcatSliceToProducer: the producer is an NPU op, the input has the Concat as its only reader and is no graph
    input or output; a channel offset that is not a multiple of 16 makes the concatenated map NHWC instead.)"""
    t = concat.inputs[index]
    prod = graph.producer(t)
    if isinstance(concat.op, O.Concat) and requantised_input(graph, concat, index):
        return False  # the export's QUANTIZE writes it there, run by Vela as a copy with a rescale (requant.py)
    return not (prod is None or kinds.get(prod.name) not in COMPUTE or len(graph.consumers(t)) != 1
                or t in graph.outputs)


def misaligned_concat(graph: Graph, concat: Layer) -> bool:
    """A channel Concat with an input offset that is not a multiple of 16 (its map cannot be NHCWB16)."""
    assert isinstance(concat.op, O.Concat)
    shape = graph.type_of(concat.outputs[0]).shape
    if len(shape) != 4 or concat.op.axis % 4 != 1:
        return False
    offs, off = [], 0
    for x in concat.inputs:
        offs.append(off)
        off += graph.type_of(x).shape[1]
    return any(o % 16 for o in offs)


def copies(graph: Graph, layer: Layer, kinds: dict[str, str]) -> list[tuple[tuple[int, int, int], str]]:
    """The MemoryCopies a data-movement layer costs: [(box (H, W, C), source tensor)] (source: the map read), in the
    order Vela creates them; the first one is the one that runs last before the layer's reader (Regor's traversal
    from the graph end takes a tensor's writers last-created first)."""
    op = layer.op
    if isinstance(op, O.Concat):
        out = []
        for i, t in enumerate(layer.inputs):
            if written_in_place(graph, layer, i, kinds):
                continue
            prod = graph.producer(t)
            src = prod.inputs[0] if prod is not None and folded_into_concat(graph, prod) else t
            out.append((hwc(graph.type_of(t).shape), src))
        return out
    if isinstance(op, (O.Slice, O.Split)):
        if folded_into_concat(graph, layer):
            return []
        return [(hwc(graph.type_of(o).shape), layer.inputs[0]) for k, o in enumerate(layer.outputs)
                if not moved_to_consumers(graph, layer, k, kinds)]
    if isinstance(op, O.Pad):
        return pad_copies(graph, layer, kinds)
    if isinstance(op, (O.Reshape, O.Flatten)) and kinds.get(layer.name) == "memcopy":  # reshape_copy
        src = reshaped_map(graph, layer)
        return [(hwc(graph.type_of(src).shape), src)]
    return []


def reshaped_map(graph: Graph, layer: Layer) -> str:
    """The stored map a Reshape/Flatten's export reads: its input, or the map a Transpose to NHWC order in front of
    it reads (the pair is one RESHAPE, writer_move.nhwc_flatten)."""
    from cnncc.frontend.tflite.writer_move import nhwc_flatten_source

    return nhwc_flatten_source(graph, layer) or layer.inputs[0]


def reshape_copy(graph: Graph, layer: Layer) -> bool:
    """Does Vela copy the map a Reshape/Flatten reads? Regor's RemoveReshape inserts a MemoryCopy after the input
    when the input has other readers and another shape than the output (the reshape then aliases the copy):
    measured with Vela 5.2.0 on conv -> Flatten -> FC beside a second conv reading the same map (1×1 and 4×4
    maps: a MemoryCopy row of the map's size). Only where the export writes a plain RESHAPE (no TRANSPOSE: a
    transpose would be the single reader) of an NPU op's output."""
    from cnncc.backends.ethos_u65.transposes import exported_moves

    if not isinstance(layer.op, (O.Reshape, O.Flatten)):
        return False
    src = reshaped_map(graph, layer)
    prod = graph.producer(src)
    if prod is None or graph.is_weight(src) or isinstance(prod.op, (O.Reshape, O.Flatten, O.Transpose, O.Identity)):
        return False
    if len(graph.consumers(src)) < 2 or graph.type_of(src).shape == graph.type_of(layer.outputs[0]).shape:
        return False
    return not any(m[0] == "t" for m in exported_moves(graph, layer))


def with_reshape_copies(graph: Graph, lowered: list) -> list:
    """``lowered`` with each free Reshape/Flatten that Vela runs as a MemoryCopy (:func:`reshape_copy`) a copy."""
    from dataclasses import replace

    from cnncc.backends.ethos_u65.lower import FREE, MEMCOPY

    return [replace(lw, kind=MEMCOPY, ifm=hwc(graph.type_of(reshaped_map(graph, layer)).shape),
                    reason="Vela copies a reshaped map another op reads (RemoveReshape)")
            if lw.kind == FREE and reshape_copy(graph, layer) else lw
            for layer, lw in zip(graph.layers, lowered)]


CONST = ""  # the source of a copy that reads a constant (the zero border of a Pad)


def pad_copies(graph: Graph, layer: Layer, kinds: dict[str, str]) -> list[tuple[tuple[int, int, int], str]]:
    """Vela's constant Pad (Regor's RewritePad): the border is filled by copies of a zero constant — the top and
    bottom rows across the padded width, then the left and right columns down the padded height — and the producer
    writes into the interior of the padded map (as into a Concat's), else one last copy moves the input there. The
    copies are listed in the order Vela creates them (it runs them in the reverse order: the first one created runs
    last, just before the padded map's reader)."""
    assert isinstance(layer.op, O.Pad)
    shape = graph.type_of(layer.inputs[0]).shape
    oh, ow, c = hwc(graph.type_of(layer.outputs[0]).shape)
    pads = any(layer.op.pads)  # a Pad of nothing stays a full copy (Vela moves only copies into a sub-box)
    out: list[tuple[tuple[int, int, int], str]] = []
    if len(shape) == 4:
        p = layer.op.pads
        top, left, bottom, right = p[2], p[3], p[6], p[7]
        for rows in (top, bottom):
            if rows > 0:
                out.append(((rows, ow, c), CONST))
        for cols in (left, right):
            if cols > 0:
                out.append(((oh, cols, c), CONST))
    if not (pads and written_in_place(graph, layer, 0, kinds)):
        out.append((hwc(shape), layer.inputs[0]))
    return out


def copy_bytes(box: tuple[int, int, int]) -> int:
    """Bytes of one copied box (int8)."""
    return int(math.prod(box))


__all__ = ["copy_op", "copies", "reshaped_map", "reshape_copy", "with_reshape_copies", "folded_into_concat",
           "moved_to_consumers", "written_in_place", "misaligned_concat", "copy_bytes", "pad_copies", "CONST",
           "U65Config"]

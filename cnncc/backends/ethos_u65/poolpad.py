"""A pool with padding TFLite pools cannot express, as cnncc's exporter writes it and Vela 5.2.0 runs it.

TFLite pools pad only SAME (the window skips what lies outside). Any other padding of an ONNX MaxPool/AveragePool
(explicit pads, ``ceil_mode``'s overhang at the bottom/right, ``count_include_pad``) is written as an explicit pad
and a VALID pool (cnncc/frontend/tflite/writer_pool.py, whose decision :func:`exported_padding` reads back):

* a MIRROR_PAD SYMMETRIC (a MaxPool whose mirrored values all lie inside the windows they land in; a MaxPool on a
  map that may be negative as edge steps of width ≤ 1, one MIRROR_PAD each). Vela (Regor's ``ConvertMirrorPad``,
  read in the public fork hapv3/neural-compiler e4b56335) runs one as MemoryCopies into a padded map it keeps
  linear (NHWC: the border copies write with a negative stride): the input into the interior, then for each padded
  side a copy of the rows (top, bottom: read from the input, reversed along H) or columns (left, right: read from
  the padded map itself, the whole padded height, reversed along W) it mirrors. The copy into the interior is
  folded into the input's producer (``MoveConcatSliceToProducer``) when it is the input's only reader: an NPU
  producer, no top or bottom border;
* a zero PAD (a MaxPool on a map that cannot be negative, any AveragePool). No pool takes a PAD as its own padding
  (Regor's ``ReplacePadByExplicitPadding`` is for convolutions only), so Vela runs it as any PAD (``RewritePad``,
  as datamove.pad_copies): the border filled from a zero constant — top and bottom rows across the padded width,
  left and right columns down the padded height — and the input copied into the interior unless its producer (an
  NPU op, its only reader) writes there itself; the padded map keeps the brick format;
* then the VALID pool on the padded map; an AveragePool whose ONNX divisor is not kh·kw everywhere also a MUL by
  the (OH, OW, 1) constant map of kh·kw / divisor, broadcast over the channels.

The layer is costed as that chain of NPU ops (lower.CHAIN, composite.py), each op by the model's own op rules; the
padded map (and an AveragePool's sum before its MUL) is an intermediate only NPU ops touch: it lives where the
layer's output does (off-chip while Vela schedules with an off-chip arena, in SRAM where its fast-storage allocator
keeps the maps around it), where the input does when the output is a graph output (never moved into SRAM).

Measured with Vela 5.2.0 on MTCNN R-Net's ceil-mode 3×3/2 MaxPool (22×22×28 -> 23×23×28 NHWC, u65-256
Client_Server): copies 8,004 + 850 + 940 and the pool 7,190 cycles, as Vela's rows; generated conv -> pool nets
(tests/ethos_u65/poolnet.py) are checked against Vela at test time (tests/ethos_u65/test_pool_vela.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from cnncc.backends.ethos_u65.blocks import ELEMENTWISE, POOL, NpuOp
from cnncc.backends.ethos_u65.config import U65Config
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

MIRROR, ZERO = "mirror", "zero"


@dataclass(frozen=True)
class PoolPadding:
    """The explicit padding the exporter writes before a VALID pool: ``steps``, each (MIRROR or ZERO, (top, left,
    bottom, right)) in order; ``correction``: an AveragePool's divisor fix is a MUL after the pool."""

    steps: tuple[tuple[str, tuple[int, int, int, int]], ...]
    correction: bool = False


def exported_padding(graph: Graph, layer: Layer) -> PoolPadding | None:
    """The padding cnncc's TFLite exporter writes as ops of their own before ``layer``'s pool, or None when the
    pool is VALID or SAME (the exporter's decision, writer_pool.pool, read through its own helpers)."""
    from cnncc.frontend.tflite import writer_pool as wp

    op = layer.op
    if not isinstance(op, (O.MaxPool, O.AveragePool)) or op.dilations != (1, 1):
        return None
    shape = graph.type_of(layer.inputs[0]).shape
    if len(shape) != 4:
        return None
    _, _, h, w = shape
    _, _, oy, ox = graph.type_of(layer.outputs[0]).shape
    pads = wp.effective_pads(op, h, w)
    if not any(pads):
        return None
    ex = cast(Any, SimpleNamespace(g=graph))  # the exporter's helpers read only its graph
    avg = op if isinstance(op, O.AveragePool) else None
    if (avg is None or not avg.count_include_pad) and wp._is_same(ex, layer, op, pads) and not op.ceil_mode:
        return None
    t, left, b, r = pads
    if avg is not None:
        return PoolPadding(((ZERO, pads),), wp._avg_correction(avg, h, w, oy, ox) is not None)
    if wp._mirror_exact(h, t, b, op.kernel[0], op.strides[0], oy) and \
            wp._mirror_exact(w, left, r, op.kernel[1], op.strides[1], ox):
        return PoolPadding(((MIRROR, pads),))
    if wp._non_negative(ex, layer.inputs[0]):
        return PoolPadding(((ZERO, pads),))
    steps: list[tuple[str, tuple[int, int, int, int]]] = []
    while any((t, left, b, r)):  # edge replication: width-1 SYMMETRIC steps
        one = (min(1, t), min(1, left), min(1, b), min(1, r))
        steps.append((MIRROR, one))
        t, left, b, r = t - one[0], left - one[1], b - one[2], r - one[3]
    return PoolPadding(tuple(steps))


def _copy(box: tuple[int, int, int], mems: tuple[str, str], fmts: tuple[str, str]) -> NpuOp:
    from cnncc.backends.ethos_u65.datamove import copy_op

    return copy_op(box, mems, fmts)


def _producer_writes_in_place(graph: Graph, layer: Layer) -> bool:
    """Does the pool input's producer write straight into the padded map? Regor's ``MoveConcatSliceToProducer``
    folds a pad's copy of the input into the interior into the op producing it when that op is an NPU op (a
    chain's last op too) and the copy is the input's only reader: no graph input or output, no other layer reading
    it, and no border copy reading it (a mirrored top/bottom border reads the input; the caller checks that)."""
    from cnncc.backends.ethos_u65.datamove import COMPUTE
    from cnncc.backends.ethos_u65.lower import CHAIN, lower

    t = layer.inputs[0]
    prod = graph.producer(t)
    if prod is None or t in graph.outputs or len(graph.consumers(t)) != 1:
        return False
    return lower(graph, prod).kind in COMPUTE + (CHAIN,)


def chain(graph: Graph, layer: Layer, arch: U65Config, src: str, out_mem: str, fmts: tuple[str, str]
          ) -> list[NpuOp]:
    """The NPU ops of a pool whose padding :func:`exported_padding` gives, in Vela's order of creation (module doc);
    ``src``/``out_mem``: the memories of the layer's input and output, ``fmts`` their formats."""
    from cnncc.backends.ethos_u65.lower import hwc

    pp = exported_padding(graph, layer)
    assert pp is not None, layer.name
    op = layer.op
    assert isinstance(op, (O.MaxPool, O.AveragePool))
    cur, mem, fmt = hwc(graph.type_of(layer.inputs[0]).shape), src, fmts[0]
    c = cur[2]
    # the padded map is an intermediate only NPU ops touch: where the output is (off-chip as Vela schedules, in SRAM
    # when its fast-storage allocator keeps the maps around it), where the input is when the output is a graph
    # output (which never moves into SRAM)
    dst = src if layer.outputs[0] in graph.outputs else out_mem
    ops: list[NpuOp] = []
    for kind, (t, left, b, r) in pp.steps:
        ph, pw = cur[0] + t + b, cur[1] + left + r
        if kind == MIRROR:
            out = "NHWC"
            if not (mem == src and not (t or b) and _producer_writes_in_place(graph, layer)):
                ops.append(_copy(cur, (mem, dst), (fmt, out)))
            ops += [_copy((rows, cur[1], c), (mem, dst), (fmt, out)) for rows in (t, b) if rows]
            ops += [_copy((ph, cols, c), (dst, dst), (out, out)) for cols in (left, r) if cols]
        else:
            out = "NHCWB16"
            const = (arch.const_mem, dst)
            ops += [_copy((rows, pw, c), const, ("NHWC", out)) for rows in (t, b) if rows]
            ops += [_copy((ph, cols, c), const, ("NHWC", out)) for cols in (left, r) if cols]
            if not (mem == src and _producer_writes_in_place(graph, layer)):
                ops.append(_copy(cur, (mem, dst), (fmt, out)))
        cur, mem, fmt = (ph, pw, c), dst, out
    ofm = hwc(graph.type_of(layer.outputs[0]).shape)
    # Vela's kernel normalisation (lower.reset_kernel): no stride along a one-element OFM axis
    stride = (1 if ofm[0] == 1 else op.strides[0], 1 if ofm[1] == 1 else op.strides[1])
    mid = dst
    ops.append(NpuOp(POOL, cur, ofm, op.kernel, stride, ao_kind="maxpool" if isinstance(op, O.MaxPool) else "conv",
                     ifm_fmt=fmt, ofm_fmt="NHCWB16" if pp.correction else fmts[1], ifm_mem=mem, ifm2_mem=mem,
                     ofm_mem=mid if pp.correction else out_mem))
    if pp.correction:  # the divisor fix: a MUL by the (OH, OW, 1) constant, stored linear
        ops.append(NpuOp(ELEMENTWISE, ofm, ofm, ifm2=(ofm[0], ofm[1], 1), ao_kind="mul", ifm_fmt="NHCWB16",
                         ofm_fmt=fmts[1], ifm_mem=mid, ifm2_mem=arch.const_mem, ofm_mem=out_mem, ifm2_fmt="NHWC"))
    return ops

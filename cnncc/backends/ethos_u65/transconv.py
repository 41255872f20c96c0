"""ConvTranspose on the NPU as Vela 5.2.0 runs it: a Conv2D of stride 1 over an IFM the hardware upscales with zeros.

The rule (Regor's TFLite supported-operator checks for Ethos-U55/U65, ``RewriteTransposeConvPadding`` and
``LegaliseTransposeConv2D``, read in the public fork hapv3/neural-compiler; our own formulation, checked against
Vela's per-op rows): a TRANSPOSE_CONV of stride 1 or 2 per axis (stride 2 along one axis only where the IFM and
the kernel are one element along the other), SAME padding with OFM = IFM × stride, or VALID with OFM = IFM ×
stride + max(kernel − stride, 0), runs as a Conv2D with the kernel reversed in H and W, stride 1, and — for a
stride of 2 — the IFM zero-upscaled ×2 by the hardware (``NpuOp.resample = "zeros"``: each IFM block is fed from
half the rows and columns). MACs are kernel × OFM × IFM depth (Vela's count), the weights are the layer's own,
encoded as that Conv2D's; an activation after it fuses as into any conv. Vela does not cascade it.

The TFLite export (cnncc/frontend/tflite/writer_ops.py) writes groups = 1, dilation 1 and constant weights only;
an ONNX crop that is not TFLite's SAME becomes VALID to the full map then a SLICE: the conv is costed on the full
map, the SLICE as Vela runs it (:func:`crop_copy`: nothing when every reader reads the window as a sub-box, else a
MemoryCopy of the window; an activation after it then runs apart, actsplit.packs). Anything else stays on the host
CPU, with the reason.

Measured against Vela 5.2.0 (u65-256 Client_Server, PP-OCRv4 det's 2×2 stride-2 ConvTransposes): block configs
(OFM 16×10×24 / IFM 10×6×16, OFM 22×22×8 / IFM 12×12×16) as Vela's, NPU cycles within 0.2 %.
"""

from __future__ import annotations

import math

import numpy as np

from cnncc.backends.ethos_u65.blocks import CONV
from cnncc.backends.ethos_u65.lower import CPU, Lowered, act_kind, hwc
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer


def vela_refusal(ifm: tuple[int, int], out: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                 padding: str) -> str:
    """Why Vela keeps a TRANSPOSE_CONV of an (H, W) ``ifm`` writing ``out`` off the NPU ("" when it runs it)."""
    sh, sw = stride
    if not (1 <= sh <= 2 and 1 <= sw <= 2):
        return f"Vela runs TransposeConv strides 1 and 2 only (got {stride})"
    if (sh, sw) == (1, 2) and not (ifm[1] == 1 and kernel[1] == 1):
        return "Vela runs stride (1, 2) only on a 1-wide IFM with a 1-wide kernel"
    if (sh, sw) == (2, 1) and not (ifm[0] == 1 and kernel[0] == 1):
        return "Vela runs stride (2, 1) only on a 1-high IFM with a 1-high kernel"
    want = (ifm[0] * sh, ifm[1] * sw)
    if padding == "VALID":
        want = (want[0] + max(kernel[0] - sh, 0), want[1] + max(kernel[1] - sw, 0))
    if out != want:
        return f"Vela needs a {padding} TransposeConv output of {want} (got {out})"
    return ""


def lower_transconv(graph: Graph, layer: Layer) -> Lowered:
    """The Ethos-U view of an IR ConvTranspose: the Conv2D Vela runs (see module doc), or CPU with the reason."""
    from cnncc.backends.ethos_u65.weights import codes_for, encoded_ratio

    op = layer.op
    assert isinstance(op, O.ConvTranspose)
    ishape = graph.type_of(layer.inputs[0]).shape
    ifm, ofm = hwc(ishape), hwc(graph.type_of(layer.outputs[0]).shape)
    if len(ishape) != 4 or op.groups != 1 or op.dilations != (1, 1) or not graph.is_weight(layer.inputs[1]):
        return Lowered(CPU, ifm=ifm, ofm=ofm, reason="ConvTranspose with groups, dilation or non-constant weights "
                                                      "has no TFLite export")
    from cnncc.frontend.tflite.writer_ops import transpose_conv_layout

    layout = transpose_conv_layout(op, ifm[:2], ofm[:2])
    if layout is None:
        return Lowered(CPU, ifm=ifm, ofm=ofm, reason="the TFLite export refuses its pads / output_padding")
    out, padding = layout
    why = vela_refusal(ifm[:2], out, op.kernel, op.strides, padding)
    if why:
        return Lowered(CPU, ifm=ifm, ofm=ofm, reason=why)
    w = np.asarray(graph.weights[layer.inputs[1]])          # [C, K, FY, FX]
    conv = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])  # OIHW, reversed in H and W
    k = conv.shape[0]
    return Lowered(CONV, ifm=ifm, ofm=(out[0], out[1], k), kernel=op.kernel, act=act_kind(op.act),
                   weight_elems=int(math.prod(conv.shape)), out_channels=k,
                   weight_ratio=encoded_ratio(conv, 0) if conv.size else 1.0,
                   codes=codes_for(conv, False, (1, 1), False, 0) if conv.size else None,
                   resample="zeros" if 2 in op.strides else "none")


def crops(graph: Graph, layer: Layer) -> bool:
    """Does the export write this ConvTranspose as a VALID TRANSPOSE_CONV to the full map and a SLICE of the ONNX
    window (writer_ops.transpose_conv_layout)?"""
    if not isinstance(layer.op, O.ConvTranspose) or graph.type_of(layer.inputs[0]).rank != 4:
        return False
    from cnncc.frontend.tflite.writer_ops import transpose_conv_layout

    ifm, ofm = hwc(graph.type_of(layer.inputs[0]).shape), hwc(graph.type_of(layer.outputs[0]).shape)
    layout = transpose_conv_layout(layer.op, ifm[:2], ofm[:2])
    return layout is not None and layout[0] != ofm[:2]


def crop_copy(graph: Graph, layer: Layer, kinds: dict[str, str]) -> tuple[int, int, int] | None:
    """The box of the SLICE's MemoryCopy Vela runs after a cropping ConvTranspose (:func:`crops`), or None: none
    when every reader reads the window as a sub-box itself (Regor's MoveSplitSliceToConsumer,
    datamove.readers_take_sub_box; measured: a 1×1 conv after a 3×3 stride-2 pads-1 output_padding-1
    ConvTranspose costs no copy, a graph output one MemoryCopy of the window)."""
    from cnncc.backends.ethos_u65.datamove import readers_take_sub_box

    if kinds.get(layer.name) != CONV or not crops(graph, layer):
        return None
    o = layer.outputs[0]
    if o not in graph.outputs and readers_take_sub_box(graph, o, kinds):
        return None
    return hwc(graph.type_of(o).shape)


def with_crop_copy(graph: Graph, layer: Layer, kinds: dict[str, str], cost, op, arch, ctx=None):
    """``cost`` of a ConvTranspose (its NpuOp ``op``, weight-buffering context ``ctx``) plus the MemoryCopy of its
    cropped window (:func:`crop_copy`) into the layer's output map. The full map is an intermediate Vela keeps
    in SRAM when it fits the SRAM cache of an off-chip arena: the conv is then costed writing SRAM."""
    box = crop_copy(graph, layer, kinds)
    if box is None:
        return cost
    from dataclasses import replace

    from cnncc.backends.ethos_u65.config import OFFCHIP, SRAM
    from cnncc.backends.ethos_u65.datamove import copy_op
    from cnncc.backends.ethos_u65.opcost import _sum_costs, cost_npu_op

    src, fmt = op.ofm_mem, op.ofm_fmt
    if src == OFFCHIP and arch.arena_mem == OFFCHIP and math.prod(op.ofm) <= arch.cache_bytes:
        src, fmt = SRAM, "NHCWB16"
        cost = cost_npu_op(replace(op, ofm_mem=src, ofm_fmt=fmt), arch, ctx)[0]
    copy = cost_npu_op(copy_op(box, (src, op.ofm_mem), (fmt, op.ofm_fmt)), arch)[0]
    total = _sum_costs([cost, copy])
    return replace(total, block=cost.block, traversal=cost.traversal, wbuf=cost.wbuf, elements=cost.elements)

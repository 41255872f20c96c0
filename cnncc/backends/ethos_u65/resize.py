"""Resize on the NPU as Vela 5.2.0 runs it: ×2 IFM upscaling by the hardware, chained for ×4 and ×8.

Which resizes run on the NPU (Regor's TFLite supported-operator check for Ethos-U55/U65 and its legalisation,
``LegaliseResize``, read in the public fork hapv3/neural-compiler; our own formulation, checked against Vela's
per-op rows): a RESIZE_NEAREST_NEIGHBOR or RESIZE_BILINEAR whose scale factor — OFM / IFM size, or
(OFM − 1) / (IFM − 1) with align_corners — is the same integer 2, 4 or 8 along H and W (an axis of one element may
keep scale 1), half-pixel-centre bilinear only ×2. Vela then writes it as AvgPools whose IFM the hardware upscales
×2 (nearest: every element repeated; ``NpuOp.resample``): log2(factor) − 1 pools of a 1×1 kernel doubling the map,
then the last one — a 1×1 AvgPool for nearest, a factor×factor AvgPool (padded bottom/right unless
align_corners) for bilinear, a factor×factor depthwise convolution picking the centre element for nearest with
align_corners. The intermediate maps of a ×4 / ×8 chain are costed in SRAM.

A resize of a 1×1 map is, whatever the mode and factor, an Add of the map broadcast over a constant of zero points
of the OFM's shape (Regor's RewriteResize; measured: 1×1×16 -> 6×6×16 432 cycles, -> 2×2×16 143, as our elementwise
op with the constant off-chip); a resize to the same size is a MemoryCopy (RewriteIdentityResize: 8×10×16 992
cycles as our copy; fewer than 8 channels: on the map reshaped deeper, 15×10×3 622, ours 628), except with
half-pixel centres (Vela: host CPU).

A half-pixel-centre bilinear ×2 is a reflect pad of one (copies into a linear padded map in SRAM) and four 2×2
depthwise convolutions writing every other OFM row and column (:func:`hpc_ops`; generated 8×10×16 … 40×40×32 maps:
totals 0.91–1.05 of Vela's on u65-256 Client_Server / u55-128, up to 1.20 on u65-512 High_End).

Not modelled (costed on the host CPU): other coordinate transforms the TFLite export does not write.

Measured against Vela 5.2.0 (u65-256 Client_Server, PP-OCRv4 det's nearest ×2 / ×4 / ×8 resizes): the AvgPool
block configs (OFM 14×18×16, IFM 8×10×16) and NPU cycles equal Vela's per op (``tests/ethos_u65/test_resize.py``).
"""

from __future__ import annotations

import math
from dataclasses import replace

from cnncc.backends.ethos_u65.blocks import DEPTHWISE, ELEMENTWISE, POOL, NpuOp
from cnncc.backends.ethos_u65.config import SRAM, U65Config
from cnncc.backends.ethos_u65.lower import CPU, Lowered, hwc
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

#: IR coordinate transforms by the TFLite flags the exporter writes for them: (align_corners, half_pixel_centers)
_FLAGS = {"asymmetric": (False, False), "align_corners": (True, False), "half_pixel": (False, True),
          "pytorch_half_pixel": (False, True), "tf_half_pixel_for_nn": (False, True)}


def vela_factor(ifm: tuple[int, int], ofm: tuple[int, int], mode: str, align: bool, half_pixel: bool
                ) -> tuple[int, str]:
    """(upscale factor, "") when Vela runs the resize of an (H, W) map ``ifm`` to ``ofm`` on the NPU, else
    (0, the reason). ``mode``: nearest | linear; ``align`` / ``half_pixel``: the TFLite flags."""
    (ih, iw), (oh, ow) = ifm, ofm
    if ih == iw == 1:
        return 0, "a resize of a 1×1 map is a broadcasting Add (lower_resize)"
    if (ih, iw) == (oh, ow):
        if half_pixel:
            return 0, "Vela keeps a same-size resize with half-pixel centres on the host CPU"
        return 0, "a resize to the same size is a MemoryCopy (lower_resize)"

    def scale(i: int, o: int) -> float:
        if align:
            return 1.0 if o == 1 else (o - 1) / max(i - 1, 1)
        return o / i

    sh, sw = scale(ih, oh), scale(iw, ow)
    if sh != sw and not ((oh == 1 and sh == 1) or (ow == 1 and sw == 1)):
        return 0, f"Vela needs the same scale along H and W (got {sh:g} and {sw:g})"
    bilinear_hpc = mode == "linear" and half_pixel
    if sh != sw and bilinear_hpc:
        return 0, "Vela needs the same scale along H and W for half-pixel bilinear"
    up = max(sh, sw)
    top = 2 if bilinear_hpc else 8
    if up != int(up) or int(up) not in (2, 4, 8) or up > top:
        return 0, f"Vela runs scale factors 2, 4, 8 (half-pixel bilinear: 2) on the NPU, not {up:g}"
    if (sh == 1 and ih != 1) or (sw == 1 and iw != 1):
        return 0, "scale 1 is only allowed along an axis of one element"
    return int(up), ""


def lower_resize(graph: Graph, layer: Layer) -> Lowered:
    """The Ethos-U view of an IR Resize: its last NPU op (POOL, or DEPTHWISE for nearest with align_corners) with
    ``upscale`` = the whole factor and the IFM as the graph holds it, or CPU with the reason."""
    op = layer.op
    assert isinstance(op, O.Resize)
    ishape, oshape = graph.type_of(layer.inputs[0]).shape, graph.type_of(layer.outputs[0]).shape
    ifm, ofm = hwc(ishape), hwc(oshape)
    if len(ishape) != 4 or op.coord_mode not in _FLAGS:
        return Lowered(CPU, ifm=ifm, ofm=ofm, reason=f"Resize ({op.coord_mode}) has no Ethos-U mapping")
    if ifm[:2] == (1, 1):
        # Regor's RewriteResize: the 1×1 map plus a constant of zero points of the OFM's shape, broadcast
        return Lowered(ELEMENTWISE, ifm=ifm, ifm2=ofm, ofm=ofm, ao_kind="add_sub")
    if ifm[:2] == ofm[:2] and not _FLAGS[op.coord_mode][1]:
        # Regor's RewriteIdentityResize: a MemoryCopy (a 1×1 pooling pass), elementwise-like: a map of few
        # channels runs reshaped deeper (actsplit.py); with half-pixel centres Vela keeps it on the host CPU
        from cnncc.backends.ethos_u65.actsplit import deepened

        deep = deepened(ofm)
        return Lowered(POOL, ifm=deep, ofm=deep, deepened=deep != ofm)
    align, half = _FLAGS[op.coord_mode]
    factor, why = vela_factor(ifm[:2], ofm[:2], op.mode, align, half)
    if not factor:
        return Lowered(CPU, ifm=ifm, ofm=ofm, reason=why)
    if op.mode == "linear" and half:
        return _half_pixel_bilinear(ifm, ofm)
    # an axis of one element keeps scale 1: the last op's kernel spans the factor along the scaled axes only
    fh, fw = (1 if ifm[0] == ofm[0] == 1 else factor), (1 if ifm[1] == ofm[1] == 1 else factor)
    if op.mode == "nearest" and align:
        import numpy as np

        from cnncc.backends.ethos_u65.weights import codes_for

        c = ofm[2]
        w = np.zeros((c, 1, fh, fw), np.int8)
        w[:, 0, fh // 2, fw // 2] = 1
        return Lowered(DEPTHWISE, ifm=ifm, ofm=ofm, kernel=(fh, fw), weight_elems=w.size, out_channels=c,
                       codes=codes_for(w, True, (1, 1), False, 0), resample="nearest", upscale=factor)
    kernel = (fh, fw) if op.mode == "linear" else (1, 1)
    return Lowered(POOL, ifm=ifm, ofm=ofm, kernel=kernel, resample="nearest", upscale=factor)


HPC = "half-pixel bilinear ×2"  # Lowered.reason of a resize costed as hpc_ops


def _half_pixel_bilinear(ifm: tuple[int, int, int], ofm: tuple[int, int, int]) -> Lowered:
    """A half-pixel-centre bilinear ×2 (see hpc_ops): the 2×2 depthwise kernel of the first interleaved phase
    (Regor's coefficients 1, 3, 3, 9 per channel; the four phases permute them, so encode alike)."""
    import numpy as np

    from cnncc.backends.ethos_u65.weights import codes_for

    c = ifm[2]
    w = np.tile(np.array([[1, 3], [3, 9]], np.int8), (c, 1, 1, 1))
    return Lowered(DEPTHWISE, ifm=ifm, ofm=ofm, kernel=(2, 2), weight_elems=w.size, out_channels=c,
                   codes=codes_for(w, True, (1, 1), False, 0), upscale=2, reason=HPC)


def multi_op(lw: Lowered) -> bool:
    """Whether a lowered Resize runs as several NPU ops (:func:`cost_resize`): ×4 / ×8, or half-pixel bilinear."""
    return lw.upscale > 2 or lw.reason == HPC


def hpc_ops(op: NpuOp, arch: U65Config) -> tuple[list[NpuOp], list[NpuOp]]:
    """(the copies, the depthwise ops) of a half-pixel-centre bilinear ×2 of an (H, W, C) map (``op``: the
    resize's lowered depthwise op) as Vela 5.2.0 runs it (Regor's ConvertResizeBilinearHPCToDepthwise, our own
    formulation): the map copied into the interior of an (H + 2) × (W + 2) map in SRAM, its edge rows and columns
    copied around it (a reflect pad of one), then four 2×2 depthwise convolutions over (H + 1) × (W + 1) windows of
    it, each writing every other row and column of the OFM: an OFM slice of (2H − 1) × (2W − 1) at step 2, costed
    as that slice (Vela's MAC count and block config). Measured: 8×10×16 -> 16×20×16 copies 992 + 4 × 252,
    depthwise 2,142 + 3 × 1,927 cycles, ours the same."""
    from cnncc.backends.ethos_u65.datamove import copy_op

    h, w, c = op.ifm
    lin = "NHWC"  # the padded map is linear (its edges are written reversed); the OFM is written at step 2
    copies = [copy_op((h, w, c), (op.ifm_mem, SRAM), (op.ifm_fmt, lin))]
    copies += [copy_op((1, w, c), (SRAM, SRAM), (lin, lin))] * 2
    copies += [copy_op((h + 2, 1, c), (SRAM, SRAM), (lin, lin))] * 2
    dw = replace(op, ifm=(h + 1, w + 1, c), ofm=(2 * h - 1, 2 * w - 1, c), ifm_mem=SRAM, ifm_fmt=lin, ofm_fmt=lin)
    return copies, [dw] * 4


def cost_hpc(op: NpuOp, arch: U65Config, ctx=None):
    """Cost of :func:`hpc_ops` summed, and the slack the last op leaves; each depthwise op's weights are buffered
    behind the op before it (``ctx``: weightbuf.Context of the first copy's place)."""
    from cnncc.backends.ethos_u65.opcost import _sum_costs, cost_npu_op
    from cnncc.backends.ethos_u65.weightbuf import Context

    copies, dws = hpc_ops(op, arch)
    parts = []
    slack = 0
    for x in copies:
        c, slack = cost_npu_op(x, arch)
        parts.append(c)
    base = ctx or Context()
    last = parts[0]
    for k, x in enumerate(dws):
        last, slack = cost_npu_op(x, arch, replace(base, index=base.index + len(copies) + k, prev_npu=True,
                                                   slack=slack, forced=base.forced if k == 0 else None))
        parts.append(last)
    cost = _sum_costs(parts)
    return replace(cost, block=last.block, traversal=last.traversal, wbuf=last.wbuf, buffer_bytes=last.buffer_bytes,
                   elements=(parts[0].elements[0], 0, last.elements[2] * 4)), slack


def stages(op: NpuOp, factor: int) -> list[NpuOp]:
    """The NPU ops of a resize whose last op is ``op`` (its ``ifm`` the resize's input): the ×2 1×1 AvgPools
    before it (intermediate maps in SRAM, brick format), then ``op`` reading the map they built."""
    h, w, c = op.ifm
    oh, ow = op.ofm[:2]
    uh, uw = (1 if oh == h == 1 else 2), (1 if ow == w == 1 else 2)
    out: list[NpuOp] = []
    src, src_fmt = op.ifm_mem, op.ifm_fmt
    for _ in range(int(math.log2(factor)) - 1):
        nxt = (h * uh, w * uw, c)
        out.append(NpuOp(POOL, (h, w, c), nxt, ifm_fmt=src_fmt, ofm_fmt="NHCWB16", ifm_mem=src, ofm_mem=SRAM,
                         resample="nearest"))
        h, w, c = nxt
        src, src_fmt = SRAM, "NHCWB16"
    out.append(replace(op, ifm=(h, w, c), ifm_mem=src, ifm_fmt=src_fmt, resample="nearest"))
    return out


def cost_resize(op: NpuOp, factor: int, arch: U65Config, ctx=None):
    """Cost of a resize (:func:`stages`) summed over its ops, and the slack its last op leaves; ``ctx``
    (weightbuf.Context) applies to the last op, which holds the weights when there are any."""
    from cnncc.backends.ethos_u65.opcost import _sum_costs, cost_npu_op

    if op.kind == DEPTHWISE and op.kernel == (2, 2) and factor == 2:
        return cost_hpc(op, arch, ctx)  # the only ×2 resize costed here (multi_op)
    ops = stages(op, factor)
    parts = [cost_npu_op(x, arch)[0] for x in ops[:-1]]
    last, slack = cost_npu_op(ops[-1], arch, ctx)
    first = parts[0] if parts else last
    cost = _sum_costs(parts + [last])
    # element accesses of the layer's own maps: the first op reads the IFM, the last writes the OFM
    return replace(cost, block=last.block, traversal=last.traversal, wbuf=last.wbuf, buffer_bytes=last.buffer_bytes,
                   elements=(first.elements[0], 0, last.elements[2])), slack


def with_zero_constant(layer: Layer, lw: Lowered, op: NpuOp, arch: U65Config) -> NpuOp:
    """``op`` with the IFM2 of a 1×1 map's resize (the Add's constant of zero points, lower_resize) where Vela keeps
    a constant: NHWC in the memory holding constants (off-chip flash on Ethos-U55 Shared_Sram)."""
    if isinstance(layer.op, O.Resize) and lw.kind == ELEMENTWISE:
        return replace(op, ifm2_mem=arch.const_mem, ifm2_fmt="NHWC")
    return op

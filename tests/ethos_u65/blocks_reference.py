"""The scalar OFM block-config search as it was before the vectorised one (cnncc's own earlier code): the
regression oracle for :func:`cnncc.backends.ethos_u65.blocks.find_block_config` (tests/ethos_u65/test_blocks_fast.py).
"""

from __future__ import annotations

import math

import numpy as np

from cnncc.backends.ethos_u65.blocks import (
    CONV,
    DEPTHWISE,
    ELEMENTWISE,
    POOL,
    BlockConfig,
    NpuOp,
    _cdiv,
    _ru,
    part_kernel_first,
)
from cnncc.backends.ethos_u65.config import U65Config

F32 = np.float32


def ifm_block_for(ofm_w: int, ofm_h: int, op: NpuOp, arch: U65Config) -> tuple[int, int]:
    """IFM block W, H needed for an OFM block (one sub-kernel of at most 8×8), rounded to the micro-block."""
    kw = min((op.kernel[1] - 1) * op.dilation[1] + 1, arch.subkernel_max[0])
    kh = min((op.kernel[0] - 1) * op.dilation[0] + 1, arch.subkernel_max[1])
    w = (ofm_w - 1) * op.stride[1] + kw
    h = (ofm_h - 1) * op.stride[0] + kh
    return _ru(w, arch.ublock[0]), _ru(h, arch.ublock[1])


def _fits(ofm: tuple[int, int, int], ifm: tuple[int, int, int], ew: str, arch: U65Config, lut: bool) -> bool:
    """Does the block pair fit SHRAM? IFM double buffer (+ a second one for full elementwise) and the 32-bit
    accumulator double buffer, both in bank granules, below the LUT banks (at least the reserved end banks).
    Vela 5.2.0 sizes these per core: a second core has its own SHRAM, so the depth is not split."""
    ifm_banks = _cdiv(ifm[0] * ifm[1] * _ru(ifm[2], 8), arch.bank_bytes) * 2
    ifm_banks = _ru(ifm_banks, arch.ifm_ew_granule if ew != "no" else arch.ifm_granule)
    lut_banks = max(1 if lut else 0, arch.reserved_end_banks)
    acc_start = arch.shram_banks - lut_banks
    ifm_end = arch.reserved_output_banks + ifm_banks
    if ew == "no":
        acc_banks = _ru(_cdiv(ofm[0] * ofm[1] * _ru(ofm[2], 8) * 4, arch.bank_bytes) * 2, arch.acc_granule)
        acc_start -= acc_banks
    else:
        ifm2_banks = ifm_banks if ew == "full" else 0
        if ifm_end + ifm2_banks > acc_start:
            return False
        ifm_end = acc_start
    return ifm_end <= acc_start


def reference_block_config(op: NpuOp, arch: U65Config) -> BlockConfig:
    oh, ow, oc = op.ofm
    ifm = op.ifm if op.ifm2 is None or math.prod(op.ifm) >= math.prod(op.ifm2) else op.ifm2
    ih, iw, ic = ifm
    ew = "no"
    if op.kind == ELEMENTWISE:
        scalar = math.prod(op.ifm) == 1 or (op.ifm2 is not None and math.prod(op.ifm2) == 1)
        ew = "scalar" if scalar else "full"
    depthwise = op.kind == DEPTHWISE
    equal_depth = ew != "no" or op.kind == POOL or depthwise
    kelems = op.kernel[0] * op.kernel[1]
    part = op.kind == CONV and part_kernel_first(ic, kelems)
    traversal = "depthwise" if depthwise else ("part_kernel" if part else "depth_first")
    ifm_bd = _ru(min(ic, 16 if part else 32), 8)
    dil_w, dil_h = (op.kernel[1] - 1) * op.dilation[1] + 1, (op.kernel[0] - 1) * op.dilation[0] + 1
    repeats = _cdiv(dil_w, arch.subkernel_max[0]) * _cdiv(dil_h, arch.subkernel_max[1])
    wfetch_wh = kelems if op.kind in (CONV, DEPTHWISE) else 0
    ub_w, ub_h, ub_d = arch.ublock
    sw = _ru(min(ow, arch.block_max[0]), ub_w)
    sh = _ru(min(oh, arch.block_max[1]), ub_h)
    sd = _ru(min(oc, arch.block_max[2]), ub_d)
    ofm_elems = oh * ow * oc
    lut = op.act == "lut" or op.lut
    best, best_cov, choice = F32(math.inf), F32(math.inf), None
    depth = max(ub_d, min(sd, arch.split_depth))
    if depth < oc:
        depth = _ru(depth, arch.split_depth)
    wont_fit: set[tuple[int, int]] = set()
    while depth <= sd:
        for h in range(ub_h, sh + 1, ub_h):
            for w in range(ub_w, sw + 1, ub_w):
                if (h, w) in wont_fit:
                    continue
                bw_, bh_ = ifm_block_for(w, h, op, arch)
                iblk = (bw_, bh_, depth if equal_depth else ifm_bd)
                oblk = (w, min(h, oh) if (oh == 1 and op.kernel[0] == 1 and ub_h == 2) else h, depth)
                if not _fits(oblk, iblk, ew, arch, lut):
                    wont_fit.add((h, w))
                    continue
                full = (_cdiv(oh, oblk[1]), _cdiv(ow, w), _cdiv(oc, depth))
                # single-precision arithmetic in Vela's order: its ties between blocks break on float32 rounding
                bx, by, bz = F32(ow) / F32(w), F32(oh) / F32(oblk[1]), F32(oc) / F32(depth)
                wfetch = F32(wfetch_wh * ic * full[0] * full[1])
                if not depthwise:
                    wfetch *= bz * F32(depth)
                ifetch = F32(iblk[0] * iblk[1] * ic * repeats) * bx * by
                if not equal_depth:
                    ifetch *= F32(full[2])
                cost = F32(ofm_elems) / F32(h * w * depth) if ew != "no" else (ifetch + wfetch) / F32(ofm_elems)
                if ih * iw * ic < iblk[0] * iblk[1] * iblk[2] * 2:
                    cost /= F32(2)
                if cost <= best:
                    take = False
                    if cost == best:
                        cov = F32(ih * iw) / F32(max(min(ih, iblk[1]) * min(iw, iblk[0]), 1))
                        if cov <= best_cov and h <= 4 and w <= 4:
                            best_cov, take = cov, True
                    else:
                        best_cov, take = F32(math.inf), True
                    if take:
                        best, choice = cost, BlockConfig((w, h, depth), iblk, traversal)
        depth += ub_d
        if depth < oc:
            depth = _ru(depth, arch.split_depth)
    if choice is None:
        raise ValueError(f"no OFM block fits SHRAM for {op}")
    return choice

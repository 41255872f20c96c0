"""NPU op records and the OFM block-config search (how Vela 5.2.0 picks block shapes; our own implementation).

Vela searches OFM block shapes W×H×C in multiples of the micro-block (depth ≥ 16 when the OFM is deeper) that fit
the shared buffer (SHRAM: IFM double-buffered + accumulators, both in 1 KiB banks rounded to bank granules) and
keeps the one with the least (IFM fetch + weight fetch) per OFM element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from cnncc.backends.ethos_u65.config import U65Config

F32 = np.float32

# NPU op kinds (Vela's hardware op classes)
CONV, DEPTHWISE, VECTOR, POOL, ELEMENTWISE = "conv", "depthwise", "vector_product", "pooling", "elementwise"


@dataclass(frozen=True)
class NpuOp:
    """One NPU operation. Shapes are (H, W, C) of int8 tensors; ``ifm2`` only for binary elementwise.

    ``ao_kind``: row of the AO table (conv, add_sub, mul, maxpool); ``act``: none | relu | lut;
    ``ifm_fmt``/``ofm_fmt``/``ifm2_fmt``: "NHWC" or "NHCWB16" (Vela's brick format for maps that stay on the NPU);
    memories: "sram" | "offchip"; ``weight_bytes``: encoded weight bytes (0 if none); ``codes``: the layer's
    weights (weights.WeightCodes) when known, so a depth slice's own encoded size can be computed."""

    kind: str
    ifm: tuple[int, int, int]
    ofm: tuple[int, int, int]
    kernel: tuple[int, int] = (1, 1)        # H, W
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    ifm2: tuple[int, int, int] | None = None
    ao_kind: str = "conv"
    act: str = "none"
    ifm_fmt: str = "NHWC"
    ofm_fmt: str = "NHWC"
    ifm_mem: str = "sram"
    ifm2_mem: str = "sram"
    ofm_mem: str = "sram"
    weight_bytes: int = 0
    scale_bytes: int = 0
    lut: bool = False                        # the op itself is a LUT lookup (standalone Sigmoid/Tanh/...)
    ifm2_fmt: str = ""                       # IFM2's own format ("": the IFM's); a map keeps its own layout
    codes: object = field(default=None, compare=False, repr=False)   # weights.WeightCodes or None
    resample: str = "none"                   # IFM upscaling ×2 by the hardware: none | nearest | zeros (resize.py)

    @property
    def fmt2(self) -> str:
        """The format the IFM2 is read in (Vela sizes each input's bursts by that input's own format)."""
        return self.ifm2_fmt or self.ifm_fmt


@dataclass(frozen=True)
class BlockConfig:
    """Chosen OFM block (W, H, C), IFM block (W, H, C) and traversal (depth_first | part_kernel | depthwise)."""

    ofm: tuple[int, int, int]
    ifm: tuple[int, int, int]
    traversal: str


def _ru(v: int, m: int) -> int:
    return -(-v // m) * m


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def part_kernel_first(ifm_depth: int, kernel_elems: int) -> bool:
    """Vela's traversal choice for int8 convs: part-kernel when C_in ≤ 8 or when it packs the MAC array at least
    as well as depth-first (C_in in 32s vs C_in in 8s × kernel elements in 4s)."""
    if ifm_depth <= 8:
        return True
    depth_util = ifm_depth / _ru(ifm_depth, 32)
    part_util = (ifm_depth / _ru(ifm_depth, 8)) * (kernel_elems / _ru(kernel_elems, 4))
    return part_util >= depth_util


def find_block_config(op: NpuOp, arch: U65Config) -> BlockConfig:
    """Search OFM blocks (see module doc). Raises ValueError if nothing fits (never for int8 shapes).

    Cached on what the search reads (shapes, kernel, stride, dilation, LUT use) and the configuration: the cost
    passes ask again for every placement, and real networks repeat layer shapes."""
    key = NpuOp(op.kind, op.ifm, op.ofm, op.kernel, op.stride, op.dilation, op.ifm2,
                act="lut" if op.act == "lut" else "none", lut=op.lut, resample=op.resample)
    ck = (key, _arch_key(arch))
    hit = _BLOCKS.get(ck)
    if hit is None:
        if len(_BLOCKS) > 8192:
            _BLOCKS.clear()
        hit = _BLOCKS[ck] = _find_block_config(key, arch)
    return hit


_BLOCKS: dict[tuple, BlockConfig] = {}
_ARCH_KEYS: dict[int, tuple[U65Config, tuple]] = {}  # id -> (the config, kept alive so the id is not reused; key)


def _arch_key(arch: U65Config) -> tuple:
    """A hashable image of every field of ``arch`` (the config holds dicts)."""
    hit = _ARCH_KEYS.get(id(arch))
    if hit is None or hit[0] is not arch:
        if len(_ARCH_KEYS) > 256:
            _ARCH_KEYS.clear()
        hit = _ARCH_KEYS[id(arch)] = (arch, tuple(_freeze(getattr(arch, f.name)) for f in fields(arch)))
    return hit[1]


def _freeze(v: object) -> object:
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    return v


def _find_block_config(op: NpuOp, arch: U65Config) -> BlockConfig:
    """The search, vectorised per OFM block depth over every (H, W) candidate. Every quantity is computed in the
    scalar order with float32 rounding at each step (numpy float32 arrays round element-wise like scalars), and
    the running choice is replayed in candidate order, so the result equals the candidate-by-candidate loop
    (tests/ethos_u65/test_blocks_fast.py checks it against that loop on seeded random ops)."""
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
    # the (H, W) grid in the scalar loop's order (H outer, W inner), as int64 vectors
    hs = np.repeat(np.arange(ub_h, sh + 1, ub_h, dtype=np.int64), len(range(ub_w, sw + 1, ub_w)))
    ws = np.tile(np.arange(ub_w, sw + 1, ub_w, dtype=np.int64), len(range(ub_h, sh + 1, ub_h)))
    if hs.size == 0:
        raise ValueError(f"no OFM block fits SHRAM for {op}")
    kw = min(dil_w, arch.subkernel_max[0])
    kh = min(dil_h, arch.subkernel_max[1])
    # an IFM the hardware upscales ×2 feeds the block from half the rows and columns (+1 for nearest's rounding)
    up, rnd = (1, 0) if op.resample == "none" else (2, 1 if op.resample == "nearest" else 0)
    ibw = _ru_v(-(-((ws - 1) * op.stride[1] + kw + rnd) // up), arch.ublock[0])
    ibh = _ru_v(-(-((hs - 1) * op.stride[0] + kh + rnd) // up), arch.ublock[1])
    obh = np.minimum(hs, oh) if (oh == 1 and op.kernel[0] == 1 and ub_h == 2) else hs
    by = F32(oh) / obh.astype(F32)
    bx = F32(ow) / ws.astype(F32)
    full_h, full_w = -(-oh // obh), -(-ow // ws)
    wbase = (wfetch_wh * ic * full_h * full_w).astype(F32)
    ibase = (ibw * ibh * (ic * repeats)).astype(F32) * bx * by
    ifm_cov = F32(ih * iw) / np.maximum(np.minimum(ih, ibh) * np.minimum(iw, ibw), 1).astype(F32)
    small4 = (hs <= 4) & (ws <= 4)
    lut_banks = max(1 if lut else 0, arch.reserved_end_banks)
    dead = np.zeros(hs.size, dtype=bool)
    best, best_cov, choice = math.inf, math.inf, None
    depth = max(ub_d, min(sd, arch.split_depth))
    if depth < oc:
        depth = _ru(depth, arch.split_depth)
    while depth <= sd:
        ibd = depth if equal_depth else ifm_bd
        ifm_banks = _ru_v(-(-(ibw * ibh * _ru(ibd, 8)) // arch.bank_bytes) * 2,
                          arch.ifm_ew_granule if ew != "no" else arch.ifm_granule)
        acc_start = arch.shram_banks - lut_banks
        ifm_end = arch.reserved_output_banks + ifm_banks
        if ew == "no":
            acc_banks = _ru_v(-(-(ws * obh * (_ru(depth, 8) * 4)) // arch.bank_bytes) * 2, arch.acc_granule)
            fit = ifm_end <= acc_start - acc_banks
        else:
            fit = ifm_end + (ifm_banks if ew == "full" else 0) <= acc_start
        dead |= ~fit
        idx = np.flatnonzero(~dead)
        if idx.size:
            if ew != "no":
                cost = F32(ofm_elems) / (hs[idx] * ws[idx] * depth).astype(F32)
            else:
                wfetch = wbase[idx]
                if not depthwise:
                    wfetch = wfetch * (F32(oc) / F32(depth) * F32(depth))
                ifetch = ibase[idx]
                if not equal_depth:
                    ifetch = ifetch * F32(-(-oc // depth))
                cost = (ifetch + wfetch) / F32(ofm_elems)
            halve = ih * iw * ic < ibw[idx] * ibh[idx] * ibd * 2
            cost = np.where(halve, cost / F32(2), cost)
            # only a candidate at or below the running minimum can be taken; replay those in order
            prior = np.minimum.accumulate(np.concatenate(([best], cost.astype(np.float64))))[:-1]
            for j in np.flatnonzero(cost <= prior):
                c = float(cost[j])
                k = int(idx[j])
                if c < best:
                    best, best_cov = c, math.inf
                elif c == best:
                    cov = float(ifm_cov[k])
                    if not (cov <= best_cov and small4[k]):
                        continue
                    best_cov = cov
                else:
                    continue
                choice = (int(ws[k]), int(hs[k]), depth, int(ibw[k]), int(ibh[k]), ibd)
        depth += ub_d
        if depth < oc:
            depth = _ru(depth, arch.split_depth)
    if choice is None:
        raise ValueError(f"no OFM block fits SHRAM for {op}")
    w, h, d, bw, bh, bd = choice
    return BlockConfig((w, h, d), (bw, bh, bd), traversal)


def _ru_v(v: np.ndarray, m: int) -> np.ndarray:
    return -(-v // m) * m

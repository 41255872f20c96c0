"""Encoded size of a layer's weights as Vela 5.2.0 encodes them for Ethos-U55/U65 (our own model of its rules).

Vela's C++ core (Regor) writes, per OFM depth range (the slices of weight buffering; one range when not buffered)
and per core, one stream: the range's 10-byte scale/bias entries of that core's channels (every ``cores``-th OFM
channel), zero-padded to 16 bytes, then the core's weights in the order the NPU reads them (:func:`stream_order`),
encoded by the MLW codec (codec.py, exact bit count, itself padded to 16 bytes).

Read order (Regor's ``EthosUWeightOrdering``, learned from its source): OFM blocks of the core's share of the block
depth; in each, IFM blocks of 32 channels (depth-first) or 16 (part-kernel first); sub-kernels of at most 8×8 (4×4
per axis dilated by 2); then, depth-first: OFM micro-blocks × kernel elements × IFM micro-blocks of 8 × the
micro-block's OFM × IFM channels; part-kernel first: IFM micro-blocks outermost, kernel elements padded to a
multiple of 4; depthwise: one channel per OFM lane, kernel elements padded to 4. Positions outside the weight tensor
(the last OFM micro-block, the IFM block's tail in depth-first order, the kernel padding) are zeros and are coded
like any other weight.

:func:`encoded_ratio` (an entropy estimate) is kept for callers that have no layer shape (composite chains).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from cnncc.backends.ethos_u65.codec import EXACT_VALUES, stream_bytes

CODE_OVERHEAD_BITS = 0.16
PAD_BYTES = 0.5          # the old estimate's cost of a padded weight (used only without the layer's weights)
IFM_UBLOCK = 8           # IFM micro-block depth of Ethos-U55/U65
SCALE_BYTES = 10         # bytes of one channel's bias + scale + shift
DEPTH_FIRST, PART_KERNEL, DEPTHWISE = "depth_first", "part_kernel", "depthwise"


def entropy_bits(q: np.ndarray) -> float:
    """Zero-order entropy (bits per value) of an int8 array."""
    counts = np.bincount(q.astype(np.int16).ravel() + 128, minlength=256)
    p = counts[counts > 0] / max(int(counts.sum()), 1)
    return float(-(p * np.log2(p)).sum())


def encoded_ratio(w: np.ndarray, channel_axis: int) -> float:
    """Entropy estimate of encoded bytes per int8 weight (≤ 1.0), no padding: of a quantised model's own integer
    weights, or of float weights ``w`` quantised per channel along ``channel_axis``."""
    a = np.asarray(w)
    if np.issubdtype(a.dtype, np.integer):
        if not a.size:
            return 1.0
        counts = np.bincount((a.astype(np.int64) - int(a.min())).ravel())
        p = counts[counts > 0] / a.size
        return min(float(-(p * np.log2(p)).sum()) + CODE_OVERHEAD_BITS, 8.0) / 8.0
    from cnncc.ir.quant import quantize_weights

    q, _ = quantize_weights(a.astype(np.float32), channel_axis)
    return min(entropy_bits(q) + CODE_OVERHEAD_BITS, 8.0) / 8.0


def _ru(v: int, m: int) -> int:
    return -(-v // m) * m


def padded_weights(kind: str, cout: int, cin: int, kernel: tuple[int, int], part_kernel: bool, ublock_depth: int
                   ) -> int:
    """Weights in Vela's encoded order including its zero padding (one core); ``kind``: conv | depthwise |
    vector_product; ``cin`` ignored for depthwise."""
    kh, kw = kernel
    if kind == "depthwise":
        return _ru(cout, ublock_depth) * sum(_ru(min(kh - y, 8) * min(kw - x, 8), 4)
                                             for y in range(0, kh, 8) for x in range(0, kw, 8))
    if part_kernel:
        per = sum(_ru(min(kh - y, 8) * min(kw - x, 8), 4) for y in range(0, kh, 8) for x in range(0, kw, 8))
        return _ru(cout, ublock_depth) * per * _ru(cin, 8)
    return _ru(cout, ublock_depth) * kh * kw * _ru(cin, 32)


def _block_index(o0: int, ob: int, i0: int, ib: int, y0: int, x0: int, sh: int, sw: int, traversal: str,
                 ofm_ublock: int, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Flat OHWI indices (-1: a zero) of one (OFM block, IFM block, sub-kernel) in read order: the block's
    pattern at OFM/IFM offset 0 (:func:`_block_pattern`, computed once per block shape) moved to (o0, i0)."""
    o_n, kh, kw, i_n = shape
    idx, o_rel, i_rel, valid = _block_pattern(ob, ib, y0, x0, sh, sw, traversal, ofm_ublock, shape)
    ok = valid & (o_rel < o_n - o0) & (i_rel < i_n - i0)
    return np.where(ok, idx + (o0 * kh * kw * i_n + i0), -1)


@functools.lru_cache(maxsize=256)
def _block_pattern(ob: int, ib: int, y0: int, x0: int, sh: int, sw: int, traversal: str, ofm_ublock: int,
                   shape: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(flat indices, OFM offsets, IFM offsets, kernel-element validity) of a block at OFM/IFM offset 0, flat in
    read order (read-only arrays)."""
    o_n, kh, kw, i_n = shape
    elems = sh * sw if traversal == DEPTH_FIRST else _ru(sh * sw, 4)
    e = np.arange(elems)
    ky, kx = e // sw, e % sw
    ou = np.arange(0, ob, ofm_ublock)[:, None] + np.arange(ofm_ublock)[None, :]   # [ublock, lane] OFM offsets
    if traversal == DEPTHWISE:
        # [ofm ublock, element, lane]
        o = ou[:, None, :]
        valid = np.broadcast_to((ky < sh)[None, :, None], (o.shape[0], elems, ofm_ublock))
        idx = ((o * kh + (y0 + ky)[None, :, None]) * kw + (x0 + kx)[None, :, None]) * i_n
        return _frozen(idx, np.broadcast_to(o, valid.shape), np.zeros(valid.shape, np.int64), valid)
    iu = np.arange(0, ib, IFM_UBLOCK)[:, None] + np.arange(IFM_UBLOCK)[None, :]    # [ublock, lane] IFM offsets
    if traversal == PART_KERNEL:   # [ifm ublock, ofm ublock, element, ofm lane, ifm lane]
        o = ou[None, :, None, :, None]
        i = iu[:, None, None, None, :]
        yy, xx = (y0 + ky)[None, None, :, None, None], (x0 + kx)[None, None, :, None, None]
        kv = (ky < sh)[None, None, :, None, None]
    else:                          # [ofm ublock, element, ifm ublock, ofm lane, ifm lane]
        o = ou[:, None, None, :, None]
        i = iu[None, None, :, None, :]
        yy, xx = (y0 + ky)[None, :, None, None, None], (x0 + kx)[None, :, None, None, None]
        kv = np.ones((1,) * 5, bool)
    idx = ((o * kh + yy) * kw + xx) * i_n + i
    full = idx.shape
    return _frozen(idx, np.broadcast_to(o, full), np.broadcast_to(i, full), np.broadcast_to(kv, full))


def _frozen(idx: np.ndarray, o: np.ndarray, i: np.ndarray, valid: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four arrays flat, contiguous and read-only (they are shared through the cache)."""
    def flat(a: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(a).ravel()
        a.flags.writeable = False
        return a

    return flat(idx), flat(o), flat(i), flat(valid)


def stream_order(ohwi: np.ndarray, traversal: str, block_depth: int, ofm_ublock: int,
                 dilation: tuple[int, int] = (1, 1)) -> np.ndarray:
    """One core's weights (OHWI, zero points removed; depthwise: [C, H, W, 1]) in the NPU's read order with Vela's
    zero padding (module doc). ``block_depth``: this core's share of the OFM block depth."""
    o_n, kh, kw, i_n = ohwi.shape
    dy, dx = 8 // dilation[0], 8 // dilation[1]
    ibd = 16 if traversal == PART_KERNEL else 32
    parts = []
    for o0 in range(0, o_n, block_depth):
        ob = min(block_depth, o_n - o0)
        for i0 in range(0, 1 if traversal == DEPTHWISE else i_n, ibd):
            ib = min(ibd, i_n - i0) if traversal == PART_KERNEL else ibd
            for y0 in range(0, kh, dy):
                for x0 in range(0, kw, dx):
                    parts.append(_block_index(o0, ob, i0, ib, y0, x0, min(kh - y0, dy), min(kw - x0, dx),
                                              traversal, ofm_ublock, ohwi.shape))
    idx = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    flat = np.asarray(ohwi, np.int16).ravel()
    return np.where(idx >= 0, flat[np.maximum(idx, 0)], 0).astype(np.int16)


@dataclass(frozen=True, eq=False)
class WeightCodes:
    """A layer's integer weights (OHWI, zero points removed; depthwise [C, H, W, 1]) with the encoded sizes
    computed so far (cached per encoding: traversal, block depth, micro-block depth, cores, depth ranges)."""

    ohwi: np.ndarray
    dilation: tuple[int, int] = (1, 1)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def channels(self) -> int:
        return int(self.ohwi.shape[0])

    def range_bytes(self, traversal: str, block_depth: int, ofm_ublock: int, cores: int,
                    depth_offsets: tuple[int, ...] | None = None, exact_values: int = EXACT_VALUES
                    ) -> tuple[int, ...]:
        """Encoded bytes (scales + weights, every stream padded to 16 B) of each OFM depth range; streams longer
        than ``exact_values`` values sized from samples of their sections (codec.stream_bytes)."""
        c = self.channels
        offs = tuple(depth_offsets) if depth_offsets else (0, c)
        key = (traversal, min(block_depth, c), ofm_ublock, cores, offs, exact_values)
        if key not in self._cache:
            sizes = []
            for a, b in zip(offs, offs[1:]):
                total = 0
                for core in range(min(cores, c)):
                    part = self.ohwi[a + core:b:cores]
                    if not part.shape[0]:
                        continue
                    share = (key[1] + cores - 1 - core) // cores
                    total += _ru(SCALE_BYTES * part.shape[0], 16)
                    total += stream_bytes(stream_order(part, traversal, share, ofm_ublock, self.dilation),
                                          exact_values)
                sizes.append(total)
            self._cache[key] = tuple(sizes)
        return self._cache[key]


def codes_for(w: np.ndarray, depthwise: bool, dilation: tuple[int, int], transposed: bool,
              channel_axis: int) -> WeightCodes:
    """WeightCodes of an IR weight tensor: conv OIHW (depthwise [C, 1, H, W]) or an FC matrix ([in, out], or
    [out, in] when ``transposed``); float weights are quantised per channel along ``channel_axis`` as cnncc's
    TFLite exporter writes them, integer ones (a quantised model's, zero point 0) taken as they are."""
    a = np.asarray(w)
    if not np.issubdtype(a.dtype, np.integer):
        from cnncc.ir.quant import quantize_weights

        a, _ = quantize_weights(a.astype(np.float32), channel_axis)
    a = a.astype(np.int16)
    if a.ndim == 2:
        a = (a if transposed else a.T)[:, :, None, None]
    ohwi = np.ascontiguousarray(a.transpose(0, 2, 3, 1))
    del depthwise   # OIHW [C, 1, H, W] is already [C, H, W, 1] after the transpose
    return WeightCodes(ohwi, (int(dilation[0]), int(dilation[1])))


def exact_weight_bytes(lw, arch, mems: tuple[str, str, str] = ("sram", "sram", "sram"),
                       fmts: tuple[str, str] = ("NHCWB16", "NHCWB16")) -> tuple[int, int]:
    """(encoded weight bytes, scale/bias bytes) of a lowered layer (lower.Lowered with ``codes``): the exact
    encoding for the OFM block depth and traversal of the block config Vela would choose, one depth range; the
    weight part is the encoded total less 10 B per channel, × the target's ``weight_compression``."""
    import math

    from cnncc.backends.ethos_u65.blocks import NpuOp, find_block_config

    op = NpuOp(lw.kind, lw.ifm, lw.ofm, lw.kernel, lw.stride, lw.dilation, lw.ifm2, lw.ao_kind, lw.act,
               fmts[0], fmts[1], mems[0], mems[1], mems[2], 1, 1, lw.lut,
               resample=lw.resample)
    cfg = find_block_config(op, arch)
    total = lw.codes.range_bytes(cfg.traversal, cfg.ofm[2], arch.ublock[2], arch.cores)[0]
    scales = arch.scale_bytes_per_channel * lw.out_channels
    return int(math.ceil(max(total - SCALE_BYTES * lw.out_channels, 0) * arch.weight_compression)), scales


def depth_range_bytes(codes: WeightCodes, traversal: str, block_depth: int, arch, offsets: tuple[int, ...],
                      exact_values: int = EXACT_VALUES) -> tuple[int, ...]:
    """Bytes of each OFM depth range ``offsets`` (channel boundaries, 0 … C) when Vela encodes every range as its
    own streams (weight buffering in depth slices): per range the encoded total as :meth:`WeightCodes.range_bytes`
    gives it, its weight part (the total less 10 B per channel) × the target's ``weight_compression``, plus the
    target's scale/bias bytes per channel, so the ranges of one slice (0, C) equal :func:`exact_weight_bytes`."""
    import math

    totals = codes.range_bytes(traversal, block_depth, arch.ublock[2], arch.cores, tuple(offsets), exact_values)
    out = []
    for total, a, b in zip(totals, offsets, offsets[1:]):
        weights = int(math.ceil(max(total - SCALE_BYTES * (b - a), 0) * arch.weight_compression))
        out.append(weights + arch.scale_bytes_per_channel * (b - a))
    return tuple(out)


def scale_section_bytes(offsets: tuple[int, ...], cores: int) -> int:
    """Bytes of the scale/bias sections of depth ranges ``offsets``: per range and core, 10 B for each of the core's
    channels (every ``cores``-th), padded to 16 bytes (the part of :meth:`WeightCodes.range_bytes` that is no
    weight stream)."""
    total = 0
    for a, b in zip(offsets, offsets[1:]):
        for core in range(cores):
            total += _ru(SCALE_BYTES * len(range(a + core, b, cores)), 16)
    return total

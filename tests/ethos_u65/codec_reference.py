"""Test oracle: the first (slow, plain numpy) implementation of the Golomb-Rice parameter search of codec.py, kept
unchanged so the fast search (codec_search.py) can be compared with it on seeded random streams
(tests/ethos_u65/test_codec_search.py) and timed against it (bench/weight_codec.py)."""

from __future__ import annotations

import numpy as np

CMD_BITS = 40                # the search's estimate of a parameter change


def _bits(values: np.ndarray, div: np.ndarray, trunc: np.ndarray, unc_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(estimated bits, codable) per parameter × value, as the parameter search counts them (int32 tables
    indexed by value)."""
    top = max(int(values.max(initial=0)) + 1, 1)
    q = np.arange(top)[None, :] >> div[:, None]
    bits = (np.where(trunc[:, None] == 1, np.minimum(q + 1, 2), q + 1) + div[:, None]).astype(np.int32)
    codable = ~(((trunc[:, None] == 1) & (q > 2)) | (q > 31)) if unc_bits >= 0 else np.ones(q.shape, bool)
    if unc_bits >= 0:
        bits[-1] = unc_bits if unc_bits > 0 else 100
        codable[-1] = True
    return bits[:, values], codable[:, values]


def grc_slices(bits: np.ndarray, codable: np.ndarray) -> list[tuple[int, int]]:
    """The parameter search over one stream: [(parameter, end position)], in order. ``bits``/``codable``:
    parameters × values (:func:`_bits`). Event-driven: between parameter changes every parameter's running total
    relative to the current one is a (re-based) cumulative sum, so each stretch is searched with numpy."""
    ncfg, n = bits.shape
    out: list[tuple[int, int]] = []
    # value 0: every codable parameter starts from 0, the cheapest becomes current
    c0 = codable[:, 0]
    b0 = np.where(c0, bits[:, 0], CMD_BITS)
    act = int(np.flatnonzero(c0)[np.argmin(b0[c0])])
    rel = (b0 - b0[act]).astype(np.int64)               # running totals relative to the current parameter's
    coded = c0.copy()
    reset = np.where(c0, 0, 1)                          # first position after each parameter's last uncodable one
    s, window = 1, 256
    while s < n:
        e_end = min(n, s + window)
        bw, cw = bits[:, s:e_end], codable[:, s:e_end]
        diff = np.cumsum(bw - bw[act], axis=1, dtype=np.int32)   # H_j(i) - H_j(s-1)
        prev_ok = np.concatenate((coded[:, None], cw[:, :-1]), axis=1)
        start = cw & ~prev_ok                           # re-based at the current parameter's total here
        shifted = np.concatenate((np.zeros((ncfg, 1), diff.dtype), diff[:, :-1]), axis=1)
        pos = np.arange(e_end - s)
        base_idx = np.maximum.accumulate(np.where(start, pos[None, :], -1), axis=1)
        base = np.where(base_idx >= 0, np.take_along_axis(shifted, np.maximum(base_idx, 0), axis=1), -rel[:, None])
        d = diff - base                                 # bc_j - bc_act where codable
        # the switch test compares with the current parameter's total *before* this value
        trig = (cw & (d + bw[act][None, :] < -CMD_BITS)).any(axis=0) | ~cw[act]
        hits = np.flatnonzero(trig)
        last_unc = np.where(~cw, pos[None, :], -1).max(axis=1)
        if not hits.size:
            coded = cw[:, -1].copy()
            reset = np.where(last_unc >= 0, s + last_unc + 1, reset)
            rel = np.where(coded, d[:, -1], 0)
            s, window = e_end, window * 2
            continue
        k = int(hits[0])
        e = s + k
        ck = cw[:, k]
        last_unc_k = np.where(~cw[:, :k + 1], pos[None, :k + 1], -1).max(axis=1)
        reset = np.where(last_unc_k >= 0, s + last_unc_k + 1, reset)
        dk = np.where(ck, d[:, k], 0)
        best = int(np.flatnonzero(ck)[np.argmin(dk[ck])])
        if ck[act]:
            elide = reset[best] <= reset[act]           # d[best] < 0 = d[act] holds
        else:   # the current parameter cannot code this value: its total got the change cost instead
            elide = dk[best] + bw[act, k] < CMD_BITS
        if not elide:
            out.append((act, e))
        act = best
        rel = np.where(ck, dk - dk[best], 0)
        coded = ck.copy()
        s, window = e + 1, 256
    if not out or out[-1][0] != act:
        out.append((act, n))
    else:
        out[-1] = (act, n)
    return out

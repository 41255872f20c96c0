"""The Golomb-Rice parameter search of the weight codec (codec.py), fast and with the same result as the plain one.

The search (rules in codec.py's module doc) walks one stream and keeps, for every parameter ``j``, its running bit
total relative to the current parameter's, ``r_j``; it switches at the first value where some codable ``j`` has
``r_j (before the value) + bits_j(value) < -CMD_BITS`` or the current parameter cannot code the value; a parameter
that cannot code a value is re-based (``r_j = 0`` from its next codable value on).

Here the stream is cut into blocks of ``BLOCK`` values and, per block, every parameter's bit total, its number of
uncodable values and (per current parameter ``a``) ``PD_j``, the sum over the block of ``max(0, bits_a - bits_j)``
at ``j``'s codable values, are computed at once from a per-block histogram of the values (one matrix product, the
values grouped into classes of equal bits and codability). Within a block ``r_j`` never falls below
``min(r_j(start), 0 if j is re-based there) - PD_j``, so a block where that bound plus ``j``'s cheapest code is not
below ``-CMD_BITS`` for any ``j`` (and the current parameter codes every value) cannot switch. Codable runs are
bounded from sub-block maxima (lengths × the largest gain of one value). The (block, parameter) pairs the bound
leaves in doubt are walked for that parameter alone (:func:`_block_walk`, from the exact total after the previous
block's last uncodable value where there was one); only blocks still in doubt, and the values after a switch up to
the next block boundary, are walked for every parameter (:meth:`_Search.window`). Bounds between exact points
follow the per-block totals (exact where ``j`` was not re-based); the exact state at a block is recovered from the
last block where ``j`` was re-based (:func:`_advance`).
"""

from __future__ import annotations

import numpy as np

CMD_BITS = 40       # the search's estimate of a parameter change (bits)
BLOCK = 128         # values per block of the block bound
SUB = 8             # values per sub-block (codable runs are bounded from sub-block maxima)
SMALL = 4 * BLOCK   # streams up to this many values are walked value by value only


class _Search:
    """State of one search: the current parameter, every parameter's relative total ``rel`` (bits, meaningful
    where ``coded``: the parameter could code the last value walked), ``reset`` (first position after each
    parameter's last uncodable value) and the switches so far (``out``: (parameter, end position))."""

    def __init__(self, v: np.ndarray, bits_tab: np.ndarray, cod_tab: np.ndarray) -> None:
        self.v, self.bt, self.ct = v, bits_tab, cod_tab
        self.ncfg = bits_tab.shape[0]
        self.out: list[tuple[int, int]] = []
        c0 = cod_tab[:, v[0]]
        b0 = np.where(c0, bits_tab[:, v[0]], CMD_BITS).astype(np.int64)
        self.act = int(np.flatnonzero(c0)[np.argmin(b0[c0])])
        self.rel = b0 - b0[self.act]
        self.coded = c0.copy()
        self.reset = np.where(c0, 0, 1).astype(np.int64)

    def window(self, s: int, e: int) -> tuple[int, bool]:
        """Walk values [s, e) value by value; return (the position after the first switch, True) with the state
        updated, or (``e``, False) when there is none (state advanced to ``e - 1``)."""
        act, vw = self.act, self.v[s:e]
        bw, cw = self.bt[:, vw], self.ct[:, vw]
        diff = np.cumsum(bw - bw[act], axis=1)                        # H_j(i) - H_j(s-1) - same for act
        start = cw.copy()
        start[:, 1:] &= ~cw[:, :-1]
        start[:, 0] &= ~self.coded                                    # re-based at the current total here
        pos = np.arange(e - s)
        base_idx = np.maximum.accumulate(np.where(start, pos, -1), axis=1)
        shifted = diff - bw + bw[act]                                 # diff before each value
        base = np.where(base_idx >= 0, _pick(shifted, np.maximum(base_idx, 0)), -self.rel[:, None])
        d = diff - base                                               # r_j after each value, where codable
        trig = (cw & (d + bw[act] < -CMD_BITS)).any(axis=0) | ~cw[act]
        hits = np.flatnonzero(trig)
        k = int(hits[0]) if hits.size else e - s - 1
        unc = ~cw[:, :k + 1]
        last_unc = np.where(unc.any(axis=1), k - np.argmax(unc[:, ::-1], axis=1), -1)
        self.reset = np.where(last_unc >= 0, s + last_unc + 1, self.reset)
        ck = cw[:, k]
        if not hits.size:
            self.coded = ck.copy()
            self.rel = np.where(ck, d[:, k], 0)
            return e, False
        dk = np.where(ck, d[:, k], 0)
        best = int(np.flatnonzero(ck)[np.argmin(dk[ck])])
        if ck[act]:
            elide = self.reset[best] <= self.reset[act]                # d[best] < 0 = d[act] holds
        else:   # the current parameter cannot code this value: its total got the change cost instead
            elide = dk[best] + bw[act, k] < CMD_BITS
        if not elide:
            self.out.append((act, s + k))
        self.act = best
        self.rel = np.where(ck, dk - dk[best], 0)
        self.coded = ck.copy()
        return s + k + 1, True

    def finish(self, n: int) -> list[tuple[int, int]]:
        out = self.out
        if not out or out[-1][0] != self.act:
            out.append((self.act, n))
        else:
            out[-1] = (self.act, n)
        return out


class _Blocks:
    """Per-block totals of one stream (module doc): ``S`` bits and ``U`` uncodable values per block × parameter,
    ``CS`` their running sum over blocks (row b = blocks before b), ``minb`` each parameter's cheapest code."""

    def __init__(self, v: np.ndarray, bits_tab: np.ndarray, cod_tab: np.ndarray) -> None:
        n = v.size
        self.nb = nb = -(-n // BLOCK)
        used = np.flatnonzero(np.bincount(v, minlength=bits_tab.shape[1]))
        cols = np.concatenate((bits_tab[:, used], cod_tab[:, used]), axis=0)
        uniq, inv = np.unique(cols, axis=1, return_inverse=True)
        k = uniq.shape[1]
        ncfg = bits_tab.shape[0]
        self.bc = uniq[:ncfg].astype(np.float32)                     # bits per class
        self.cc = uniq[ncfg:].astype(bool)                           # codable per class
        cls_of = np.zeros(bits_tab.shape[1], np.int64)
        cls_of[used] = inv.ravel()
        idx = cls_of[v]
        idx += np.repeat(np.arange(nb, dtype=np.int64) * k, BLOCK)[:n]
        self.h = np.bincount(idx, minlength=nb * k).reshape(nb, k).astype(np.float32)
        self.S = _dot(self.h, self.bc)
        self.U = _dot(self.h, (~self.cc).astype(np.float32)) > 0
        self.CS = np.zeros((nb + 1, ncfg), np.int64)
        np.cumsum(self.S, axis=0, out=self.CS[1:])
        self.minb = np.where(self.cc, self.bc, np.inf).min(axis=1)
        # codable runs from the maxima of SUB-value sub-blocks: a sub-block is full (codable throughout) for j
        # when its largest value is below j's first uncodable value
        limit = np.where(cod_tab.all(axis=1), bits_tab.shape[1], np.argmin(cod_tab, axis=1))
        vp = np.full(nb * BLOCK, -1, np.int64)
        vp[:n] = v
        submax = vp.reshape(nb, BLOCK // SUB, SUB).max(axis=2)
        full = submax[:, :, None] < limit[None, None, :]                     # block × sub-block × parameter
        mask = np.tensordot(full, 1 << np.arange(BLOCK // SUB), axes=([1], [0]))
        if not _RUNS and mask.size <= _DIRECT[0]:   # the first few masks direct (start-up time), then the tables
            _DIRECT[0] -= mask.size
            lead, trail, run = _mask_runs(mask)
        else:
            lead, trail, run = (t[mask] for t in _run_tables())
        self.nlead, self.ntrail = lead, trail                         # full sub-blocks before the first uncodable
        self.lead = self.nlead * SUB + SUB - 1                        # codable values before the first uncodable
        self.trail = self.ntrail * SUB + SUB - 1                      # ... after the last one
        self.inner = run * SUB + 2 * SUB - 2                          # ... longest run between two of them
        self._pd: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def pd(self, a: int) -> tuple[np.ndarray, np.ndarray]:
        """(PD per block × parameter, largest gain of one value per parameter) for current parameter ``a``
        (module doc)."""
        if a not in self._pd:
            gain = np.maximum(self.bc[a] - self.bc, 0) * self.cc
            self._pd[a] = (_dot(self.h, gain.astype(np.float32)), gain.max(axis=1, initial=0))
        return self._pd[a]


_POS = np.arange(BLOCK)


def _pick(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[i, idx[i, k]]`` for 2-D ``a`` and ``idx`` (``np.take_along_axis(a, idx, 1)`` without its overhead)."""
    return a.ravel().take(idx + (np.arange(a.shape[0]) * a.shape[1])[:, None])


def _dot(h: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``h @ t.T`` as exact integers (float32 holds every total here: < 2**24), in row pieces small enough that
    BLAS stays on one thread (its thread start-up costs more than these products)."""
    out = np.empty((h.shape[0], t.shape[0]), np.float32)
    for i in range(0, h.shape[0], 64):
        np.matmul(h[i:i + 64], t.T, out=out[i:i + 64])
    return np.rint(out).astype(np.int64)


def _mask_runs(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each 16-bit mask of full sub-blocks in ``m`` (int64): leading full ones, trailing full ones, longest
    run of full ones."""
    lead = np.zeros(m.shape, np.int64)
    trail = np.zeros(m.shape, np.int64)
    run = np.zeros(m.shape, np.int64)
    x = m.copy()
    while x.any():
        run += x > 0
        x &= x >> 1
    for i in range(BLOCK // SUB):
        lead += (lead == i) & ((m >> i) & 1 == 1)
        trail += (trail == i) & ((m >> (BLOCK // SUB - 1 - i)) & 1 == 1)
    return lead, trail, run


_RUNS: list[np.ndarray] = []
_DIRECT = [1 << (BLOCK // SUB - 2)]  # masks left to compute directly before building the tables (~as costly)


def _run_tables() -> list[np.ndarray]:
    """:func:`_mask_runs` of every 16-bit mask (built once, for streams with many blocks)."""
    if not _RUNS:
        _RUNS.extend(_mask_runs(np.arange(1 << (BLOCK // SUB), dtype=np.int64)))
    return _RUNS


def _advance(st: _Search, p: int, e: int, f: int, cs: np.ndarray, idx: np.ndarray) -> None:
    """Move the exact state from block ``e``'s start to block ``f``'s (no switch in between); ``cs``/``idx``
    (from :func:`_scan` at block ``p``): running relative totals and last re-basing block per block row."""
    if f == e:
        return
    a, n = st.act, st.v.size
    tot = cs[f - 1 - p] - (cs[e - 1 - p] if e > p else 0)
    last = idx[f - 1 - p]
    rebased = np.flatnonzero(last >= e - p)
    rel = np.where(st.coded, st.rel, 0) + tot
    coded = np.ones(st.ncfg, bool)
    if rebased.size:
        rho = last[rebased] + p                                       # absolute block of the last re-basing
        pos = rho[:, None] * BLOCK + np.arange(BLOCK)
        vals = st.v[np.minimum(pos, n - 1)]
        cod = st.ct[rebased[:, None], vals] | (pos >= n)
        after = np.logical_and.accumulate(cod[:, ::-1], axis=1)[:, ::-1]   # after the last uncodable value
        delta = st.bt[rebased[:, None], vals] - st.bt[a, vals]
        suffix = (delta * after).sum(axis=1)
        rel[rebased] = suffix + cs[f - 1 - p, rebased] - cs[rho - p, rebased]
        coded[rebased] = np.where(rho == f - 1, cod[:, -1], True)
        st.reset[rebased] = rho * BLOCK + BLOCK - after.sum(axis=1)
    st.rel = np.where(coded, rel, 0)
    st.coded = coded


def _scan(st: _Search, bl: _Blocks, p: int, q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The blocks in [p, q) that may switch (module doc), with the running relative totals (block rows from p)
    and each parameter's last re-basing block row up to each row (-1: none)."""
    a = st.act
    S = bl.S[p:q]
    d = S - S[:, a:a + 1]
    rb = bl.U[p:q]
    pd_all, g = bl.pd(a)
    pdc = pd_all[p:q]
    lead = np.minimum(pdc, g * bl.lead[p:q])
    inner = np.minimum(pdc, g * bl.inner[p:q])
    end = -np.minimum(pdc, g * bl.trail[p:q])                        # bound of r_j after a re-basing block
    cs = np.cumsum(d, axis=0)
    rows = np.arange(q - p)[:, None]
    idx = np.maximum.accumulate(np.where(rb, rows, -1), axis=0)
    col = np.arange(st.ncfg)
    at = np.maximum(idx, 0)
    lb0 = np.where(st.coded, st.rel, 0)
    lb_end = np.where(idx >= 0, end[at, col] - cs[at, col], lb0) + cs
    lb_start = np.concatenate((lb0[None, :], lb_end[:-1]), axis=0)
    m = np.where(rb, np.minimum(lb_start - lead, -inner), lb_start - pdc) + bl.minb
    low = m < -CMD_BITS
    # walk the blocks the bound leaves in doubt value by value, from the exact total after the previous block's
    # last uncodable value where it was re-based there (the bound's loosest part), else from the bound
    rr, jj = np.nonzero(low)
    b = p + rr
    keep = b < bl.nb - 1 if (st.v.size % BLOCK) else np.ones(rr.size, bool)
    rr, jj, b = rr[keep], jj[keep], b[keep]
    prev = np.zeros(rr.size, bool)
    prev[rr > 0] = rb[rr[rr > 0] - 1, jj[rr > 0]]
    near = prev & (bl.ntrail[b - 1, jj] < 4)
    for sel, w in ((~prev, 0), (near, 4 * SUB), (prev & ~near, BLOCK)):
        if sel.any():
            low[rr[sel], jj[sel]] = _block_walk(st, b[sel], jj[sel], w, lb_start[rr[sel], jj[sel]]) < -CMD_BITS
    flag = low.any(axis=1) | rb[:, a]
    return np.flatnonzero(flag) + p, cs, idx


def _block_walk(st: _Search, b: np.ndarray, j: np.ndarray, w: int, start: np.ndarray) -> np.ndarray:
    """Per (block ``b``, parameter ``j``): the lowest ``r_j + bits_a`` over ``b``'s values ``j`` can code, walked
    from ``r_j`` = ``start`` before ``b`` (a lower bound), or (``w`` > 0: ``j`` re-based in ``b - 1`` within its
    last ``w`` values) from the exact total after ``b - 1``'s last uncodable value."""
    a, top = st.act, st.bt.shape[1]
    vals = st.v[b[:, None] * BLOCK + np.arange(-w, BLOCK)]
    flat = vals + (j * top)[:, None]
    cod = st.ct.ravel().take(flat)
    bt = st.bt.ravel()
    ba = bt.take(vals[:, w:] + a * top)
    delta = bt.take(flat)
    delta[:, w:] -= ba
    if w:
        delta[:, :w] -= bt.take(vals[:, :w] + a * top)
    if w:
        after = np.logical_and.accumulate(cod[:, w - 1::-1], axis=1)[:, ::-1]
        start = (delta[:, :w] * after).sum(axis=1)
    c = np.cumsum(delta[:, w:], axis=1)
    unc = ~cod[:, w:]
    last = np.maximum.accumulate(np.where(unc, _POS, -1), axis=1)
    base = np.where(last >= 0, _pick(c, np.maximum(last, 0)), -start[:, None])
    return np.where(unc, np.iinfo(np.int64).max, c - base + ba).min(axis=1)


def search(v: np.ndarray, bits_tab: np.ndarray, cod_tab: np.ndarray) -> list[tuple[int, int]]:
    """The parameter search over one stream of ``v`` (non-negative ints): [(parameter, end position)], in order.
    ``bits_tab``/``cod_tab``: parameters × value tables of the search's bit estimate and codability."""
    n = int(v.size)
    if not n:
        return []
    v = np.asarray(v, np.int64)
    bits_tab = np.asarray(bits_tab, np.int64)
    st = _Search(v, bits_tab, cod_tab)
    s = 1
    if n <= SMALL:
        window = 256
        while s < n:
            e = min(n, s + window)
            s, switched = st.window(s, e)
            window = 256 if switched else window * 2
        return st.finish(n)
    bl = _Blocks(v, bits_tab, cod_tab)
    size = 8
    while s < n:
        if s % BLOCK:
            s, _ = st.window(s, min(n, -(-s // BLOCK) * BLOCK))
            size = 8
            continue
        p = s // BLOCK
        q = min(p + size, bl.nb)
        flags, cs, idx = _scan(st, bl, p, q)
        e, switched = p, False
        for f in flags.tolist():
            _advance(st, p, e, f, cs, idx)
            s, switched = st.window(f * BLOCK, min(n, f * BLOCK + BLOCK))
            if switched:
                break
            e = f + 1
        if switched:
            size = 8
            continue
        if q == bl.nb:
            break
        _advance(st, p, e, q, cs, idx)
        s, size = q * BLOCK, size * 2
    return st.finish(n)

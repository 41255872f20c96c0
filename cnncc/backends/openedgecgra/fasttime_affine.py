"""Loop acceleration over affine blocks (``fasttime``): how many further periods of a back edge run exactly
as the last one (branches, address ranges in bytes, 32-bit wrap-around, store collisions), skipping them in one
step, and the exact extra cycles of SRAM bank conflicts over an event's affine address box (numpy, only where two
columns can meet in one bank)."""

from __future__ import annotations

import numpy as np

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.fasttime_slice import I32_MAX, I32_MIN, INF, _Decoded


def _box(v: int, dims: tuple, s: int) -> tuple[int, int, bool]:
    """(min, max, constant) of value slot s over the inner dimensions of an event."""
    lo = hi = v
    const = True
    for k, dl in dims:
        x = (k - 1) * dl[s]
        if x:
            const = False
            if x < 0:
                lo += x
            else:
                hi += x
    return lo, hi, const


def _lim_range(lo: int, hi: int, dv: int, low: int, high: int) -> int:
    """Largest K such that [lo + t·dv, hi + t·dv] stays within [low, high] for t = 1..K."""
    if dv == 0:
        return INF if lo >= low and hi <= high else 0
    if dv > 0:
        return max(0, (high - hi) // dv) if lo + dv >= low else 0
    return max(0, (lo - low) // -dv) if hi + dv <= high else 0


def _lim_nonzero(lo: int, hi: int, const: bool, v: int, dv: int) -> int:
    """Largest K such that the value (box [lo, hi] at t = 0, nonzero at every point) stays nonzero for t = 1..K."""
    if dv == 0:
        return INF
    if const:
        if (-v) % dv == 0 and -v // dv >= 1:
            return -v // dv - 1
        return INF
    if hi < 0:
        return INF if dv < 0 else max(0, (-1 - hi) // dv)
    if lo > 0:
        return INF if dv > 0 else max(0, (lo - 1) // -dv)
    return 0


def _event_limit(d: _Decoded, pc: int, v: tuple, dv: tuple, dims: tuple, lim: int) -> int:
    """How many more periods this event runs exactly as observed, its values moving by ``dv`` per period."""
    k = INF
    for ent in d.layout[pc]:
        if ent[0] == "const":
            for s in range(ent[1], ent[1] + ent[2]):
                if dv[s] or not _box(v[s], dims, s)[2]:
                    return 0
        elif ent[0] == "lin":
            op, o = ent[1], ent[2]
            if op == "SMUL":
                if not ((dv[o] == 0 and _box(v[o], dims, o)[2]) or (dv[o + 1] == 0 and _box(v[o + 1], dims, o + 1)[2])):
                    return 0
            elif op == "SLT" and (dv[o + 1] or not _box(v[o + 1], dims, o + 1)[2]):
                return 0
            lo, hi, _ = _box(v[o + 2], dims, o + 2)
            k = min(k, _lim_range(lo, hi, dv[o + 2], I32_MIN, I32_MAX))
        else:
            op, o = ent[1], ent[2]
            e = v[o] - v[o + 1]
            de = dv[o] - dv[o + 1]
            edims = tuple((n, (dl[o] - dl[o + 1],)) for n, dl in dims)
            lo, hi, const = _box(e, edims, 0)
            if op == "JUMP":
                if dv[o] + dv[o + 1] or not _box(v[o] + v[o + 1],
                                                 tuple((n, (dl[o] + dl[o + 1],)) for n, dl in dims), 0)[2]:
                    return 0
            elif op in ("BLT", "BGE"):
                k = min(k, _lim_range(lo, hi, de, -INF, -1) if e < 0 else _lim_range(lo, hi, de, 0, INF))
            elif e == 0:
                if de or not const:
                    return 0
            else:
                k = min(k, _lim_nonzero(lo, hi, const, e, de))
        if k == 0:
            return 0
    o = d.mem_off[pc]
    mem = d.steps[pc][2]
    for j in range(len(mem)):
        s = o + j
        if dv[s] & 3:
            return 0
        lo, hi, _ = _box(v[s], dims, s)
        k = min(k, _lim_range(lo, hi, dv[s], 0, lim - 4))
    if d.steps[pc][5]:            # stores of two columns: their addresses must never meet
        st = [(m[1], o + j) for j, m in enumerate(mem) if m[2] in isa.STORE_OPS]
        for x in range(len(st)):
            for y in range(x + 1, len(st)):
                if st[x][0] != st[y][0]:
                    s1, s2 = st[x][1], st[y][1]
                    e = v[s1] - v[s2]
                    lo, hi, const = _box(e, tuple((n, (dl[s1] - dl[s2],)) for n, dl in dims), 0)
                    if lo <= 0 <= hi and not const:
                        return 0
                    k = min(k, _lim_nonzero(lo, hi, const, e, dv[s1] - dv[s2]))
    if d.words and k:             # a store at a moving address must not hit a tracked word
        for j, m in enumerate(mem):
            if m[2] == "SWD" or (m[2] == "SWI" and m[4][0] == 1):
                s = o + j
                lo, hi, _ = _box(v[s], dims, s)
                t = min(k, 1 << 40)
                lo, hi = min(lo + dv[s], lo + t * dv[s]), max(hi + dv[s], hi + t * dv[s])
                if any(lo <= w <= hi for w in d.words):
                    return 0
    return k


def _bank_extra(d: _Decoded, pc: int, v: tuple, dims: tuple, bw: int) -> int:
    """Extra cycles of bank conflicts of one event over its whole box (exact)."""
    mem = d.steps[pc][2]
    o = d.mem_off[pc]
    n = len(mem)
    cols = [m[1] for m in mem]
    lat = d.lat[pc]
    bl, bh = [], []
    for j in range(n):
        lo, hi, _ = _box(v[o + j], dims, o + j)
        bl.append((lo >> 2) // bw)
        bh.append((hi >> 2) // bw)
    if not any(cols[i] != cols[j] and bl[i] <= bh[j] and bl[j] <= bh[i] for i in range(n) for j in range(i + 1, n)):
        return 0
    mult = 1
    for kk, _ in dims:
        mult *= kk
    if bl == bh:
        return mult * max(0, max(bl.count(b) for b in bl) + 1 - lat)
    base = np.array(v[o:o + n], np.int64)
    shape = [n] + [kk for kk, _ in dims]
    grid = np.broadcast_to(base.reshape([n] + [1] * len(dims)), shape).copy()
    for ax, (kk, dl) in enumerate(dims):
        step = np.array(dl[o:o + n], np.int64).reshape([n] + [1] * len(dims))
        ar = np.arange(kk, dtype=np.int64).reshape([1] * (ax + 1) + [kk] + [1] * (len(dims) - ax - 1))
        grid += step * ar
    banks = (grid.reshape(n, -1) >> 2) // bw
    worst = np.zeros(banks.shape[1], np.int64)
    for j in range(n):
        np.maximum(worst, (banks == banks[j]).sum(0), out=worst)
    return int(np.maximum(0, worst + 1 - lat).sum())


def _try_skip(d: _Decoded, b: int, h: int, log: list, tk: list, S: list, counts: list, lim: int, bw: int,
              steps_left: int):
    """Skip the further periods of back-edge ``b`` that run like the last one; returns (instructions, extra
    bank cycles) added, or None."""
    (i0, s0), (i1, s1), (i2, s2) = tk[-3:]
    if i1 - i0 != i2 - i1:
        return None
    A, B = log[i0:i1], log[i1:i2]
    for ea, eb in zip(A, B):
        if ea[0] != eb[0] or ea[2] != eb[2] or ea[4] or eb[4] or not h <= eb[0] <= b or len(ea[1]) != len(eb[1]):
            return None
    delta = [y - x for x, y in zip(s1, s2)]
    if delta != [y - x for x, y in zip(s0, s1)]:
        return None
    dvs = [tuple(y - x for x, y in zip(ea[1], eb[1])) for ea, eb in zip(A, B)]
    per = sum(e[3] for e in B)
    k = steps_left // per if per else INF
    for eb, dv in zip(B, dvs):
        if k <= 0:
            return None
        k = min(k, _event_limit(d, eb[0], eb[1], dv, eb[2], lim))
    if k <= 0 or k >= INF:
        return None
    extra = 0
    for eb, dv in zip(B, dvs):
        pc = eb[0]
        base = tuple(x + y for x, y in zip(eb[1], dv))
        dims = ((k, dv),) + eb[2]
        counts[pc] += k * eb[3]
        if d.steps[pc][4]:
            extra += _bank_extra(d, pc, base, dims, bw)
        log.append((pc, base, dims, k * eb[3], False))
    for j, idx in enumerate(d.keep):
        S[idx] = s2[j] + k * delta[j]
    return k * per, extra

"""Bank-conflict cycles of launches moved in memory (``fasttime.ReadShift``): re-counted exactly over the
logged events of one timed launch whose memory streams start elsewhere (byte shifts per column or per PE)."""

from __future__ import annotations

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.fasttime_affine import _bank_extra, _box
from cnncc.backends.openedgecgra.fasttime_slice import _decoded
from cnncc.backends.openedgecgra.isa import N_PE

_MOVE = {"LWD": 0, "SWD": 1}     # ReadShift: moved with the read / write pointers; 2: per PE; 3: fixed address


class ReadShift:
    """Bank-conflict cycles of launches that differ from one timed launch only in where their memory streams
    start. Read pointers only move by their LWD immediates and feed nothing but LWD addresses (a value loaded
    through them that reaches timing makes the engine refuse the launch), so a launch whose pointers start
    ``shift[c]`` bytes away (column c) executes the same instructions with every LWD address of column c moved
    by ``shift[c]``; only bank conflicts change, and they are re-counted exactly over the logged events (singles
    and affine blocks). ``pe_shift`` (optional, per PE) moves the other memory accesses of a PE the same way:
    the caller asserts that the kernels of the moved launch differ only in immediates that add a constant to
    those addresses (``ic4cost``: the output-plane base immediates, checked in its tests against timing)."""

    def __init__(self, kernel, log: list, E: int, lim: int, bank_words: int):
        d = _decoded(kernel)
        self.d, self.lim, self.bw, self.E = d, lim, bank_words, E
        self.events = []      # (pc, values, dims, slots, columns, box offsets, multiplicity, stores meet, extra now)
        for pc, v, dims, _n, _u in log:
            mem = d.steps[pc][2]
            if not d.steps[pc][4] or not mem:
                continue
            o = d.mem_off[pc]
            slots = [(o + j, m[1], m[0], _MOVE[m[2]] if m[2] in _MOVE else 3 if m[4][0] == 0 else 2,
                      m[2] in isa.STORE_OPS) for j, m in enumerate(mem)]
            offs = []
            for sl, *_ in slots:
                lo, hi, _ = _box(v[sl], dims, sl)
                offs.append((lo - v[sl], hi - v[sl]))
            mult = 1
            for kk, _ in dims:
                mult *= kk
            stores = [m[2] in isa.STORE_OPS for m in mem] if d.steps[pc][5] else None
            ev = (pc, v, dims, slots, [m[1] for m in mem], offs, mult, stores)
            self.events.append(ev + (self._one(ev, [v[sl] for sl, *_ in slots]),))

    def _one(self, ev: tuple, base: list[int]) -> int:
        """Extra cycles of one event whose memory addresses start at ``base`` (as ``time_launch`` counts them)."""
        pc, v, dims, slots, cols, offs, mult, _st = ev[:8]
        d, bw, n = self.d, self.bw, len(base)
        lat = d.lat[pc]
        if not dims:
            if n < 2:
                return 0
            banks = [(b >> 2) // bw for b in base]
            return max(0, max(banks.count(x) for x in set(banks)) + 1 - lat)
        bl = [((b + lo) >> 2) // bw for b, (lo, _) in zip(base, offs)]
        bh = [((b + hi) >> 2) // bw for b, (_, hi) in zip(base, offs)]
        if not any(cols[i] != cols[j] and bl[i] <= bh[j] and bl[j] <= bh[i] for i in range(n) for j in range(i + 1, n)):
            return 0
        if bl == bh:
            return mult * max(0, max(bl.count(b) for b in bl) + 1 - lat)
        w = list(v)
        for (sl, *_), b in zip(slots, base):
            w[sl] = b
        return _bank_extra(d, pc, tuple(w), dims, bw)

    def extra(self, shift: tuple, pe_shift: tuple | None = None, wshift: tuple | None = None) -> int | None:
        """Extra cycles of the moved launch (read pointers moved by ``shift``, write pointers by ``wshift``, per
        column; other register-addressed accesses by ``pe_shift`` per PE; immediate addresses never move); None
        where a moved address is misaligned or leaves the memory, or where moved stores could meet each other
        or a tracked word (time that launch instead)."""
        d, top = self.d, self.lim - 4
        zero = (0,) * N_PE
        per = (shift, wshift or zero, pe_shift or zero, zero)
        if any(x & 3 for v in per for x in v):
            return None
        E = self.E
        for ev in self.events:
            _pc, v, dims, slots, _cols, offs, _mult, stores, old = ev
            moves = [per[kind][pe if kind >= 2 else c] for _, c, pe, kind, _st in slots]
            if not any(moves):
                continue
            if stores is not None and len({x for x, st in zip(moves, stores) if st}) > 1:
                return None
            base = [v[sl] + x for (sl, *_), x in zip(slots, moves)]
            for b, (lo, hi), x, (*_, st) in zip(base, offs, moves, slots):
                if b + lo < 0 or b + hi > top:
                    return None
                if x and st and d.words and any(b + lo <= w <= b + hi for w in d.words):
                    return None
            E += self._one(ev, base) - old
        return E


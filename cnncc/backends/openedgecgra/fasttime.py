"""Static timing of one launch by loop acceleration: the same counters as ``sim_scalar.run_one``, exact, in time
that grows with the kernel's loop nesting instead of with its executed instructions.

Timing never depends on data: it depends on which instructions run (branches) and on the SRAM banks of every
memory access. The engine runs only the *relevant slice* of the kernel (the ops whose results can reach a branch,
a load/store address or a select flag, plus the constant-address memory words such values pass through, such as
loop counters kept in memory); every other value is left stale.

Loop acceleration: a *period* of a back-edge branch is what runs between two of its consecutive takings. When
the last two periods ran the same instructions (inner loops skipped the same way), the relevant state moved by
the same delta, and every relevant operation in them is affine along the trajectory (adds and subtracts,
multiplies and shifts by a value that does not change, everything else on unchanging operands, no 32-bit
wrap-around, no value loaded from a moving address), then every relevant value of the next periods is the
observed value plus a multiple of its delta, so the engine computes how many further periods run the same way
(the first period in which any branch could decide otherwise, an address could leave the memory, a value could
wrap, a store could hit a tracked word or two columns could store to one word) and skips them in one step. Skipped
periods become *blocks*: instructions with one more affine dimension, which outer loops skip again. Bank
conflicts of the skipped instructions are counted over their affine address boxes (numpy, only where two columns
can meet in one bank). Anything outside these rules falls back to ``run_one``. Result: instruction counts per
program index and the total extra cycles of bank conflicts ``E``; cycles, stalls and idle PE-cycles follow."""

from __future__ import annotations

from operator import itemgetter

import numpy as np

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.isa import COLS, N_PE

INF = 1 << 62
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
M32, S32 = 0xFFFFFFFF, 0x80000000
_ROUT = 4
_WROTE = 5 * N_PE          # state index of PE pe's "has written its output" flag: _WROTE + pe
_RPTR = _WROTE + N_PE       # read pointers of the columns, then write pointers
_WPTR = _RPTR + COLS
_WORDS = _WPTR + COLS       # tracked memory words
_LINEAR = {"SADD", "SSUB", "SMUL", "SLT"}


class Unsupported(Exception):
    """The engine cannot follow this launch exactly (the caller falls back to the full scalar simulation)."""


def _neigh():
    from cnncc.backends.openedgecgra.sim import _NEIGH

    return _NEIGH


def _loc(name: str, pe: int) -> int | None:
    if name in ("ZERO", "IMM"):
        return None
    if name == "SELF":
        return 5 * pe + _ROUT
    if name[0] == "R" and name[1].isdigit():
        return 5 * pe + int(name[1])
    return 5 * _neigh()[name][pe] + _ROUT


def _src(name: str, pe: int, imm: int) -> tuple[int, int]:
    """(0, constant) or (1, state index)."""
    if name == "ZERO":
        return (0, 0)
    if name == "IMM":
        return (0, imm)
    loc = _loc(name, pe)
    assert loc is not None
    return (1, loc)


def _flag_pe(i: isa.Instr, pe: int) -> int:
    return pe if i.flag == "SELF" else _neigh()[i.flag][pe]


def _relevance(program) -> tuple[set[int], set[int]]:
    """(relevant state locations, byte addresses of tracked memory words): a flow-insensitive fixpoint seeded by
    branch operands and LWI/SWI addresses."""
    rel: set[int] = set()
    words: set[int] = set()
    instrs = [(pe, i) for step in program for pe, i in enumerate(step) if i.op not in ("NOP", "EXIT")]

    def use(pe: int, names) -> None:
        for n in names:
            loc = _loc(n, pe)
            if loc is not None:
                rel.add(loc)

    for pe, i in instrs:
        if i.op in isa.BRANCH_OPS or i.op == "JUMP":
            use(pe, (i.a, i.b))
        elif i.op in ("LWI", "SWI"):
            use(pe, (i.b,))
    while True:
        n0 = (len(rel), len(words))
        for pe, i in instrs:
            if i.op in isa.STORE_OPS:
                if i.op == "SWI" and i.b == "IMM" and i.imm in words:
                    use(pe, (i.a,))
                continue
            outs = {5 * pe + _ROUT} | ({5 * pe + i.dest} if i.dest is not None else set())
            if not outs & rel:
                continue
            if i.op in isa.LOAD_OPS:
                if i.op == "LWI" and i.b == "IMM":
                    words.add(i.imm)
                continue
            use(pe, (i.a, i.b))
            if i.op in ("BSFA", "BZFA"):
                rel.add(5 * _flag_pe(i, pe) + _ROUT)
                rel.add(_WROTE + _flag_pe(i, pe))
        if (len(rel), len(words)) == n0:
            return rel, words


class _Decoded:
    """The relevant slice of a kernel, per program index."""

    layout: list          # per program index: memory-access layout (``_layout``, built on first use)
    mem_off: list         # per program index: offsets of its memory accesses (``_layout``)
    back: dict[int, int]  # back-edge pc -> loop head

    def __init__(self, kernel):
        prog = kernel.program
        rel, words = _relevance(prog)
        self.words = sorted(words)
        self.word_slot = {w: _WORDS + j for j, w in enumerate(self.words)}
        self.n_state = _WORDS + len(self.words)
        wrote_pes = {pe for pe in range(N_PE) if 5 * pe + _ROUT in rel}
        keep = sorted(x for x in rel if x < _WROTE) + [_WROTE + pe for pe in sorted(wrote_pes)] + \
            list(range(_RPTR, self.n_state))
        self.snap = itemgetter(*keep)
        self.keep = keep
        self.keep_set = set(keep)
        self.lat = kernel.latency.tolist()
        self.steps = []
        self.back = {}                      # back-edge pc -> loop head
        for t, step in enumerate(prog):
            alu, br, mem = [], [], []
            for pe, i in enumerate(step):
                if i.op in ("NOP", "EXIT") or i.op in isa.MEM_OPS:
                    continue
                outs = [5 * pe + _ROUT] + ([5 * pe + i.dest] if i.dest is not None else [])
                if i.op in isa.BRANCH_OPS or i.op == "JUMP":
                    br.append((pe, i.op, _src(i.a, pe, i.imm), _src(i.b, pe, i.imm), i.imm & 31,
                               5 * pe + _ROUT in rel))
                    if i.op == "JUMP":
                        self.back[t] = 0
                    elif (i.imm & 31) <= t:
                        self.back[t] = min(self.back.get(t, 99), i.imm & 31)
                elif any(o in rel for o in outs):
                    fl = _flag_pe(i, pe) if i.op in ("BSFA", "BZFA") else -1
                    alu.append((i.op, _src(i.a, pe, i.imm), _src(i.b, pe, i.imm), outs, fl, pe))
            for c in range(COLS):
                for r in range(isa.ROWS):
                    pe = r * COLS + c
                    i = step[pe]
                    if i.op not in isa.MEM_OPS:
                        continue
                    outs = [5 * pe + _ROUT] + ([5 * pe + i.dest] if i.dest is not None else [])
                    kind = 0
                    if i.op in isa.LOAD_OPS and any(o in rel for o in outs):
                        kind = 1 if i.op == "LWI" and i.b == "IMM" else 2     # tracked word / moving address
                    mem.append((pe, c, i.op, _src(i.a, pe, i.imm), _src(i.b, pe, i.imm), i.imm, outs, kind))
            n_st = sum(m[2] in isa.STORE_OPS for m in mem)
            cols_st = {m[1] for m in mem if m[2] in isa.STORE_OPS}
            self.steps.append((alu, br, mem, any(i.op == "EXIT" for i in step),
                               len(mem) + 1 > self.lat[t] and len({m[1] for m in mem}) > 1,
                               n_st > 1 and len(cols_st) > 1))
        self.back = {b: h for b, h in self.back.items() if h <= b}


def _decoded(kernel) -> _Decoded:
    d: _Decoded | None = getattr(kernel, "_fast", None)
    if d is None:
        d = kernel._fast = _Decoded(kernel)
    return d


_alu = isa.alu  # the ISA's ALU semantics (shared with the simulator)


def _w(x: int) -> int:
    return ((x + S32) & M32) - S32


def _layout(d: _Decoded) -> None:
    """Per program index, where each value of an event lies: ('lin', op, off) a, b, result of an affine op;
    ('const', off, n) values that must not move; ('br', op, off) branch operands; memory addresses from
    ``mem_off``."""
    d.layout, d.mem_off = [], []
    for alu, br, _mem, *_ in d.steps:
        lay, off = [], 0
        for op, _sa, _sb, _outs, fl, _pe in alu:
            n = 4 if fl >= 0 else 3
            lay.append(("lin", op, off) if op in _LINEAR else ("const", off, n))
            off += n
        for _pe, op, *_ in br:
            lay.append(("br", op, off))
            off += 2
        d.layout.append(lay)
        d.mem_off.append(off)


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


def time_launch(kernel, mem: np.ndarray, rptr, wptr, bank_words: int, max_steps: int,
                log_out: list | None = None) -> tuple[list[int], int]:
    """(executed count per program index, extra cycles of bank conflicts) of one launch; raises ``SimError`` like
    the simulator and ``Unsupported`` where the engine cannot follow the launch exactly. ``mem`` is only read.
    ``log_out`` receives the launch's events (every executed instruction once: single or affine block), for
    ``shifted_extra``."""
    from cnncc.backends.openedgecgra.sim import POISON, SimError

    d = _decoded(kernel)
    if not hasattr(d, "layout"):
        _layout(d)
    n_instr = kernel.n_instr
    lim = 4 * mem.shape[0]
    S = [0] * d.n_state
    S[_RPTR:_RPTR + COLS] = list(rptr)
    S[_WPTR:_WPTR + COLS] = list(wptr)
    for w, slot in d.word_slot.items():
        S[slot] = int(mem[w >> 2]) if not w & 3 and 0 <= w < lim else 0
    counts = [0] * n_instr
    E = 0
    n_exec = 0
    pc = 0
    log: list = []
    takes: dict[int, list] = {b: [] for b in d.back}
    steps, lat_s, snap, layout_ok = d.steps, d.lat, d.snap, True
    while True:
        if pc >= n_instr:
            raise SimError(f"{kernel.name}: ran past the last instruction without EXIT")
        alu, br, memops, ex, bank_possible, _ = steps[pc]
        counts[pc] += 1
        n_exec += 1
        if n_exec > max_steps:
            raise SimError(f"{kernel.name}: more than {max_steps} instructions (runaway loop)")
        vals: list[int] = []
        wr: list = []
        unsafe = False
        for op, sa, sb, outs, fl, _pe in alu:
            a = S[sa[1]] if sa[0] else sa[1]
            b = S[sb[1]] if sb[0] else sb[1]
            if fl >= 0:
                f = S[5 * fl + _ROUT]
                cond = bool(S[_WROTE + fl]) and ((f < 0) if op == "BSFA" else (f == 0))
                r = a if cond else b
                vals += (a, b, r, f)
            else:
                raw = _alu(op, a, b)
                r = _w(raw)
                if r != raw:
                    unsafe = True
                vals += (a, b, r)
            for o in outs:
                wr.append((o, r))
        target = None
        if br:
            req = 0
            for pe, op, sa, sb, tgt, rout_rel in br:
                a = S[sa[1]] if sa[0] else sa[1]
                b = S[sb[1]] if sb[0] else sb[1]
                vals += (a, b)
                if op == "JUMP":
                    req += 1
                    target = (a + b) & 31
                    r = _w(a + b)
                else:
                    c = a == b if op == "BEQ" else a != b if op == "BNE" else a < b if op == "BLT" else a >= b
                    r = int(c)
                    if c:
                        req += 1
                        target = tgt
                if rout_rel:
                    wr.append((5 * pe + _ROUT, r))
            if req != 1:
                target = None
        if memops:
            banks = []
            stored: dict = {}
            for pe, c, op, sa, sb, imm, outs, kind in memops:
                if op == "LWD":
                    addr = S[_RPTR + c]
                    S[_RPTR + c] += imm
                elif op == "SWD":
                    addr = S[_WPTR + c]
                    S[_WPTR + c] += imm
                else:
                    addr = S[sb[1]] if sb[0] else sb[1]
                if addr & 3 or addr < 0 or addr >= lim:
                    raise SimError(f"{kernel.name}: {op} at invalid byte address {addr} (memory {lim} bytes)")
                vals.append(addr)
                idx = addr >> 2
                banks.append(idx // bank_words)
                if op in ("LWD", "LWI"):
                    if kind == 1:
                        r = S[d.word_slot[addr]]
                        for o in outs:
                            wr.append((o, r))
                    elif kind == 2:
                        raise Unsupported("a relevant value is loaded from a moving address")
                else:
                    if stored.setdefault(idx, c) != c:
                        raise SimError(f"{kernel.name}: columns {stored[idx]} and {c} store to byte address {addr} "
                                       f"in instruction {pc} (the RTL's result depends on bus grant order)")
                    slot = d.word_slot.get(addr)
                    if slot is not None:
                        if op != "SWI" or sb[0] != 0:
                            raise Unsupported("a tracked word is stored through a moving address")
                        S[slot] = S[sa[1]] if sa[0] else sa[1]
                    if 5 * pe + _ROUT in d.keep_set:
                        wr.append((5 * pe + _ROUT, POISON))
            if bank_possible and len(banks) > 1:
                worst = max(banks.count(x) for x in set(banks)) + 1
                if worst > lat_s[pc]:
                    E += worst - lat_s[pc]
        for o, r in wr:
            S[o] = r
            if o % 5 == _ROUT:
                S[_WROTE + o // 5] = 1
        log.append((pc, tuple(vals), (), 1, unsafe))
        if ex and target is None:       # a taken branch in the EXIT instruction wins (RTL)
            break
        if target is not None and layout_ok and d.back.get(pc) == target:
            tk = takes[pc]
            tk.append((len(log), snap(S)))
            if len(tk) >= 3:
                got = _try_skip(d, pc, target, log, tk, S, counts, lim, bank_words, max_steps - n_exec)
                if got is not None:
                    n_exec += got[0]
                    E += got[1]
                    takes[pc] = [(len(log), snap(S))]
                    for b2, h2 in d.back.items():
                        if b2 != pc and target <= h2 and b2 <= pc:
                            takes[b2] = []
                else:
                    del tk[:-2]
        pc = target if target is not None else pc + 1
    if log_out is not None:
        log_out[:] = log
    return counts, E


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

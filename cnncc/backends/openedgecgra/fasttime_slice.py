"""The relevant slice of a kernel for static timing (``fasttime``): which state locations and memory words can
reach a branch, a load/store address or a select flag, decoded once per kernel into per-program-index tuples.

State vector layout (one int per slot): 5 slots per PE (registers R0-R3, then ROUT), the per-PE "has written
its output" flags, the columns' read then write pointers (byte addresses), then the tracked memory words
(constant byte addresses whose values reach timing, such as loop counters kept in memory)."""

from __future__ import annotations

from operator import itemgetter

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


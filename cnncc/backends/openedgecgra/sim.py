"""RTL-faithful, batch-vectorised simulator of the 4x4 OpenEdgeCGRA.

Rules (``shared/reference/openedgecgra.md``, RTL column): the four columns run in lock-step, one
CGRA-instruction = 16 PE ops; every operand read sees the state *before* the instruction (a neighbour's ROUT is
therefore the value of the previous instruction); the torus wraps; every non-NOP op writes ROUT (after a store
ROUT is undefined: the simulator poisons it); SMUL/FXPMUL stall the whole kernel to 3 cycles; each column has one
memory port, accesses of a column are served in row order and pipelined (n accesses, loads and stores added up,
take n + 1 cycles); LWD/SWD use the column's read/write pointer and then add sext(imm) to it; a compare-branch
writes 1/0 to ROUT and all columns branch only when exactly one PE of the kernel requests it; arithmetic wraps
at 32 bits; memory is a word array addressed in bytes.

Batching: a batch holds launches of the same kernel that the host plan declares independent; they run in one
vectorised pass. Control flow must be identical across the batch (checked at every branch) and the simulator
checks after each batch that no launch touched a word another launch of the batch wrote, so the batched result
equals running the launches one after another. Timing is a static property of each instruction, so cycles and
counters are accumulated per executed instruction index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.isa import COLS, N_PE, ROWS, Instr

POISON = 0x5A5A5A5A
MAX_STEPS = 5_000_000

#: event vector layout: one slot per opcode, then the derived counters below
EV_NOP_MULSTALL = len(isa.OPCODES)
EV_IDLE_PE_CYCLES = EV_NOP_MULSTALL + 1
EV_LOADS = EV_IDLE_PE_CYCLES + 1
EV_STORES = EV_LOADS + 1
N_EVENTS = EV_STORES + 1

_NEIGH = {
    "RCL": [r * COLS + (c - 1) % COLS for r in range(ROWS) for c in range(COLS)],
    "RCR": [r * COLS + (c + 1) % COLS for r in range(ROWS) for c in range(COLS)],
    "RCT": [((r - 1) % ROWS) * COLS + c for r in range(ROWS) for c in range(COLS)],
    "RCB": [((r + 1) % ROWS) * COLS + c for r in range(ROWS) for c in range(COLS)],
}
_FLAGSRC = {"SELF": None, "RCL": "RCL", "RCR": "RCR", "RCT": "RCT", "RCB": "RCB"}


class SimError(RuntimeError):
    """The kernel did something the hardware cannot do (bad address, divergent batch, runaway loop)."""


def wrap32(x):
    return ((x + 0x80000000) & 0xFFFFFFFF) - 0x80000000


@dataclass(frozen=True)
class Launch:
    """Host-side launch parameters: per-column read and write pointers (byte addresses)."""

    rptr: tuple[int, ...]
    wptr: tuple[int, ...] = (0, 0, 0, 0)


@dataclass
class Stats:
    """Counters of one or more launches (hardware-style performance counters)."""

    launches: int = 0
    cycles: int = 0                     # CGRA cycles, summed over launches
    instructions: int = 0               # CGRA-instructions executed
    col_active: np.ndarray = field(default_factory=lambda: np.zeros(COLS, np.int64))
    col_stall: np.ndarray = field(default_factory=lambda: np.zeros(COLS, np.int64))
    events: np.ndarray = field(default_factory=lambda: np.zeros(N_EVENTS, np.int64))
    launch_cycles: list[int] = field(default_factory=list)

    def add(self, other: Stats) -> None:
        self.launches += other.launches
        self.cycles += other.cycles
        self.instructions += other.instructions
        self.col_active += other.col_active
        self.col_stall += other.col_stall
        self.events += other.events
        self.launch_cycles.extend(other.launch_cycles)

    @property
    def pe_ops(self) -> int:
        """Non-NOP PE operations executed."""
        return int(self.events[1:len(isa.OPCODES)].sum())

    @property
    def mem_accesses(self) -> int:
        return int(self.events[EV_LOADS] + self.events[EV_STORES])


_TIMING_CACHE: dict = {}


def _timing(step: list[Instr]):
    """(latency, per-column own latency, event vector) of one instruction; depends on the opcodes only."""
    key = tuple(i.op for i in step)
    hit = _TIMING_CACHE.get(key)
    if hit is None:
        hit = _TIMING_CACHE[key] = _timing_uncached(step)
    return hit


def _timing_uncached(step: list[Instr]):
    has_mul = any(i.op in isa.MUL_OPS for i in step)
    own = []
    for c in range(COLS):
        col = [step[r * COLS + c] for r in range(ROWS)]
        n = sum(i.op in isa.MEM_OPS for i in col)
        own.append(max(1, 3 if any(i.op in isa.MUL_OPS for i in col) else 1, n + 1 if n else 0))
    latency = max(own + [3 if has_mul else 1])
    ev = np.zeros(N_EVENTS, np.int64)
    for i in step:
        ev[isa.OPCODES[i.op]] += 1
        if i.op == "NOP" and has_mul:
            ev[EV_NOP_MULSTALL] += 1
        elif i.op != "NOP":
            natural = 3 if i.op in isa.MUL_OPS else 1
            ev[EV_IDLE_PE_CYCLES] += max(0, latency - natural)
    ev[EV_LOADS] = sum(i.op in isa.LOAD_OPS for i in step)
    ev[EV_STORES] = sum(i.op in isa.STORE_OPS for i in step)
    return latency, np.array(own, np.int64), ev


class _Step:
    __slots__ = ("ops", "mem", "branch", "exit", "latency", "col_own", "events")

    def __init__(self, step: list[Instr]):
        self.ops = [(pe, i) for pe, i in enumerate(step) if i.op not in ("NOP", "EXIT") and i.op not in isa.MEM_OPS]
        self.mem = [(pe, i) for c in range(COLS) for r in range(ROWS)
                    for pe, i in [(r * COLS + c, step[r * COLS + c])] if i.op in isa.MEM_OPS]
        self.branch = [(pe, i) for pe, i in enumerate(step) if i.op in isa.BRANCH_OPS or i.op == "JUMP"]
        self.exit = any(i.op == "EXIT" for i in step)
        self.latency, self.col_own, self.events = _timing(step)


class Kernel:
    """A verified program, pre-decoded for simulation."""

    def __init__(self, program: list[list[Instr]], name: str = "kernel"):
        from cnncc.backends.openedgecgra.asm import verify

        verify(program)
        self.program = program
        self.name = name
        self._steps: list | None = None
        # caches filled by sim_scalar / timing / context (per kernel object)
        self._scalar: Any = None
        self._imms: Any = None
        self._shape: Any = None
        self._timing_key: Any = None
        self._control_key: Any = None
        self._fast: Any = None
        #: (step, pe) of immediates that only form base addresses the plan's timing signature lists (their
        #: banks are part of the signature), blanked in the timing key
        self.base_imms: frozenset[tuple[int, int]] = frozenset()
        timing = [_timing(s) for s in program]
        self.latency = np.array([t[0] for t in timing], np.int64)
        self.col_own = np.stack([t[1] for t in timing])
        self.events = np.stack([t[2] for t in timing])

    @property
    def steps(self) -> list:
        """Pre-decoded steps of the batched (vector) path, built on first use."""
        if self._steps is None:
            self._steps = [_Step(s) for s in self.program]
        return self._steps

    @property
    def n_instr(self) -> int:
        return len(self.program)


def _alu(op: str, a, b):
    try:
        return isa.alu(op, a, b)
    except ValueError as e:
        raise SimError(str(e)) from None


def run(kernel: Kernel, mem: np.ndarray, launches: list[Launch], check_independent: bool = True,
        bank_words: int = 8192, force_vector: bool = False, timing_only: bool = False,
        lane_words: dict | None = None, per_lane: bool = False):
    """Run ``launches`` (one independent batch) of ``kernel`` on the word array ``mem`` (int64, modified in
    place, values kept in int32 range). Returns the summed counters; ``launch_cycles`` has one entry per launch.

    Memory timing: a column's accesses are serial (one port); accesses of different columns to the same SRAM
    bank (``bank_words`` words each, non-interleaved) are serial too; an instruction with memory accesses lasts
    max(accesses of the busiest column, accesses to the busiest bank) + 1 cycles.

    ``timing_only`` (prediction): the launches are alternatives, not one batch; stores of different launches to
    one word are allowed (the values are then meaningless, the counters are not: control flow is checked equal
    across launches at every branch), ``lane_words`` {word index: per-launch values} are private to each launch
    (its parameter words) and ``per_lane`` returns one Stats per launch instead of their sum."""
    bsz = len(launches)
    if bsz == 1 and not force_vector:
        return _run_single(kernel, mem, launches[0], bank_words)
    reg = np.zeros((4, N_PE, bsz), np.int64)
    rout = np.zeros((N_PE, bsz), np.int64)
    wrote = np.zeros(N_PE, bool)        # the PE has written its output in this launch (its flags are valid)
    rptr = np.array([lc.rptr for lc in launches], np.int64).T.copy()   # (COLS, B)
    wptr = np.array([lc.wptr for lc in launches], np.int64).T.copy()
    nwords = mem.shape[0]
    counts = np.zeros(kernel.n_instr, np.int64)
    reads: list[np.ndarray] = []
    writes: list[np.ndarray] = []
    lane = np.arange(bsz)
    pc = 0
    steps = 0
    cyc = np.zeros(bsz, np.int64)
    col_stall = np.zeros((COLS, bsz), np.int64)
    extra_idle = np.zeros(bsz, np.int64)

    def src(name, pe, imm, r0):
        if name == "ZERO":
            return 0
        if name == "IMM":
            return imm
        if name == "SELF":
            return r0[pe]
        if name[0] == "R" and name[1].isdigit():
            return reg[int(name[1]), pe]
        return r0[_NEIGH[name][pe]]

    def word_index(addr, what):
        if np.any(addr & 3) or np.any(addr < 0) or np.any(addr >= 4 * nwords):
            bad = int(np.asarray(addr).ravel()[0])
            raise SimError(f"{kernel.name}: {what} at invalid byte address {bad} (memory {4 * nwords} bytes)")
        return addr >> 2

    while True:
        if pc >= kernel.n_instr:
            raise SimError(f"{kernel.name}: ran past the last instruction without EXIT")
        st = kernel.steps[pc]
        counts[pc] += 1
        steps += 1
        if steps > MAX_STEPS:
            raise SimError(f"{kernel.name}: more than {MAX_STEPS} instructions (runaway loop)")
        r0 = rout.copy()
        banks = []
        new_rout = []
        new_reg = []
        for pe, ins in st.ops:
            a = src(ins.a, pe, ins.imm, r0)
            b = src(ins.b, pe, ins.imm, r0)
            if ins.op in isa.BRANCH_OPS or ins.op == "JUMP":
                continue
            if ins.op in ("BSFA", "BZFA"):
                fpe = pe if ins.flag == "SELF" else _NEIGH[ins.flag][pe]
                f = r0[fpe]
                # flags of a PE that has not written its output yet are reset: sign 0, zero 0 (RTL)
                cond = ((f < 0) if ins.op == "BSFA" else (f == 0)) & bool(wrote[fpe])
                val = np.where(cond, a, b)
            else:
                val = wrap32(_alu(ins.op, np.asarray(a, np.int64), np.asarray(b, np.int64)))
            val = np.broadcast_to(val, (bsz,))
            new_rout.append((pe, val))
            if ins.dest is not None:
                new_reg.append((ins.dest, pe, val))
        target = None
        if st.branch:
            req = np.zeros(bsz, np.int64)
            tg = np.full(bsz, -1, np.int64)
            for pe, ins in st.branch:
                a = np.broadcast_to(np.asarray(src(ins.a, pe, ins.imm, r0), np.int64), (bsz,))
                b = np.broadcast_to(np.asarray(src(ins.b, pe, ins.imm, r0), np.int64), (bsz,))
                if ins.op == "JUMP":
                    cond = np.ones(bsz, bool)
                    t = (a + b) & 31
                    new_rout.append((pe, wrap32(a + b)))
                else:
                    cond = {"BEQ": a == b, "BNE": a != b, "BLT": a < b, "BGE": a >= b}[ins.op]
                    t = np.full(bsz, ins.imm & 31)
                    new_rout.append((pe, cond.astype(np.int64)))
                req += cond
                tg = np.where(cond, t, tg)
            taken = req == 1
            if taken.any() != taken.all() or (taken.any() and np.unique(tg).size != 1):
                raise SimError(f"{kernel.name}: control flow diverges inside a batch at instruction {pc}")
            if taken[0]:
                target = int(tg[0])
        stored: list = []
        for pe, ins in st.mem:
            c = pe % COLS
            if ins.op == "LWD":
                idx = word_index(rptr[c], "LWD")
                banks.append(idx // bank_words)
                val = _load(mem, idx, lane_words, lane)
                rptr[c] += ins.imm
                if not timing_only:
                    reads.append(idx)
            elif ins.op == "LWI":
                addr = np.broadcast_to(np.asarray(src(ins.b, pe, ins.imm, r0), np.int64), (bsz,))
                idx = word_index(addr, "LWI")
                banks.append(idx // bank_words)
                val = _load(mem, idx, lane_words, lane)
                if not timing_only:
                    reads.append(idx)
            else:
                v = np.broadcast_to(np.asarray(src(ins.a, pe, ins.imm, r0), np.int64), (bsz,))
                if ins.op == "SWD":
                    idx = word_index(wptr[c].copy(), "SWD")
                    wptr[c] += ins.imm
                else:
                    addr = np.broadcast_to(np.asarray(src(ins.b, pe, ins.imm, r0), np.int64), (bsz,))
                    idx = word_index(addr, "SWI")
                for c2, idx2 in stored:       # per launch (lane): one word, two columns -> refused
                    if c2 != c and np.any(idx2 == idx):
                        raise SimError(f"{kernel.name}: columns {c2} and {c} store to one word in instruction {pc} "
                                       f"(the RTL's result depends on bus grant order)")
                stored.append((c, idx))
                if bsz > 1 and not timing_only and np.unique(idx).size != bsz:
                    raise SimError(f"{kernel.name}: launches of one batch store to the same word")
                banks.append(idx // bank_words)
                mem[idx] = wrap32(v)
                if lane_words:
                    for w, arr in lane_words.items():
                        hit = idx == w
                        if hit.any():
                            arr[hit] = wrap32(v)[hit]
                if not timing_only:
                    writes.append(idx)
                val = np.full(bsz, POISON, np.int64)
                ins = Instr(ins.op)  # no register write for stores
            new_rout.append((pe, val))
            if ins.dest is not None:
                new_reg.append((ins.dest, pe, val))
        lat = np.full(bsz, st.latency, np.int64)
        if len(banks) > 1:
            bk = np.stack(banks)
            worst = (bk[:, None, :] == bk[None, :, :]).sum(1).max(0)
            lat = np.maximum(lat, worst + 1)
        cyc += lat
        col_stall += lat[None, :] - st.col_own[:, None]
        extra_idle += (lat - st.latency) * N_PE
        for pe, val in new_rout:
            rout[pe] = val
            wrote[pe] = True
        for d, pe, val in new_reg:
            reg[d, pe] = val
        if st.exit and target is None:       # a taken branch in the EXIT instruction wins (RTL)
            break
        pc = target if target is not None else pc + 1
    if check_independent and bsz > 1 and writes:
        _check_independent(np.stack(reads) if reads else np.zeros((0, bsz), np.int64), np.stack(writes), lane,
                           kernel.name)
    if per_lane:
        out = []
        for j in range(bsz):
            s1 = Stats(launches=1, cycles=int(cyc[j]), instructions=int(counts.sum()))
            s1.col_active = (counts[:, None] * kernel.col_own).sum(0)
            s1.col_stall = col_stall[:, j].copy()
            s1.events = counts @ kernel.events
            s1.events[EV_IDLE_PE_CYCLES] += int(extra_idle[j])
            s1.launch_cycles = [int(cyc[j])]
            out.append(s1)
        return out
    stats = Stats(launches=bsz)
    stats.cycles = int(cyc.sum())
    stats.instructions = int(counts.sum()) * bsz
    stats.col_active = (counts[:, None] * kernel.col_own).sum(0) * bsz
    stats.col_stall = col_stall.sum(1)
    stats.events = (counts @ kernel.events) * bsz
    stats.events[EV_IDLE_PE_CYCLES] += int(extra_idle.sum())
    stats.launch_cycles = [int(x) for x in cyc]
    return stats


def _load(mem: np.ndarray, idx: np.ndarray, lane_words: dict | None, lane: np.ndarray) -> np.ndarray:
    val = mem[idx]
    if lane_words:
        for w, arr in lane_words.items():
            hit = idx == w
            if hit.any():
                val = np.where(hit, arr, val)
    return val


def _run_single(kernel: Kernel, mem: np.ndarray, launch: Launch, bank_words: int) -> Stats:
    from cnncc.backends.openedgecgra.sim_scalar import run_one

    counts, cyc, stall, extra = run_one(kernel, mem, launch.rptr, launch.wptr, bank_words, MAX_STEPS)
    counts = np.array(counts, np.int64)
    st = Stats(launches=1, cycles=int(cyc), instructions=int(counts.sum()))
    st.col_active = (counts[:, None] * kernel.col_own).sum(0)
    st.col_stall = np.array(stall, np.int64)
    st.events = counts @ kernel.events
    st.events[EV_IDLE_PE_CYCLES] += int(extra)
    st.launch_cycles = [int(cyc)]
    return st


def timed_counts(kernel: Kernel, mem: np.ndarray, launch: Launch, bank_words: int) -> tuple[np.ndarray, int]:
    """(executions per program index, extra cycles of bank conflicts) of one launch by static timing
    (``fasttime``: loop acceleration, exact; ``mem`` is only read), falling back to the full single-launch
    simulation (on a copy of ``mem``) where the engine cannot follow the launch."""
    from cnncc.backends.openedgecgra import fasttime
    from cnncc.backends.openedgecgra.sim_scalar import run_one

    try:
        counts, extra = fasttime.time_launch(kernel, mem, launch.rptr, launch.wptr, bank_words, MAX_STEPS)
    except fasttime.Unsupported:
        counts, _, _, idle = run_one(kernel, mem.copy(), launch.rptr, launch.wptr, bank_words, MAX_STEPS)
        extra = idle // N_PE
    return np.array(counts, np.int64), int(extra)


def timed(kernel: Kernel, mem: np.ndarray, launch: Launch, bank_words: int) -> Stats:
    """Counters of one launch by static timing (``timed_counts``); equal to ``run`` on that launch."""
    counts, extra = timed_counts(kernel, mem, launch, bank_words)
    return counts_stats(kernel, counts, extra)


def counts_stats(kernel: Kernel, counts: np.ndarray, extra: int) -> Stats:
    """Counters of one launch from its executions per program index and its extra bank-conflict cycles."""
    st = Stats(launches=1, instructions=int(counts.sum()))
    st.cycles = int(counts @ kernel.latency) + extra
    st.col_active = (counts[:, None] * kernel.col_own).sum(0)
    st.col_stall = (counts[:, None] * (kernel.latency[:, None] - kernel.col_own)).sum(0) + extra
    st.events = counts @ kernel.events
    st.events[EV_IDLE_PE_CYCLES] += N_PE * extra
    st.launch_cycles = [st.cycles]
    return st


def _check_independent(reads: np.ndarray, writes: np.ndarray, lane: np.ndarray, name: str) -> None:
    """No word written by one launch of the batch may be read or written by another one."""
    w_addr = writes.ravel()
    w_lane = np.broadcast_to(lane, writes.shape).ravel()
    owner = {}
    order = np.argsort(w_addr, kind="stable")
    wa, wl = w_addr[order], w_lane[order]
    if wa.size and np.any((wa[1:] == wa[:-1]) & (wl[1:] != wl[:-1])):
        raise SimError(f"{name}: two launches of one batch write the same word")
    uniq, first = np.unique(wa, return_index=True)
    owner = dict(zip(uniq.tolist(), wl[first].tolist()))
    if reads.size:
        r_addr = reads.ravel()
        r_lane = np.broadcast_to(lane, reads.shape).ravel()
        hit = np.isin(r_addr, uniq)
        if hit.any():
            own = np.array([owner[a] for a in r_addr[hit].tolist()])
            if np.any(own != r_lane[hit]):
                raise SimError(f"{name}: a launch reads a word another launch of its batch writes")

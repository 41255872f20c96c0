"""The batched, vectorised simulation of one kernel (``sim.run``): the launches of a batch run in one numpy pass
(one lane each) under the RTL rules of :mod:`sim`; control flow must be identical across the batch (checked at
every branch) and, after the batch, no launch may have touched a word another launch wrote. A batch of one
launch runs on the scalar simulator (``sim_scalar.run_one``)."""

from __future__ import annotations

import numpy as np

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.isa import COLS, N_PE, Instr
from cnncc.backends.openedgecgra.sim_kernel import (
    _NEIGH,
    EV_IDLE_PE_CYCLES,
    MAX_STEPS,
    POISON,
    Kernel,
    Launch,
    SimError,
    Stats,
    wrap32,
)


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

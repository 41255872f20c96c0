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

import numpy as np

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.fasttime_affine import _try_skip
from cnncc.backends.openedgecgra.fasttime_shift import ReadShift
from cnncc.backends.openedgecgra.fasttime_slice import (
    _ROUT,
    _RPTR,
    _WPTR,
    _WROTE,
    I32_MAX,
    I32_MIN,
    INF,
    M32,
    S32,
    _decoded,
    _layout,
)
from cnncc.backends.openedgecgra.isa import COLS

__all__ = ["I32_MAX", "I32_MIN", "INF", "M32", "S32", "ReadShift", "Unsupported", "time_launch"]


class Unsupported(Exception):
    """The engine cannot follow this launch exactly (the caller falls back to the full scalar simulation)."""


_alu = isa.alu  # the ISA's ALU semantics (shared with the simulator)


def _w(x: int) -> int:
    return ((x + S32) & M32) - S32


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


"""Single-launch fast path of the simulator (plain Python integers instead of numpy vectors).

Same rules as :mod:`sim` (which uses it for batches of one launch); ``tests/openedgecgra/test_sim.py`` runs the
same launches through both paths and requires identical memory and counters."""

from __future__ import annotations

import numpy as np

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.isa import COLS, N_PE

M32 = 0xFFFFFFFF
S32 = 0x80000000
_ZERO, _SELF, _NEI, _REG, _IMM = range(5)
_OPS = {
    "SADD": lambda a, b: a + b, "SSUB": lambda a, b: a - b, "SMUL": lambda a, b: a * b,
    "FXPMUL": lambda a, b: (a * b) >> 15, "SLT": lambda a, b: a << (b & 31),
    "SRT": lambda a, b: (a & M32) >> (b & 31), "SRA": lambda a, b: a >> (b & 31), "LAND": lambda a, b: a & b,
    "LOR": lambda a, b: a | b, "LXOR": lambda a, b: a ^ b, "LNAND": lambda a, b: ~(a & b),
    "LNOR": lambda a, b: ~(a | b), "LXNOR": lambda a, b: ~(a ^ b),
}
_CMP = {"BEQ": lambda a, b: a == b, "BNE": lambda a, b: a != b, "BLT": lambda a, b: a < b,
        "BGE": lambda a, b: a >= b}


def _w(x: int) -> int:
    return ((x + S32) & M32) - S32


def _operand(name: str, pe: int, imm: int):
    from cnncc.backends.openedgecgra.sim import _NEIGH

    if name == "ZERO":
        return (_ZERO, 0)
    if name == "SELF":
        return (_SELF, pe)
    if name == "IMM":
        return (_IMM, imm)
    if name in _NEIGH:
        return (_NEI, _NEIGH[name][pe])
    return (_REG, int(name[1]))


def decode_kernel(kernel):
    """Per step: (alu ops, mem ops, branch ops, exit); cached on the kernel object."""
    if getattr(kernel, "_scalar", None) is not None:
        return kernel._scalar
    out = []
    for step in kernel.program:
        alu, mem, br = [], [], []
        for pe, i in enumerate(step):
            a, b = _operand(i.a, pe, i.imm), _operand(i.b, pe, i.imm)
            if i.op in _OPS:
                alu.append((pe, _OPS[i.op], a, b, i.dest))
            elif i.op in ("BSFA", "BZFA"):
                from cnncc.backends.openedgecgra.sim import _NEIGH

                f = pe if i.flag == "SELF" else _NEIGH[i.flag][pe]
                alu.append((pe, (i.op, f), a, b, i.dest))
            elif i.op in isa.BRANCH_OPS or i.op == "JUMP":
                br.append((pe, i.op, a, b, i.imm))
        for c in range(COLS):
            for r in range(4):
                pe = r * COLS + c
                i = step[pe]
                if i.op in isa.MEM_OPS:
                    mem.append((pe, c, i.op, _operand(i.a, pe, i.imm), _operand(i.b, pe, i.imm), i.imm, i.dest))
        out.append((alu, mem, br, any(i.op == "EXIT" for i in step)))
    kernel._scalar = out
    return out


def run_one(kernel, mem: np.ndarray, rptr, wptr, bank_words: int, max_steps: int):
    """Returns (counts per instruction index, cycles, per-column stall cycles, extra idle PE-cycles)."""
    from cnncc.backends.openedgecgra.sim import POISON, SimError

    steps = decode_kernel(kernel)
    lat_static = kernel.latency.tolist()
    col_own = kernel.col_own.tolist()
    reg = [[0] * N_PE for _ in range(4)]
    rout = [0] * N_PE
    wrote = [False] * N_PE      # the PE has written its output in this launch (its flags are valid)
    rptr, wptr = list(rptr), list(wptr)
    nwords = mem.shape[0]
    counts = [0] * kernel.n_instr
    cyc = 0
    stall = [0] * COLS
    extra_idle = 0
    pc = 0
    n = 0

    def val(src, r0):
        k, x = src
        if k == _ZERO:
            return 0
        if k == _IMM:
            return x
        if k == _REG:
            return None
        return r0[x]

    while True:
        if pc >= kernel.n_instr:
            raise SimError(f"{kernel.name}: ran past the last instruction without EXIT")
        alu, memops, br, ex = steps[pc]
        counts[pc] += 1
        n += 1
        if n > max_steps:
            raise SimError(f"{kernel.name}: more than {max_steps} instructions (runaway loop)")
        r0 = rout[:]
        wr = []
        for pe, fn, a, b, dest in alu:
            av = reg[a[1]][pe] if a[0] == _REG else val(a, r0)
            bv = reg[b[1]][pe] if b[0] == _REG else val(b, r0)
            if isinstance(fn, tuple):
                f = r0[fn[1]]
                # flags of a PE that has not written its output yet are reset: sign 0, zero 0 (RTL)
                cond = wrote[fn[1]] and ((f < 0) if fn[0] == "BSFA" else (f == 0))
                v = av if cond else bv
            else:
                v = _w(fn(av, bv))
            wr.append((pe, dest, v))
        target = None
        if br:
            req = 0
            for pe, op, a, b, imm in br:
                av = reg[a[1]][pe] if a[0] == _REG else val(a, r0)
                bv = reg[b[1]][pe] if b[0] == _REG else val(b, r0)
                if op == "JUMP":
                    req += 1
                    target = (av + bv) & 31
                    wr.append((pe, None, _w(av + bv)))
                else:
                    cond = _CMP[op](av, bv)
                    wr.append((pe, None, int(cond)))
                    if cond:
                        req += 1
                        target = imm & 31
            if req != 1:
                target = None
        banks = []
        stored: dict = {}
        for pe, c, op, a, b, imm, dest in memops:
            if op == "LWD":
                addr = rptr[c]
                rptr[c] += imm
            elif op == "LWI":
                addr = reg[b[1]][pe] if b[0] == _REG else val(b, r0)
            elif op == "SWD":
                addr = wptr[c]
                wptr[c] += imm
            else:
                addr = reg[b[1]][pe] if b[0] == _REG else val(b, r0)
            if addr & 3 or addr < 0 or addr >= 4 * nwords:
                raise SimError(f"{kernel.name}: {op} at invalid byte address {addr} (memory {4 * nwords} bytes)")
            idx = addr >> 2
            banks.append(idx // bank_words)
            if op in ("LWD", "LWI"):
                wr.append((pe, dest, int(mem[idx])))
            else:
                if stored.setdefault(idx, c) != c:
                    raise SimError(f"{kernel.name}: columns {stored[idx]} and {c} store to byte address {addr} in "
                                   f"instruction {pc} (the RTL's result depends on bus grant order)")
                mem[idx] = _w(reg[a[1]][pe] if a[0] == _REG else val(a, r0))
                wr.append((pe, None, POISON))
        lat = lat_static[pc]
        if len(banks) > 1:
            worst = max(banks.count(x) for x in set(banks)) + 1
            if worst > lat:
                extra_idle += (worst - lat) * N_PE
                lat = worst
        cyc += lat
        own = col_own[pc]
        for c in range(COLS):
            stall[c] += lat - own[c]
        for pe, dest, v in wr:
            rout[pe] = v
            wrote[pe] = True
            if dest is not None:
                reg[dest][pe] = v
        if ex and target is None:       # a taken branch in the EXIT instruction wins (RTL)
            break
        pc = target if target is not None else pc + 1
    return counts, cyc, stall, extra_idle

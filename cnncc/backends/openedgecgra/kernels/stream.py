"""The paper's output- and input-parallel mappings: ``conv-op``, ``im2col-op``, ``im2col-ip``.

Written the way the paper describes its hand-written kernels: a 9-instruction inner loop (all PEs load their
weight through the column read pointer, all PEs load the input word with LWI, 16 SMUL, 16 SADD, an address
update, and one PE keeping the loop counter in memory: load, decrement, store, branch), so every PE loads its
own copy of a broadcast input and the loads of the whole array hit one SRAM bank.

* ``im2col-op``: PE q = 4r + c owns output channel k0 + q; per output position the CPU writes the im2col column
  (C·FY·FX words) into a buffer and launches the kernel, which streams the weights and stores 16 outputs.
* ``conv-op``: the same without the buffer: the kernel walks the CHW input directly with nested fx / fy / c
  loops (three counters in memory); the CPU passes the window address in a parameter word.
* ``im2col-ip``: PE q reduces slice q of the im2col column of one output; 16 partial sums are reduced over the
  torus and one value is stored; the CPU rebuilds the buffer for every launch (one per output and channel).
"""

from __future__ import annotations

import numpy as np

from cnncc.backends.openedgecgra.isa import COLS, ROWS, Instr
from cnncc.backends.openedgecgra.kernels.common import Builder, fits, need

CNT = (16, 20, 24)   # byte addresses of the loop counters (below address 4096: reachable with an immediate)
PARAM = 28           # byte address of the per-launch parameter word
CTRL = (0, 0)


def _set_addr(b: Builder, pes, addrs, reg: int = 2):
    t0, t1, t2 = b.new(), b.new(), b.new()
    for rc, a in zip(pes, addrs):
        b.put(t0, rc, Instr("SADD", reg, "ZERO", "IMM", a >> 12))
        b.put(t1, rc, Instr("SLT", reg, f"R{reg}", "IMM", 12))
        b.put(t2, rc, Instr("SADD", reg, f"R{reg}", "IMM", a & 0xFFF))
    return t2


def _counter_init(b: Builder, t: int, level: int, n: int):
    b.put(t, CTRL, Instr("SADD", 3, "ZERO", "IMM", n))
    t2 = b.new()
    b.put(t2, CTRL, Instr("SWI", None, "R3", "IMM", CNT[level]))


def _counter_step(b: Builder, level: int, target: int):
    t = [b.new() for _ in range(4)]
    b.put(t[0], CTRL, Instr("LWI", 3, "ZERO", "IMM", CNT[level]))
    b.put(t[1], CTRL, Instr("SADD", 3, "R3", "IMM", -1))
    b.put(t[2], CTRL, Instr("SWI", None, "R3", "IMM", CNT[level]))
    b.put(t[3], CTRL, Instr("BNE", None, "R3", "ZERO", target))
    return t


def _mac_loop(b: Builder, pes, step: int, n: int, level: int = 0):
    """Counter init + the 9-instruction loop over n taps; address register R2 advances by ``step`` bytes."""
    need(fits(n) and n >= 1, "loop count exceeds imm13")
    t = b.new()
    _counter_init(b, t, level, n)
    top = len(b.steps)
    l1, l2, l3, l4, l5 = (b.new() for _ in range(5))
    for rc in pes:
        b.put(l1, rc, Instr("LWD", 1, imm=4))
        b.put(l2, rc, Instr("LWI", None, "ZERO", "R2"))
        b.put(l3, rc, Instr("SMUL", None, "SELF", "R1"))
        b.put(l4, rc, Instr("SADD", 0, "R0", "SELF"))
        b.put(l5, rc, Instr("SADD", 2, "R2", "IMM", step))
    _counter_step(b, level, top)


def _store_all(b: Builder, pes, step: int):
    """Each column stores its PEs' sums through the write pointer, ``step`` bytes apart (row order)."""
    t = b.new()
    for (r, c) in pes:
        b.put(t, (r, c), Instr("SWD", None, "R0", imm=step))


def _zero_acc(b: Builder, pes):
    t = b.new()
    for rc in pes:
        b.put(t, rc, Instr("SADD", 0, "ZERO", "ZERO"))


def op_pes(nk: int):
    return [(q // COLS, q % COLS) for q in range(nk)]


def im2col_op_kernel(R: int, buf_addr: int, nk: int, out_step: int, name: str):
    pes = op_pes(nk)
    b = Builder()
    _set_addr(b, pes, [buf_addr] * nk)
    _zero_acc(b, pes)
    _mac_loop(b, pes, 4, R)
    _store_all(b, pes, out_step)
    b.put(b.new(), (0, 1), Instr("EXIT"))
    return b.kernel(name)


def _add_const(b: Builder, pes, reg: int, value: int):
    """R[reg] += value in as many SADD steps as the 13-bit immediate needs."""
    while value:
        part = max(-4096, min(4095, value))
        t = b.new()
        for rc in pes:
            b.put(t, rc, Instr("SADD", reg, f"R{reg}", "IMM", part))
        value -= part


def conv_op_kernel(prob, nk: int, out_step: int, name: str):
    rowstep = 4 * (prob.DY * prob.IX - prob.FX * prob.DX)
    chstep = 4 * (prob.IY * prob.IX - prob.FY * prob.DY * prob.IX)
    need(fits(rowstep), "input row stride exceeds imm13")
    pes = op_pes(nk)
    b = Builder()
    t = b.new()
    for rc in pes:
        b.put(t, rc, Instr("LWI", 2, "ZERO", "IMM", PARAM))
    _zero_acc(b, pes)
    t = b.new()
    _counter_init(b, t, 2, prob.C)
    ch = len(b.steps)
    t = b.new()
    _counter_init(b, t, 1, prob.FY)
    row = len(b.steps)
    _mac_loop(b, pes, 4 * prob.DX, prob.FX, 0)
    _add_const(b, pes, 2, rowstep)
    _counter_step(b, 1, row)
    _add_const(b, pes, 2, chstep)
    _counter_step(b, 2, ch)
    _store_all(b, pes, out_step)
    b.put(b.new(), (0, 1), Instr("EXIT"))
    return b.kernel(name)


def im2col_ip_kernel(n: int, buf_addr: int, name: str):
    pes = [(r, c) for r in range(ROWS) for c in range(COLS)]
    b = Builder()
    _set_addr(b, pes, [buf_addr + 4 * n * (4 * r + c) for r, c in pes])
    _zero_acc(b, pes)
    _mac_loop(b, pes, 4, n)
    t0, t1, t2, t3, t4, t5 = (b.new() for _ in range(6))
    for rc in pes:
        b.put(t0, rc, Instr("SADD", None, "R0", "ZERO"))    # expose the partial sum in ROUT
    for r in range(ROWS):
        b.put(t1, (r, 1), Instr("SADD", None, "SELF", "RCL"))
        b.put(t1, (r, 2), Instr("SADD", None, "SELF", "RCR"))
        b.put(t2, (r, 1), Instr("SADD", None, "SELF", "RCR"))
    b.put(t3, (1, 1), Instr("SADD", None, "SELF", "RCT"))
    b.put(t3, (2, 1), Instr("SADD", None, "SELF", "RCB"))
    b.put(t4, (1, 1), Instr("SADD", None, "SELF", "RCB"))
    b.put(t5, (1, 1), Instr("SWD", None, "SELF", imm=4))
    b.put(b.new(), (0, 1), Instr("EXIT"))
    return b.kernel(name)


def op_weight_streams(W2: np.ndarray, k0: int, nk: int) -> list[np.ndarray]:
    """Column read-pointer streams of the OP kernels: column c holds, per tap, the weights of rows 0..3."""
    R = W2.shape[1]
    out = []
    for c in range(COLS):
        rows = [r for r in range(ROWS) if 4 * r + c < nk]
        s = np.zeros((R, max(1, len(rows))), np.int64)
        for i, r in enumerate(rows):
            s[:, i] = W2[k0 + 4 * r + c]
        out.append(s.ravel())
    return out


def ip_weight_streams(wk: np.ndarray, n: int) -> list[np.ndarray]:
    """Streams of the IP kernel for one output channel (wk: R weights, zero-padded to 16·n)."""
    wp = np.zeros(16 * n, np.int64)
    wp[:wk.size] = wk
    out = []
    for c in range(COLS):
        s = np.zeros((n, ROWS), np.int64)
        for r in range(ROWS):
            q = 4 * r + c
            s[:, r] = wp[q * n:(q + 1) * n]
        out.append(s.ravel())
    return out

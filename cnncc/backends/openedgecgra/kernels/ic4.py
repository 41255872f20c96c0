"""``cnncc-ic4``: cnncc's own mapping (beyond the paper).

Columns split the reduction by input channel (column c takes channels c, c+4, ...; the activation planes are
striped over four SRAM banks so the four column ports never collide), rows take four output channels, and the
weights are folded into the SMUL immediates (a kernel is specialised per weight chunk, so no weight is ever
loaded). Per tap, rows 0 and 2 load one input word and rows 1 and 3 multiply their neighbour's ROUT directly
(torus), so one CGRA-instruction triple L/M/A (3 + 3 + 1 cycles) performs 16 MACs. Each PE keeps its partial sum
in R0 for up to 6 taps; per output pixel the four column sums of a row are reduced over the torus onto the
diagonal PE, which adds the partial sum from memory (LWI) and stores it back (SWI).
"""

from __future__ import annotations

import numpy as np

from cnncc.backends.openedgecgra.isa import COLS, Instr
from cnncc.backends.openedgecgra.kernels.common import Builder, ConvProblem, fits, need
from cnncc.backends.openedgecgra.sim import Launch

T_MAX = 6
NAME = "cnncc-ic4"


def column_runs(prob: ConvProblem, in_planes: list[int]) -> list[list[list[int]]]:
    """Per chunk, per column, the byte addresses (relative to the output-pixel origin) of its taps."""
    cols = []
    for c in range(COLS):
        taps = []
        for ci in range(c, prob.C, 4):
            for fy in range(prob.FY):
                for fx in range(prob.FX):
                    taps.append(in_planes[ci] + 4 * (fy * prob.DY * prob.IX + fx * prob.DX))
        cols.append(taps)
    chunks = []
    pos = [0] * COLS
    while any(pos[c] < len(cols[c]) for c in range(COLS)):
        chunk = []
        for c in range(COLS):
            run: list[int] = []
            while pos[c] < len(cols[c]) and len(run) < T_MAX:
                a = cols[c][pos[c]]
                if run and not (fits(a - run[-1]) and fits(4 * prob.SX - (a - run[0]))):
                    break
                run.append(a)
                pos[c] += 1
            chunk.append(run)
        chunks.append(chunk)
    return chunks


def build_kernel(prob: ConvProblem, run: list[list[int]], w, bias: np.ndarray | None,
                 first: bool, out_planes: list[int], name: str):
    """Kernel for one chunk and up to four output channels. ``w[r][c][t]``: weight of row r, column c, slot t."""
    nk = len(out_planes)
    T = max(len(x) for x in run)
    jump = 4 * (prob.SY * prob.IX - prob.SX * prob.OX)
    need(fits(jump), "row jump exceeds imm13")
    b = Builder()
    diag = [(r, r) for r in range(nk)]
    p0, p1, p2 = b.new(), b.new(), b.new()
    for r, rc in enumerate(diag):
        addr = out_planes[r]
        b.put(p0, rc, Instr("SADD", 1, "ZERO", "IMM", addr >> 12))
        b.put(p1, rc, Instr("SLT", 1, "R1", "IMM", 12))
        b.put(p2, rc, Instr("SADD", 1, "R1", "IMM", addr & 0xFFF))
    b.put(p0, (1, 0), Instr("SADD", 3, "ZERO", "IMM", prob.OY))
    b.put(p0, (3, 0), Instr("SADD", 2, "ZERO", "IMM", prob.OX))
    pix = len(b.steps)
    for t in range(T):
        lt, mt, at = b.new(), b.new(), b.new()
        for c in range(COLS):
            n = len(run[c])
            if t >= n:
                if t == 0:
                    for r in range(nk):
                        b.put(at, (r, c), Instr("SADD", 0, "ZERO", "ZERO"))
                continue
            d = (run[c][t + 1] - run[c][t]) if t + 1 < n else 4 * prob.SX - (run[c][t] - run[c][0])
            b.put(lt, (0, c), Instr("LWD", None, imm=0))
            b.put(lt, (2, c), Instr("LWD", None, imm=d))
            for r in range(nk):
                src = ("SELF", "RCT", "SELF", "RCB")[r]
                b.put(mt, (r, c), Instr("SMUL", None, src, "IMM", int(w[r][c][t])))
                b.put(at, (r, c), Instr("SADD", 0, "ZERO" if t == 0 else "R0", "SELF"))
        if t == 0:
            b.put(lt, (3, 0), Instr("SADD", 2, "R2", "IMM", -1))
    q1, rd1, rd2, rd3, st, up = (b.new() for _ in range(6))
    for r, rc in enumerate(diag):
        if first:
            bv = 0 if bias is None else int(bias[r])
            b.put(q1, rc, Instr("SADD", 2, "ZERO", "IMM", bv) if bv else Instr("SADD", 2, "ZERO", "ZERO"))
        else:
            b.put(q1, rc, Instr("LWI", 2, "ZERO", "R1"))
        b.put(rd1, rc, Instr("SADD", None, "R0", "R2"))
        b.put(rd1, (r, (r - 1) % 4), Instr("SADD", None, "SELF", "RCL"))
        b.put(rd2, rc, Instr("SADD", None, "SELF", "RCR"))
        b.put(rd3, rc, Instr("SADD", None, "SELF", "RCL"))
        b.put(st, rc, Instr("SWI", None, "SELF", "R1"))
        b.put(up, rc, Instr("SADD", 1, "R1", "IMM", 4))
    b.put(up, (3, 0), Instr("BNE", None, "R2", "ZERO", pix))
    e0, e1, ex = b.new(), b.new(), b.new()
    for c in range(COLS):
        if run[c]:
            b.put(e0, (0, c), Instr("LWD", None, imm=jump))
    b.put(e0, (3, 0), Instr("SADD", 2, "ZERO", "IMM", prob.OX))
    b.put(e0, (1, 0), Instr("SADD", 3, "R3", "IMM", -1))
    b.put(e1, (1, 0), Instr("BNE", None, "R3", "ZERO", pix))
    b.put(ex, (0, 0), Instr("EXIT"))
    k = b.kernel(name)
    k.base_imms = frozenset((t, r * COLS + c) for r, c in diag for t in (p0, p2))   # out-plane addresses (sigs)
    return k


def bias_fits(bias: np.ndarray) -> bool:
    """The bias fits the 13-bit immediates (else the host adds it to the outputs)."""
    return all(fits(int(v)) for v in np.asarray(bias).ravel())


def plan(prob: ConvProblem, W: np.ndarray, bias: np.ndarray | None, in_planes: list[int],
         out_planes: list[int], tag: str, bank_words: int):
    """Kernels and launches of one conv group. W: [K, C, FY, FX]. Returns (kernels, launches, sigs) where
    each launch is (kernel name, Launch) in execution order and sigs its timing signature."""
    need(all(fits(int(v)) for v in W.ravel()), "weights do not fit the 13-bit immediate")
    need(bias is None or all(fits(int(v)) for v in bias.ravel()), "bias does not fit the 13-bit immediate")
    chunks = column_runs(prob, in_planes)
    kernels, launches, sigs = {}, [], []
    tapidx = [[(ci, fy, fx) for ci in range(c, prob.C, 4) for fy in range(prob.FY) for fx in range(prob.FX)]
              for c in range(COLS)]
    pos = [0] * COLS
    for j, run in enumerate(chunks):
        for k0 in range(0, prob.K, 4):
            ks = list(range(k0, min(prob.K, k0 + 4)))
            w = [[[W[k][tapidx[c][pos[c] + t]] for t in range(len(run[c]))] for c in range(COLS)] for k in ks]
            name = f"{tag}.ic4.c{j}.k{k0}"
            kernels[name] = build_kernel(prob, run, w, None if bias is None else bias[ks], j == 0,
                                         [out_planes[k] for k in ks], name)
            rptr = tuple(run[c][0] if run[c] else 64 for c in range(COLS))
            launches.append((name, Launch(rptr)))
            sigs.append(((tuple(len(x) for x in run), j == 0, len(ks)), rptr + tuple(out_planes[k] for k in ks)))
        for c in range(COLS):
            pos[c] += len(run[c])
    return kernels, launches, sigs

"""``conv-wp``: the paper's direct, weight-parallel (weight-stationary) mapping, generalised.

PE (r, c) of the FX x FY block (r = fx, c = fy, at most 3 x 3) loads weight w[fy][fx] into R0 once per launch
through its column's read pointer (the CPU points column c at row fy of the (output, input channel) filter in
the weight tensor and launches the same kernel once per pair, so the configuration is loaded once). Row FX
loads the next input column with LWI (address in R1, read from a parameter word the CPU writes per launch),
the block's inputs shift up by one PE per step (torus),
column 3 sums each row's products, adds the partial sum read through its read pointer and the last PE stores it
through its write pointer. As in the hand-written kernel the steps of one output pixel run back to back (no
software pipelining); a border block per output row pre-fills the window. Larger filters are split into 3 x 3
tiles (extra passes); stride is handled by SX shift steps per pixel (SX <= FX), dilation only along y.
"""

from __future__ import annotations

from cnncc.backends.openedgecgra.isa import Instr
from cnncc.backends.openedgecgra.kernels.common import Builder, ConvProblem, fits, need
from cnncc.backends.openedgecgra.sim import Launch

NAME = "conv-wp"


PARAM = 32   # byte address of the loader parameter words (one per filter row), below 4096


def build_kernel(prob: ConvProblem, FY: int, FX: int, name: str):
    """Kernel of one filter-tile shape (FY x FX <= 3 x 3), shared by every (output, input channel) pair."""
    SX = prob.SX
    need(SX <= FX, "stride larger than the filter width")
    need(prob.DX == 1, "dilation along x")
    block = [(r, c) for r in range(FX) for c in range(FY)]
    loaders = [(FX, c) for c in range(FY)]
    psum_pe, last = (FX, 3), (FX - 1, 3)
    xctl = (0, 3) if FX >= 2 else (3, 3)
    yctl = (0, 0)
    rowdelta = 4 * (prob.SY * prob.IX - (FX - SX + prob.OX * SX))
    need(fits(rowdelta), "row step exceeds imm13")
    b = Builder()
    p0, p1 = b.new(), b.new()
    for c, rc in enumerate(loaders):
        b.put(p0, rc, Instr("LWI", 1, "ZERO", "IMM", PARAM + 4 * c))
    for r, c in block:
        b.put(p0, (r, c), Instr("LWD", 0, imm=4))
    b.put(p1, yctl, Instr("SADD", 3, "ZERO", "IMM", prob.OY))
    b.put(p1, xctl, Instr("SADD", 2, "ZERO", "IMM", prob.OX))

    def load_shift(first_of_pixel: bool):
        t1, t2 = b.new(), b.new()
        for rc in loaders:
            b.put(t1, rc, Instr("LWI", None, "ZERO", "R1"))
            b.put(t2, rc, Instr("SADD", 1, "R1", "IMM", 4))
        for rc in block:
            b.put(t2, rc, Instr("SADD", 1, "RCB", "ZERO"))
        if first_of_pixel:
            b.put(t1, psum_pe, Instr("LWD", None, imm=4))
            b.put(t1, xctl, Instr("SADD", 2, "R2", "IMM", -1))

    row = len(b.steps)
    for _ in range(FX - SX):
        load_shift(False)
    pix = len(b.steps)
    for s in range(SX):
        load_shift(s == 0)
    mul = b.new()
    for r, c in block:
        b.put(mul, (r, c), Instr("SMUL", None, "R1", "R0"))
    if FY >= 2:
        t = b.new()
        for r in range(FX):
            b.put(t, (r, 2), Instr("SADD", None, "SELF", "RCL") if FY == 3 else Instr("SADD", None, "RCL", "ZERO"))
    t = b.new()
    for r in range(FX):
        b.put(t, (r, 3), Instr("SADD", None, "RCL", "RCR") if FY >= 2 else Instr("SADD", None, "RCR", "ZERO"))
    t = b.new()
    for rc in block:
        b.put(t, rc, Instr("SADD", None, "R1", "ZERO"))        # re-expose the input for the next shift
    if FX == 3:
        b.put(t, (1, 3), Instr("SADD", None, "SELF", "RCT"))
        b.put(t, (2, 3), Instr("SADD", None, "SELF", "RCB"))
        t = b.new()
        b.put(t, (2, 3), Instr("SADD", None, "SELF", "RCT"))
    elif FX == 2:
        b.put(t, (1, 3), Instr("SADD", None, "SELF", "RCT"))
        t = b.new()
        b.put(t, (1, 3), Instr("SADD", None, "SELF", "RCB"))
    else:
        b.put(t, (0, 3), Instr("SADD", None, "SELF", "RCB"))
    t = b.new()
    b.put(t, last, Instr("SWD", None, "SELF", imm=4))
    b.put(t, xctl, Instr("BNE", None, "R2", "ZERO", pix))
    e0, e1, ex = b.new(), b.new(), b.new()
    for rc in loaders:
        b.put(e0, rc, Instr("SADD", 1, "R1", "IMM", rowdelta))
    b.put(e0, yctl, Instr("SADD", 3, "R3", "IMM", -1))
    b.put(e0, xctl, Instr("SADD", 2, "ZERO", "IMM", prob.OX))
    b.put(e1, yctl, Instr("BNE", None, "R3", "ZERO", row))
    b.put(ex, (0, 1), Instr("EXIT"))
    return b.kernel(name)


def tiles(FY: int, FX: int):
    for fy0 in range(0, FY, 3):
        for fx0 in range(0, FX, 3):
            yield fy0, fx0, min(3, FY - fy0), min(3, FX - fx0)


def plan(prob: ConvProblem, w_addr: int, in_planes: list[int], out_planes: list[int], tag: str, bank_words: int):
    """One launch per (input channel, output channel, filter tile) of a kernel shared by all pairs; partial
    sums accumulate in the output, which the host initialises (zero or bias). ``w_addr``: byte address of the
    group's [K, C, FY, FX] weight tensor. Returns (kernels, launches, sigs, params) with params[i] the
    (byte address, value) words the CPU writes before launch i."""
    for tile in tiles(prob.FY, prob.FX):
        need(prob.SX <= tile[3], "stride larger than a filter tile")
    kernels, launches, sigs, params = {}, [], [], []
    for _, _, fy_, fx_ in tiles(prob.FY, prob.FX):
        name = f"{tag}.wp.{fy_}x{fx_}"
        if name not in kernels:
            kernels[name] = build_kernel(prob, fy_, fx_, name)
    for ci in range(prob.C):
        for k in range(prob.K):
            for fy0, fx0, fy_, fx_ in tiles(prob.FY, prob.FX):
                name = f"{tag}.wp.{fy_}x{fx_}"
                o = out_planes[k]
                base = w_addr + 4 * ((k * prob.C + ci) * prob.FY * prob.FX)
                rp = [base + 4 * ((fy0 + c) * prob.FX + fx0) if c < fy_ else 64 for c in range(3)]
                launches.append((name, Launch((rp[0], rp[1], rp[2], o), (64, 64, 64, o))))
                params.append([(PARAM + 4 * c, in_planes[ci] + 4 * ((fy0 + c) * prob.DY * prob.IX + fx0))
                               for c in range(fy_)])
                sigs.append(((name,), (in_planes[ci], o) + tuple(rp)))
    return kernels, launches, sigs, params

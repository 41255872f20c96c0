"""Simulator rules (RTL): neighbour timing, torus, multiply stall, memory ports and banks, pointers,
branching, 32-bit wrap-around, and the equivalence of the scalar and the batched (vector) paths."""

import numpy as np
import pytest

from cnncc.backends.openedgecgra import asm, sim
from cnncc.backends.openedgecgra.isa import NOP, Instr
from cnncc.backends.openedgecgra.sim import Kernel, Launch


def kernel(steps):
    """steps: list of {pe: cell text}; an EXIT step is appended (after one NOP step when there is only one step:
    the RTL cannot run kernels of fewer than 3 instructions)."""
    prog = []
    for s in steps:
        row = [NOP] * 16
        for pe, text in s.items():
            row[pe] = asm.parse_cell(text)
        prog.append(row)
    if len(prog) < 2:
        prog.append([NOP] * 16)
    prog.append([Instr("EXIT")] + [NOP] * 15)
    return Kernel(prog)


def run(k, mem=None, rptr=(0, 0, 0, 0), wptr=(0, 0, 0, 0), vector=False):
    mem = np.zeros(4096, np.int64) if mem is None else mem
    st = sim.run(k, mem, [Launch(rptr, wptr)], force_vector=vector)
    return mem, st


@pytest.mark.parametrize("vector", [False, True])
def test_neighbour_sees_previous_instruction_and_torus(vector):
    # PE(0,0) sets ROUT=5; in the same instruction PE(0,1) reads RCL (old value 0); next instruction it sees 5.
    # PE(0,3) reads RCR, which wraps to PE(0,0); PE(3,0) reads RCB, which wraps to PE(0,0).
    k = kernel([{0: "SADD ROUT, ZERO, 5", 1: "SADD R0, RCL, ZERO"},
                {1: "SADD R1, RCL, ZERO", 3: "SADD R1, RCR, ZERO", 12: "SADD R1, RCB, ZERO"},
                {1: "SWI R0, 64", 2: "SWI R1, 68"}, {3: "SWI R1, 72", 12: "SWI R1, 76"}, {5: "SWI R1, 80"}])
    # PE(1,1) never wrote R1: it stays 0; PE(0,1)'s R1 is stored via PE(0,2)? no: stores read their own regs
    mem, _ = run(k, vector=vector)
    assert mem[16] == 0            # R0 of PE(0,1): RCL was still 0 in the first instruction
    assert mem[18] == 5 and mem[19] == 5


@pytest.mark.parametrize("vector", [False, True])
def test_timing_mul_stall_and_memory(vector):
    base = kernel([{0: "SADD R0, ZERO, 1"}])
    _, st0 = run(base, vector=vector)
    assert st0.cycles == 3                                   # three 1-cycle instructions (op, NOP, EXIT)
    _, st = run(kernel([{0: "SMUL R0, ZERO, 3"}]), vector=vector)
    assert st.cycles == 3 + 1 + 1
    # three loads in one column: 3 + 1 cycles; one load in each of 4 columns in different banks: 2
    mem = np.zeros(4 * 8192, np.int64)
    _, st = run(kernel([{0: "LWD R0, 4", 4: "LWD R0, 4", 8: "LWD R0, 4"}]), mem, rptr=(64, 0, 0, 0), vector=vector)
    assert st.cycles == 4 + 1 + 1
    _, st = run(kernel([{c: "LWI R0, R1" for c in range(4)}]), mem, vector=vector)
    assert st.cycles == 5 + 1 + 1                            # 4 columns, same bank (address 0): serialised
    k = kernel([{0: "SADD R1, ZERO, 8", 1: "SADD R1, ZERO, 1", 2: "SADD R1, ZERO, 2", 3: "SADD R1, ZERO, 3"},
                {1: "SLT R1, R1, 15", 2: "SLT R1, R1, 15", 3: "SLT R1, R1, 15"},
                {c: "LWI R0, R1" for c in range(4)}])
    _, st = run(k, mem, vector=vector)
    assert st.cycles == 1 + 1 + 2 + 1                        # banks 0..3: parallel, 2 cycles
    _, st = run(kernel([{0: "LWD R0", 4: "SWD R0"}]), mem, vector=vector)
    assert st.cycles == 3 + 1 + 1                            # a load and a store in one column add up


@pytest.mark.parametrize("vector", [False, True])
def test_pointer_post_increment_and_wraparound(vector):
    mem = np.zeros(4096, np.int64)
    mem[100:104] = [7, 8, 9, 10]
    k = kernel([{0: "LWD R0, 8"}, {0: "LWD R1, -4"}, {0: "LWD R2"},
                {0: "SWD R0, 4"}, {0: "SWD R1, 4"}, {0: "SWD R2"},
                {1: "SADD R0, ZERO, 4095"}, {1: "SLT R0, R0, 20"}, {1: "SMUL R0, R0, R0"},
                {1: "SWI R0, 16"}, {2: "SADD R0, ZERO, 1"}, {2: "SLT R0, R0, 31"}, {2: "SWI R0, 20"},
                {3: "SADD R0, ZERO, -1"}, {3: "SRT R0, R0, 28"}, {3: "SWI R0, 24"}])
    mem, _ = run(k, mem, rptr=(400, 0, 0, 0), wptr=(800, 0, 0, 0), vector=vector)
    assert list(mem[200:203]) == [7, 9, 8]          # LWD +8, then -4, then 0 (no step)
    big = (4095 << 20)
    assert mem[4] == ((big * big + 2**31) % 2**32) - 2**31
    assert mem[5] == -2**31 and mem[6] == 15        # 1 << 31 wraps negative; logical shift right


@pytest.mark.parametrize("vector", [False, True])
def test_branch_only_with_exactly_one_requester(vector):
    # one PE requests in instruction 1 -> taken (skips the store at 2); BNE at 3 taken -> skips 4
    k = kernel([{0: "SADD R0, ZERO, 1"},
                {0: "BEQ R0, R0, 3", 1: "NOP"},
                {1: "SWI R0, 64"},
                {0: "BNE R0, ZERO, 5"},
                {2: "SADD R1, ZERO, 9"},
                {0: "SWI R0, 68"}])
    mem, st = run(k, vector=vector)
    assert mem[16] == 0 and mem[17] == 1
    assert st.instructions == 5                      # 0, 1, 3, 5, EXIT


def test_branch_two_requesters_same_instruction_not_taken():
    prog = [[NOP] * 16 for _ in range(4)]
    prog[0][0] = Instr("SADD", 0, "ZERO", "IMM", 1)
    prog[0][1] = Instr("SADD", 0, "ZERO", "IMM", 1)
    prog[1][0] = Instr("BEQ", None, "R0", "R0", 3)
    prog[1][1] = Instr("BEQ", None, "R0", "R0", 3)
    prog[2][2] = Instr("SWI", None, "IMM", "IMM", 64)
    prog[3][0] = Instr("EXIT")
    k = Kernel.__new__(Kernel)                        # bypass the verifier, which forbids this program
    k.program, k.name = prog, "k"
    k._steps = None
    timing = [sim._timing(s) for s in prog]
    k.latency = np.array([t[0] for t in timing])
    k.col_own = np.stack([t[1] for t in timing])
    k.events = np.stack([t[2] for t in timing])
    for vector in (False, True):
        mem = np.zeros(1024, np.int64)
        sim.run(k, mem, [Launch((0,) * 4)], force_vector=vector)
        assert mem[16] == 64                          # not taken: the store executed


def test_batched_equals_sequential():
    rng = np.random.default_rng(0)
    k = kernel([{c: "LWD R0, 4" for c in range(4)}, {c: "SMUL R1, R0, RCL" for c in range(4)},
                {c: "SADD R1, R1, -3" for c in range(4)}, {c: "SWD R1, 4" for c in range(4)}])
    mem0 = np.zeros(4096, np.int64)
    mem0[:1024] = rng.integers(-2**31, 2**31, 1024)
    launches = [Launch(tuple(64 * i + 16 * c for c in range(4)), tuple(8192 + 64 * i + 16 * c for c in range(4)))
                for i in range(5)]
    a = mem0.copy()
    sa = sim.run(k, a, launches)
    b = mem0.copy()
    sb = sim.Stats()
    for lc in launches:
        sb.add(sim.run(k, b, [lc]))
    assert np.array_equal(a, b)
    assert sa.cycles == sb.cycles and np.array_equal(sa.events, sb.events)
    assert np.array_equal(sa.col_stall, sb.col_stall)


def test_batch_with_shared_output_is_rejected():
    k = kernel([{0: "SWD R0"}])
    with pytest.raises(sim.SimError):
        sim.run(k, np.zeros(1024, np.int64), [Launch((0,) * 4, (64,) * 4), Launch((0,) * 4, (64,) * 4)])


def test_bad_address_is_an_error():
    with pytest.raises(sim.SimError, match="invalid byte address"):
        run(kernel([{0: "LWI R0, 2"}]))

"""Rules measured on the OpenEdgeCGRA RTL (shared/reference/openedgecgra.md): configuration 4·(n+1) cycles per
kernel change, 14 cycles per launch plus the first-fetch bubble, kernel IDs and reconfiguration only when the ID
changes, and the simulator's semantic corner cases (EXIT with a taken branch, flags of an unwritten PE, two
columns storing one word, kernels of 1-2 instructions)."""

import numpy as np
import pytest

from cnncc.backends.openedgecgra import asm, context, sim
from cnncc.backends.openedgecgra.asm import AsmError
from cnncc.backends.openedgecgra.isa import NOP, Instr
from cnncc.backends.openedgecgra.sim import Kernel, Launch


def _kernel(cells: list[dict], name="k") -> Kernel:
    prog = []
    for s in cells:
        row = [NOP] * 16
        for pe, text in s.items():
            row[pe] = asm.parse_cell(text)
        prog.append(row)
    return Kernel(prog, name)


@pytest.mark.parametrize("n, measured", [(11, 62), (17, 86), (22, 106), (23, 110), (29, 134), (30, 138)])
def test_configuring_launch_overhead_matches_rtl(n, measured):
    """KERNEL_ID write -> interrupt, beyond execution, for a launch that configures an n-instruction kernel."""
    assert context.LAUNCH_CYCLES + context.config_cycles(n) == measured


def _filler(n: int, imm: int = 1, name="k") -> Kernel:
    cells = [{0: f"SADD R0, R0, {imm}"} for _ in range(n - 1)] + [{0: "EXIT"}]
    return _kernel(cells, name)


def test_reconfiguration_only_when_the_kernel_id_changes():
    ks = {"a": _filler(5, name="a"), "b": _kernel([{1: "SADD R1, R1, 2"}] * 6 + [{0: "EXIT"}], "b")}
    ctx = context.plan_context(ks, ["a", "a", "b", "b", "a"])
    assert ctx.resident and ctx.starts == {"t0": 0, "t1": 20}            # 4·5 words of every IMEM bank for 'a'
    assert [s.reconfigure for s in ctx.steps] == [True, False, True, False, True]
    assert [s.kernel_id for s in ctx.steps] == [1, 1, 3, 3, 1]
    assert ctx.config_cycles({"a": 5, "b": 7}) == 4 * 6 + 4 * 8 + 4 * 6
    assert ctx.setup_load == 16 * (5 + 7) and ctx.imem_words == 16 * 12   # loaded once, never again
    assert ctx.kmem_writes == 4                                           # two IDs per resident template


def test_patched_kernel_gets_a_new_id():
    """Kernels differing only in immediates share a slot; switching patches the differing words and must use a
    different ID than the last launch (the controller would otherwise skip the configuration)."""
    ks = {"x": _filler(4, 1, "x"), "y": _filler(4, 2, "y")}
    ctx = context.plan_context(ks, ["x", "y", "y", "x"])
    assert [s.kernel_id for s in ctx.steps] == [1, 2, 2, 1]
    assert [s.reconfigure for s in ctx.steps] == [True, True, False, True]
    assert [s.patch for s in ctx.steps] == [0, 3, 0, 3]                   # 3 SADD immediates differ
    assert ctx.reconfigs == 3


def test_templates_not_fitting_imem_are_reloaded():
    ks = {"a": _filler(30, name="a"), "b": _kernel([{1: "SADD R1, R1, 2"}] * 29 + [{0: "EXIT"}], "b")}
    ctx = context.plan_context(ks, ["a", "b", "a"])
    assert not ctx.resident
    assert [s.load for s in ctx.steps] == [16 * 30, 16 * 30, 16 * 30]
    assert [s.kernel_id for s in ctx.steps] == [1, 2, 1]
    assert all(s.reconfigure for s in ctx.steps)


def test_layer_cycles_include_launch_and_configuration(make_layer):
    from cnncc.backends.openedgecgra import plan as P
    from cnncc.backends.openedgecgra.search import cost_plan
    from cnncc.backends.openedgecgra.spec import CgraSpec

    cl, _, _ = make_layer(16, 16, 16, 16, 3, bias=False)
    plan = P.make_plan("conv-wp", cl, 524288, 32768)
    st = P.predict(plan)
    row = cost_plan(plan, st, CgraSpec())
    n = next(iter(plan.kernels.values())).n_instr
    assert row["reconfigs"] == 1 and row["config_cycles"] == 4 * (n + 1)   # one kernel for all 256 launches
    assert row["launches"] == 256 and row["launch_cycles"] == 256 * 15
    assert row["cycles"] == st.cycles + 256 * 15 + 4 * (n + 1) + row["host_cycles"]


@pytest.mark.parametrize("vector", [False, True])
def test_exit_with_a_taken_branch_branches(vector):
    k = _kernel([{0: "SADD R0, ZERO, 1"}, {0: "SWI R0, 64"},
                 {0: "BNE R0, ZERO, 4", 1: "EXIT"}, {0: "EXIT"}, {0: "SWI R0, 68"}, {0: "EXIT"}])
    mem = np.zeros(1024, np.int64)
    st = sim.run(k, mem, [Launch((0,) * 4)], force_vector=vector)
    assert mem[17] == 1 and st.instructions == 6 - 1                    # 0, 1, 2 (branch wins), 4, 5


@pytest.mark.parametrize("vector", [False, True])
def test_flags_of_an_unwritten_pe_are_reset(vector):
    # PE 1 has never written its output: sign 0, zero 0 -> BZFA and BSFA select B. After it writes 0, BZFA
    # selects A.
    k = _kernel([{0: "BZFA R0, ZERO, 7, RCR"}, {0: "BSFA R1, ZERO, 5, RCR", 1: "SADD ROUT, ZERO, ZERO"},
                 {0: "BZFA R2, ZERO, 9, RCR"}, {0: "SWI R0, 64"}, {0: "SWI R1, 68"}, {0: "SWI R2, 72"},
                 {0: "EXIT"}])
    mem = np.zeros(1024, np.int64)
    sim.run(k, mem, [Launch((0,) * 4)], force_vector=vector)
    assert list(mem[16:19]) == [7, 5, 0]


@pytest.mark.parametrize("vector", [False, True])
def test_two_columns_storing_one_word_is_refused(vector):
    k = _kernel([{0: "SADD R0, ZERO, 1", 1: "SADD R0, ZERO, 2"}, {0: "SWI R0, 64", 1: "SWI R0, 64"}, {0: "EXIT"}])
    with pytest.raises(sim.SimError, match="bus grant order"):
        sim.run(k, np.zeros(1024, np.int64), [Launch((0,) * 4)], force_vector=vector)
    # one column storing one word twice is served in row order: the lower row first, the last write wins
    k = _kernel([{0: "SADD R0, ZERO, 1", 4: "SADD R0, ZERO, 2"}, {0: "SWI R0, 64", 4: "SWI R0, 64"}, {0: "EXIT"}])
    mem = np.zeros(1024, np.int64)
    sim.run(k, mem, [Launch((0,) * 4)], force_vector=vector)
    assert mem[16] == 2


@pytest.mark.parametrize("n", [1, 2])
def test_kernels_of_one_or_two_instructions_are_refused(n):
    prog = [[NOP] * 16 for _ in range(n)]
    prog[-1][0] = Instr("EXIT")
    with pytest.raises(AsmError, match="fewer than 3"):
        Kernel(prog)

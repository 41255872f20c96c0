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

The simulator's parts: :mod:`sim_kernel` (decoded kernels, launches, counters), :mod:`sim_batch` (``run``: the
batched vector pass), :mod:`sim_scalar` (one launch), :mod:`fasttime` (static timing, used by ``timed``).
"""

from __future__ import annotations

import numpy as np

from cnncc.backends.openedgecgra.isa import N_PE
from cnncc.backends.openedgecgra.sim_batch import _alu, _check_independent, _load, _run_single, run
from cnncc.backends.openedgecgra.sim_kernel import (
    _FLAGSRC,
    _NEIGH,
    _TIMING_CACHE,
    EV_IDLE_PE_CYCLES,
    EV_LOADS,
    EV_NOP_MULSTALL,
    EV_STORES,
    MAX_STEPS,
    N_EVENTS,
    POISON,
    Kernel,
    Launch,
    SimError,
    Stats,
    _Step,
    _timing,
    _timing_uncached,
    wrap32,
)

__all__ = ["_FLAGSRC", "_NEIGH", "_TIMING_CACHE", "EV_IDLE_PE_CYCLES", "EV_LOADS", "EV_NOP_MULSTALL", "EV_STORES",
           "MAX_STEPS", "N_EVENTS", "POISON", "Kernel", "Launch", "SimError", "Stats", "_Step", "_alu",
           "_check_independent", "_load", "_run_single", "_timing", "_timing_uncached", "counts_stats", "run",
           "timed", "timed_counts", "wrap32"]


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

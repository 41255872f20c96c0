"""What the OpenEdgeCGRA simulator runs and reports (``sim``): a verified program pre-decoded with the static
timing of every instruction (latency in cycles, per-column own latency, event vector; opcodes only), launch
parameters (byte addresses) and the hardware-style counters, plus the torus neighbours and 32-bit wrap-around
shared by the simulators and the static timing engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.isa import COLS, ROWS, Instr

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


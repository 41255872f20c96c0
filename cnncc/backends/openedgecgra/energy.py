"""Energy estimates (65 nm, 100 MHz figures from ``shared/reference/openedgecgra.md``).

CGRA: per-PE-op energies from the simulator's characterisation table (pJ per op at its natural latency),
NOPs at 0.48 pJ/cycle (1.03 pJ for a NOP inside a 3-cycle multiply stall), and 0.48 pJ per extra PE-cycle
an op waits for the slowest part of its instruction. Memory: SRAM static power over the whole run, plus a cost
per 32-bit access by the CGRA and per CPU access (instruction fetch or data). CPU: active power while it runs
(it sleeps while the CGRA computes). The memory and CPU constants are fitted to the paper's table and are
estimates; all of them are target parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.sim import EV_IDLE_PE_CYCLES, EV_LOADS, EV_NOP_MULSTALL, EV_STORES, N_EVENTS

OP_PJ = {"NOP": 0.48, "SADD": 0.89, "SSUB": 0.96, "SMUL": 5.43, "FXPMUL": 5.43, "SLT": 0.85, "SRT": 0.85,
         "SRA": 0.85, "LAND": 0.76, "LOR": 0.94, "LXOR": 1.2, "LNAND": 1.4, "LNOR": 1.6, "LXNOR": 1.94,
         "BSFA": 0.77, "BZFA": 0.77, "BEQ": 0.44, "BNE": 0.44, "BLT": 0.44, "BGE": 0.44, "JUMP": 0.44,
         "LWD": 1.33, "SWD": 0.61, "LWI": 0.90, "SWI": 0.85, "EXIT": 0.48}
NOP_MULSTALL_PJ = 1.03
IDLE_PJ_PER_CYCLE = 0.48


def op_energy_vector() -> np.ndarray:
    v = np.zeros(N_EVENTS)
    for name, code in isa.OPCODES.items():
        v[code] = OP_PJ[name]
    v[isa.OPCODES["NOP"]] = OP_PJ["NOP"]
    v[EV_NOP_MULSTALL] = NOP_MULSTALL_PJ - OP_PJ["NOP"]   # a stalled NOP is counted as NOP + this delta
    v[EV_IDLE_PE_CYCLES] = IDLE_PJ_PER_CYCLE
    v[EV_LOADS] = v[EV_STORES] = 0.0
    return v


@dataclass(frozen=True)
class EnergyQuery:
    """Everything the energy of one layer run depends on (counts from the simulator and the CPU model)."""

    events: tuple[int, ...]       # simulator event vector
    cgra_accesses: int            # SRAM accesses made by the CGRA (incl. kernel copies)
    cpu_cycles: int
    cpu_accesses: int             # CPU instruction fetches + data accesses
    total_cycles: int
    clock_hz: float
    sram_static_w: float
    cgra_access_pj: float
    cpu_access_pj: float
    cpu_active_w: float
    cgra_cycle_overhead_pj: float  # clock tree, context memory and control per CGRA cycle
    cgra_cycles: int


def energy_uj(q: EnergyQuery) -> dict[str, float]:
    """{'cgra_uj', 'memory_uj', 'cpu_uj', 'total_uj'} for one run."""
    ev = np.asarray(q.events, dtype=float)
    cgra = float(ev @ op_energy_vector()) + q.cgra_cycle_overhead_pj * q.cgra_cycles
    t = q.total_cycles / q.clock_hz
    mem = q.sram_static_w * t * 1e12 + q.cgra_access_pj * q.cgra_accesses + q.cpu_access_pj * q.cpu_accesses
    cpu = q.cpu_active_w * (q.cpu_cycles / q.clock_hz) * 1e12
    r = {"cgra_uj": cgra * 1e-6, "memory_uj": mem * 1e-6, "cpu_uj": cpu * 1e-6}
    r["total_uj"] = r["cgra_uj"] + r["memory_uj"] + r["cpu_uj"]
    return r

"""Typed target parameters of the ``openedgecgra`` backend (the ``[params]`` table of ``targets/cgra.toml``)."""

from __future__ import annotations

from dataclasses import dataclass

from cnncc.errors import TargetError
from cnncc.spec import TargetSpec, param

#: the mappings the backend implements (the paper's four, then cnncc's own); kept here so loading a target does
#: not import the kernel generators (``plan.MAPPINGS`` is checked equal by the tests)
MAPPINGS = ("conv-wp", "conv-op", "im2col-ip", "im2col-op", "cnncc-ic4")


@dataclass(frozen=True)
class CgraSpec(TargetSpec):
    """A 4x4 OpenEdgeCGRA on an X-HEEP host: clock, SRAM geometry, mapping search and energy constants
    (estimates, see ``cnncc/backends/openedgecgra/energy.py``)."""

    clock_hz: int = param(100_000_000, doc="system clock (CGRA and host CPU)", unit="Hz", min=1, max=10**10)
    sram_bytes: int = param(524_288, doc="data SRAM (X-HEEP: up to 512 KiB)", unit="bytes", min=4096,
                            max=2**31)
    sram_bank_bytes: int = param(32_768, doc="size of one non-interleaved SRAM bank", unit="bytes", min=1024,
                                 max=2**31)
    objective: str = param("latency", doc="what the per-layer mapping search minimises",
                           choices=("latency", "energy"))
    mappings: tuple[str, ...] = param(MAPPINGS, doc="mappings the search tries, in report order",
                                      choices=MAPPINGS, nonempty=True)
    check_seed: int = param(0, doc="seed of the --check inputs and weights (also the -o DIR memory images)",
                            min=0, max=2**32 - 1)
    sram_static_w: float = param(0.0005, doc="SRAM static power", unit="W", min=0.0, max=10.0)
    cgra_access_pj: float = param(43.0, doc="energy of one 32-bit SRAM access by the CGRA", unit="pJ", min=0.0,
                                  max=1e6)
    cpu_access_pj: float = param(2.5, doc="energy of one CPU memory access (fetch or data)", unit="pJ", min=0.0,
                                 max=1e6)
    cpu_active_w: float = param(0.0009, doc="host CPU power while it runs", unit="W", min=0.0, max=10.0)
    cgra_cycle_overhead_pj: float = param(8.0, doc="CGRA clock tree, context memory and control per cycle",
                                          unit="pJ", min=0.0, max=1e6)

    def validate(self) -> None:
        if self.sram_bytes % self.sram_bank_bytes:
            raise TargetError("params.sram_bytes must be a multiple of params.sram_bank_bytes")
        if self.sram_bank_bytes % 4:
            raise TargetError("params.sram_bank_bytes must be a multiple of 4 (32-bit words)")
        if len(set(self.mappings)) != len(self.mappings):
            raise TargetError("params.mappings names a mapping twice")

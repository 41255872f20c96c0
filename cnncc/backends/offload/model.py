"""The offloading accelerator as a frozen record built from a target's typed spec (:mod:`spec`).

Units: bytes, cycles, MAC/cycle, bytes/cycle. Times inside the backend are exact ``Fraction`` cycles
(a transfer of ``b`` bytes costs ``dma_latency_cycles + b / dma_bytes_per_cycle``; a compute call of ``m`` MACs
costs ``call_overhead_cycles + m / macs_per_cycle``); reports round them to floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm

from cnncc.backends.offload.spec import OffloadSpec


@dataclass(frozen=True)
class Accel:
    """One offloading accelerator. ``split`` = (input, weight, output) buffer bytes, or None when the
    ``onchip_bytes`` memory is unified."""

    onchip_bytes: int
    macs_per_cycle: int
    call_overhead_cycles: int
    dma_latency_cycles: int
    dma_bytes_per_cycle: Fraction
    dma_channels: str = "shared"  # "shared" | "separate" (loads and stores on their own channel)
    overlap: str = "pipelined"    # "sequential" | "pipelined"
    act_bytes: int = 1
    weight_bytes: int = 1
    psum_bytes: int = 4
    clock_hz: int = 1_000_000_000
    solver_timeout_s: float = 30.0
    steplevel_max_subconvs: int = 8
    steplevel_timeout_s: float = 1.0
    keep_outputs_on_chip: bool = True
    fuse_elementwise: bool = True
    z3_certify: bool = True  # re-prove each optimum with z3 (see certify.py; seconds per layer)
    split: tuple[int, int, int] | None = None

    @property
    def pipelined(self) -> bool:
        return self.overlap == "pipelined"

    @property
    def buffers(self) -> int:
        """Copies of each streamed tile kept on chip (2 = double buffering)."""
        return 2 if self.pipelined else 1

    @property
    def scale(self) -> int:
        """Multiplier that makes every time of this accelerator an integer (for the z3 encoding)."""
        return lcm(self.dma_bytes_per_cycle.numerator, self.macs_per_cycle)

    def transfer(self, nbytes: int) -> Fraction:
        """Cycles of one DMA transfer of ``nbytes`` bytes (0 bytes: no transfer, 0 cycles)."""
        return Fraction(0) if nbytes == 0 else self.dma_latency_cycles + Fraction(nbytes) / self.dma_bytes_per_cycle

    def compute(self, macs: int) -> Fraction:
        """Cycles of one compute call of ``macs`` MACs."""
        return self.call_overhead_cycles + Fraction(macs, self.macs_per_cycle)


def accel_of(spec: OffloadSpec) -> Accel:
    """The accelerator record of a typed offload spec (already range-checked)."""
    split = (spec.input_buffer_bytes, spec.weight_buffer_bytes, spec.output_buffer_bytes)
    return Accel(onchip_bytes=spec.onchip_bytes, macs_per_cycle=spec.macs_per_cycle,
                 call_overhead_cycles=spec.call_overhead_cycles, dma_latency_cycles=spec.dma_latency_cycles,
                 dma_bytes_per_cycle=Fraction(spec.dma_bytes_per_cycle).limit_denominator(1000),
                 dma_channels=spec.dma_channels, overlap=spec.overlap, act_bytes=spec.act_bytes,
                 weight_bytes=spec.weight_bytes, psum_bytes=spec.psum_bytes, clock_hz=spec.clock_hz,
                 solver_timeout_s=float(spec.solver_timeout_s), steplevel_max_subconvs=spec.steplevel_max_subconvs,
                 steplevel_timeout_s=float(spec.steplevel_timeout_s),
                 keep_outputs_on_chip=spec.keep_outputs_on_chip,
                 fuse_elementwise=spec.fuse_elementwise,
                 z3_certify=spec.z3_certify, split=split if all(split) else None)


def accel_from_params(params: dict) -> Accel:
    """The accelerator of a plain ``[params]`` mapping (tests, benches): :class:`OffloadSpec` checks it."""
    return accel_of(OffloadSpec.from_params(params))

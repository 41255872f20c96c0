"""The offloading accelerator as a frozen record built from a target's ``[params]``.

Units: bytes, cycles, MAC/cycle, bytes/cycle. Times inside the backend are exact ``Fraction`` cycles
(a transfer of ``b`` bytes costs ``dma_latency_cycles + b / dma_bytes_per_cycle``; a compute call of ``m`` MACs
costs ``call_overhead_cycles + m / macs_per_cycle``); reports round them to floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm

from cnncc.errors import TargetError

#: accepted keys of [params] and their types
PARAMS: dict[str, type | tuple] = {
    "onchip_bytes": int, "input_buffer_bytes": int, "weight_buffer_bytes": int, "output_buffer_bytes": int,
    "macs_per_cycle": int, "call_overhead_cycles": int, "dma_latency_cycles": int,
    "dma_bytes_per_cycle": (int, float), "dma_channels": str, "overlap": str,
    "act_bytes": int, "weight_bytes": int, "psum_bytes": int, "clock_hz": int,
    "solver_timeout_s": (int, float), "steplevel_max_subconvs": int, "keep_outputs_on_chip": bool,
    "z3_certify": bool,
}
DEFAULTS = {"input_buffer_bytes": 0, "weight_buffer_bytes": 0, "output_buffer_bytes": 0,
            "call_overhead_cycles": 0, "dma_channels": "shared", "overlap": "pipelined", "act_bytes": 1,
            "weight_bytes": 1, "psum_bytes": 4, "clock_hz": 1_000_000_000, "solver_timeout_s": 30,
            "steplevel_max_subconvs": 8, "keep_outputs_on_chip": True, "z3_certify": True}
REQUIRED = ("onchip_bytes", "macs_per_cycle", "dma_latency_cycles", "dma_bytes_per_cycle")


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
    keep_outputs_on_chip: bool = True
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


def validate_params(params: dict) -> None:
    """Reject unknown keys, wrong types and impossible values (TargetError, exit 2)."""
    from cnncc.target import check_keys

    check_keys(params, PARAMS)
    for k in REQUIRED:
        if k not in params:
            raise TargetError(f"offload target: missing required key params.{k}")
    p = {**DEFAULTS, **params}
    for k in ("onchip_bytes", "macs_per_cycle", "dma_bytes_per_cycle", "act_bytes", "weight_bytes",
              "psum_bytes", "clock_hz", "solver_timeout_s", "steplevel_max_subconvs"):
        if not p[k] > 0:
            raise TargetError(f"offload target: params.{k} must be > 0, got {p[k]!r}")
    for k in ("dma_latency_cycles", "call_overhead_cycles", "input_buffer_bytes", "weight_buffer_bytes",
              "output_buffer_bytes"):
        if p[k] < 0:
            raise TargetError(f"offload target: params.{k} must be >= 0, got {p[k]!r}")
    if p["overlap"] not in ("sequential", "pipelined"):
        raise TargetError(f"offload target: params.overlap must be 'sequential' or 'pipelined', got {p['overlap']!r}")
    if p["dma_channels"] not in ("shared", "separate"):
        raise TargetError(f"offload target: params.dma_channels must be 'shared' or 'separate', "
                          f"got {p['dma_channels']!r}")
    split = (p["input_buffer_bytes"], p["weight_buffer_bytes"], p["output_buffer_bytes"])
    if any(split) and not all(split):
        raise TargetError("offload target: split buffers need all of input_buffer_bytes, weight_buffer_bytes, "
                          "output_buffer_bytes > 0 (or all 0 for one unified memory)")
    if all(split) and sum(split) > p["onchip_bytes"]:
        raise TargetError(f"offload target: split buffers ({sum(split)} B) exceed onchip_bytes ({p['onchip_bytes']} B)")


def accel_from_params(params: dict) -> Accel:
    """Build the record (params already validated)."""
    p = {**DEFAULTS, **params}
    split = (p["input_buffer_bytes"], p["weight_buffer_bytes"], p["output_buffer_bytes"])
    return Accel(onchip_bytes=p["onchip_bytes"], macs_per_cycle=p["macs_per_cycle"],
                 call_overhead_cycles=p["call_overhead_cycles"], dma_latency_cycles=p["dma_latency_cycles"],
                 dma_bytes_per_cycle=Fraction(p["dma_bytes_per_cycle"]).limit_denominator(1000),
                 dma_channels=p["dma_channels"], overlap=p["overlap"], act_bytes=p["act_bytes"],
                 weight_bytes=p["weight_bytes"], psum_bytes=p["psum_bytes"], clock_hz=p["clock_hz"],
                 solver_timeout_s=float(p["solver_timeout_s"]), steplevel_max_subconvs=p["steplevel_max_subconvs"],
                 keep_outputs_on_chip=p["keep_outputs_on_chip"], z3_certify=p["z3_certify"],
                 split=split if all(split) else None)

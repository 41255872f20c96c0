"""Typed target parameters of the ``offload`` backend (the ``[params]`` table of ``targets/offload*.toml``)."""

from __future__ import annotations

from dataclasses import dataclass

from cnncc.errors import TargetError
from cnncc.spec import TargetSpec, param


@dataclass(frozen=True)
class OffloadSpec(TargetSpec):
    """A generic offloading accelerator: on-chip memory (unified, or split per operand), a processing unit of
    ``macs_per_cycle`` MAC/cycle, DMA channels of ``dma_bytes_per_cycle`` bytes/cycle with a per-transfer latency,
    and the solver's settings (see ``shared/reference/offload.md``)."""

    onchip_bytes: int = param(262_144, doc="on-chip SRAM (unified)", unit="bytes", min=1, max=2**40)
    input_buffer_bytes: int = param(0, doc="split memory: input buffer (0: unified)", unit="bytes", min=0,
                                    max=2**40)
    weight_buffer_bytes: int = param(0, doc="split memory: weight buffer (0: unified)", unit="bytes", min=0,
                                     max=2**40)
    output_buffer_bytes: int = param(0, doc="split memory: output buffer (0: unified)", unit="bytes", min=0,
                                     max=2**40)
    macs_per_cycle: int = param(256, doc="processing unit throughput", unit="MAC/cycle", min=1, max=2**20)
    call_overhead_cycles: int = param(16, doc="fixed cost of one compute call", unit="cycles", min=0, max=10**9)
    dma_latency_cycles: int = param(64, doc="fixed cost of one DMA transfer", unit="cycles", min=0, max=10**9)
    dma_bytes_per_cycle: float = param(16.0, doc="DMA bandwidth per channel", unit="bytes/cycle", min=0.001,
                                       max=2**20)
    dma_channels: str = param("shared", doc="loads and stores share one DMA channel, or each has its own",
                              choices=("shared", "separate"))
    overlap: str = param("pipelined", doc="transfers overlap compute (double buffering) or not",
                         choices=("sequential", "pipelined"))
    act_bytes: int = param(1, doc="bytes per element of a float activation (integer tensors: their dtype)",
                           unit="bytes", min=1, max=8)
    weight_bytes: int = param(1, doc="bytes per element of a float weight (integer tensors: their dtype)",
                              unit="bytes", min=1, max=8)
    psum_bytes: int = param(4, doc="bytes per partial sum (accumulator) element", unit="bytes", min=1, max=8)
    clock_hz: int = param(1_000_000_000, doc="accelerator clock", unit="Hz", min=1, max=10**12)
    solver_timeout_s: float = param(10.0, doc="z3 budget per layer shape (a deterministic resource limit)",
                                    unit="s", min=0.0, exclusive_min=True, max=86_400.0)
    steplevel_max_subconvs: int = param(4, doc="step-level z3 check on decompositions with at most this many "
                                        "sub-convolutions (0: off)", min=0, max=64)
    steplevel_timeout_s: float = param(1.0, doc="z3 budget of the step-level check per layer shape (a deterministic "
                                       "resource limit; beyond it the check reports 'unknown')", unit="s", min=0.0,
                                       exclusive_min=True, max=86_400.0)
    keep_outputs_on_chip: bool = param(True, doc="keep a layer's output on chip for the next layer when it fits")
    fuse_elementwise: bool = param(True, doc="fuse an elementwise layer (Add with its second operand, an "
                                   "activation, a scalar op) into its producer's strategy when that is no slower")
    z3_certify: bool = param(True, doc="z3 proves each optimum over the strategies the exhaustive search "
                             "cannot exclude by its lower bounds (every loop order and residency of them)")

    def validate(self) -> None:
        split = (self.input_buffer_bytes, self.weight_buffer_bytes, self.output_buffer_bytes)
        if any(split) and not all(split):
            raise TargetError("offload target: split buffers need all of input_buffer_bytes, weight_buffer_bytes, "
                              "output_buffer_bytes > 0 (or all 0 for one unified memory)")
        if all(split) and sum(split) > self.onchip_bytes:
            raise TargetError(f"offload target: split buffers ({sum(split)} B) exceed onchip_bytes "
                              f"({self.onchip_bytes} B)")

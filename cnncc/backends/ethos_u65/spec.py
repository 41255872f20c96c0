"""Typed target parameters of the ``ethos_u65`` backend (Arm Ethos-U65 and Ethos-U55), the ``[params]`` table of
``targets/_ethos-u65-base.toml`` / ``_ethos-u55-base.toml``. Field names are the TOML keys; hardware numbers follow
shared/reference/ethos-u65.md and Vela 5.2.0's architecture tables, system configurations and memory modes Vela's
``vela.ini``. The bandwidth of a memory is ``axi_port_bytes_per_cycle · clock_scale`` bytes per core cycle; an
AXI port width of 0 is Vela 5.2.0's: 8 bytes for a system configuration named ``Ethos_U55...``, else 16 (Regor's
vela.ini translation decides it from the name, so a custom system of another name gets 16 bytes on a U55 too)."""

from __future__ import annotations

from dataclasses import dataclass

from cnncc.errors import TargetError
from cnncc.spec import FrozenMap, TargetSpec, param

SRAM, OFFCHIP = "sram", "offchip"


@dataclass(frozen=True)
class MemSpec(TargetSpec):
    """One memory of a system configuration, as the NPU sees it."""

    clock_scale: float = param(1.0, doc="memory clock / core clock", min=1e-6, max=16.0)
    burst_bytes: int = param(32, doc="maximum burst length", unit="bytes", min=1, max=4096)
    read_latency: int = param(32, doc="read latency", unit="cycles", min=0, max=100_000)
    write_latency: int = param(32, doc="write latency", unit="cycles", min=0, max=100_000)


@dataclass(frozen=True)
class SystemSpec(TargetSpec):
    """A Vela system configuration: core clock, what AXI1 connects to, the SRAM and the off-chip memory."""

    core_clock_hz: int = param(1_000_000_000, doc="NPU core clock", unit="Hz", min=1_000_000, max=10**10)
    axi1: str = param("Dram", doc="memory on AXI1 (Vela's name: Dram or OffChipFlash)",
                      choices=("Dram", "OffChipFlash"))
    sram: MemSpec = param(MemSpec(), doc="on-chip SRAM")
    offchip: MemSpec = param(MemSpec(0.75, 128, 500, 250), doc="off-chip memory (DRAM or flash)")


@dataclass(frozen=True)
class ModeSpec(TargetSpec):
    """A Vela memory mode: where constants (weights) and the feature-map arena live, and the SRAM cache size."""

    const: str = param(OFFCHIP, doc="memory of the weights and other constants", choices=(SRAM, OFFCHIP))
    arena: str = param(OFFCHIP, doc="memory of the feature-map arena", choices=(SRAM, OFFCHIP))
    cache_bytes: int = param(0, doc="SRAM used as cache/staging when the arena is off-chip (0: none)",
                             unit="bytes", min=0, max=2**31)
    sram_bytes: int = param(0, doc="SRAM capacity of this mode for the capacity check (0: cache_bytes, or "
                                   "unbounded for SRAM arenas)", unit="bytes", min=0, max=2**31)


@dataclass(frozen=True)
class AoSpec(TargetSpec):
    """Output (AO) cycles per OFM element, by output kind (Vela's per-accelerator table)."""

    conv: float = param(0.25, doc="conv / pooling / FC output", unit="cycles/elem", min=0.0, max=64.0)
    add_sub: float = param(0.75, doc="Add / Sub", unit="cycles/elem", min=0.0, max=64.0)
    mul: float = param(0.375, doc="Mul (8-bit output)", unit="cycles/elem", min=0.0, max=64.0)
    maxpool: float = param(0.125, doc="MaxPool", unit="cycles/elem", min=0.0, max=64.0)
    ew32_binary: float = param(1.125, doc="binary elementwise on 32-bit IFMs", unit="cycles/elem", min=0.0,
                               max=64.0)
    ew32_unary: float = param(0.625, doc="unary elementwise on 32-bit IFMs", unit="cycles/elem", min=0.0,
                              max=64.0)
    mul32: float = param(0.5, doc="Mul with a 32-bit output", unit="cycles/elem", min=0.0, max=64.0)


@dataclass(frozen=True)
class ActSpec(TargetSpec):
    """Activation-unit cycles per element of a fused activation."""

    none: float = param(0.0, doc="no fused activation", unit="cycles/elem", min=0.0, max=64.0)
    relu: float = param(0.25, doc="ReLU family / clamps", unit="cycles/elem", min=0.0, max=64.0)
    lut: float = param(1.0, doc="LUT (sigmoid, tanh, ...)", unit="cycles/elem", min=0.0, max=64.0)


def _triple(v: tuple[int, ...], n: int, name: str) -> None:
    if len(v) != n or not all(isinstance(x, int) and x > 0 for x in v):
        raise TargetError(f"params.{name} must be {n} positive ints, got {list(v)}")


@dataclass(frozen=True)
class EthosU65Spec(TargetSpec):
    """Arm Ethos-U55/U65 NPU: MAC array, SHRAM layout, per-element output costs, the system configuration and
    memory mode in use, and the host-CPU model for ops the NPU cannot run."""

    macs_per_cycle: int = param(256, doc="int8 MACs per cycle per core", unit="MACs/cycle", min=1, max=65536)
    cores: int = param(1, doc="NPU cores (Ethos-U65-512: 2)", min=1, max=16)
    ofm_ublock: tuple[int, ...] = param((2, 2, 8), doc="OFM micro-block W, H, C", unit="elements")
    ofm_block_max: tuple[int, ...] = param((64, 32, 128), doc="largest OFM block W, H, C", unit="elements")
    ofm_split_depth: int = param(16, doc="OFM block depth granule when the OFM is deeper", unit="channels",
                                 min=1, max=4096)
    subkernel_max: tuple[int, ...] = param((8, 8), doc="largest sub-kernel W, H", unit="elements")
    shram_banks: int = param(48, doc="SHRAM banks per core", min=1, max=4096)
    shram_bank_bytes: int = param(1024, doc="bytes per SHRAM bank", unit="bytes", min=1, max=1 << 20)
    shram_reserved_output_banks: int = param(2, doc="SHRAM banks reserved for output", min=0, max=4096)
    shram_reserved_end_banks: int = param(2, doc="SHRAM banks reserved at the end (LUT)", min=0, max=4096)
    ifm_bank_granule: int = param(8, doc="IFM bank granule (int8)", min=1, max=4096)
    ifm_ew_bank_granule: int = param(8, doc="elementwise IFM bank granule (int8)", min=1, max=4096)
    acc32_bank_granule: int = param(16, doc="32-bit accumulator bank granule", min=1, max=4096)
    weight_feed_cycles: int = param(32, doc="minimum MAC cycles per micro-block depth step (cyclesWb)",
                                    unit="cycles", min=1, max=4096)
    mac_delay_cycles: int = param(2, doc="pipeline delay when an OFM block is one micro-block in W x H",
                                  unit="cycles", min=0, max=4096)
    axi_port_bytes_per_cycle: int = param(
        0, doc="AXI port width (0: as Vela 5.2.0 takes it, 8 when the system configuration's name starts with "
               "Ethos_U55, else 16, whatever the accelerator)", unit="bytes/cycle", min=0, max=4096)
    ao_cycles_per_elem: AoSpec = param(AoSpec(), doc="output cycles per element by output kind")
    act_cycles_per_elem: ActSpec = param(ActSpec(), doc="activation cycles per element")
    scale_bias_bytes_per_channel: int = param(10, doc="encoded scale + bias per output channel", unit="bytes",
                                              min=0, max=64)
    weight_compression: float = param(1.0, doc="factor on the encoded weight size of every layer (1: Vela's "
                                               "encoder's size)", min=1e-3, max=4.0)
    system: str = param("Ethos_U65_Client_Server", doc="system configuration in use (a key of systems)")
    memory_mode: str = param("Dedicated_Sram_384KB", doc="memory mode in use (a key of memory_modes)")
    arena_cache_size_bytes: int = param(0, doc="SRAM cache size; 0: the memory mode's own", unit="bytes", min=0,
                                        max=2**31)
    cpu_clock_hz: int = param(0, doc="host CPU clock; 0: the NPU core clock", unit="Hz", min=0, max=10**10)
    cpu_cycles_per_elem: float = param(4.0, doc="host-CPU cycles per output element of an op the NPU cannot "
                                                "run (Cortex-M class, CMSIS-NN-like kernels)",
                                       unit="cycles/elem", min=0.0, max=1e6)
    cpu_cycles_per_mac: float = param(1.0, doc="host-CPU cycles per MAC of such an op", unit="cycles/MAC",
                                      min=0.0, max=1e6)
    systems: FrozenMap[str, SystemSpec] = param(FrozenMap(), doc="named system configurations (vela.ini)")
    memory_modes: FrozenMap[str, ModeSpec] = param(FrozenMap(), doc="named memory modes (vela.ini)")

    def validate(self) -> None:
        _triple(self.ofm_ublock, 3, "ofm_ublock")
        _triple(self.ofm_block_max, 3, "ofm_block_max")
        _triple(self.subkernel_max, 2, "subkernel_max")
        if self.systems and self.system not in self.systems:
            raise TargetError(f"params.system {self.system!r} unknown; known: {', '.join(sorted(self.systems))}")
        if self.memory_modes and self.memory_mode not in self.memory_modes:
            raise TargetError(f"params.memory_mode {self.memory_mode!r} unknown; known: "
                              f"{', '.join(sorted(self.memory_modes))}")
        if (self.systems and self.memory_modes and self.memory_modes[self.memory_mode].arena == OFFCHIP
                and self.systems[self.system].axi1 == "OffChipFlash"):
            # Vela refuses it too ("arena_mem_area=OffChipFlash (must be Sram or Dram)")
            raise TargetError(f"memory mode {self.memory_mode!r} puts the feature-map arena off-chip, and system "
                              f"{self.system!r} has flash there (axi1 = OffChipFlash): the arena must be in SRAM "
                              f"or DRAM; use Sram_Only or Shared_Sram, or a system with DRAM")
        if self.shram_reserved_output_banks + self.shram_reserved_end_banks >= self.shram_banks:
            raise TargetError("params.shram_reserved_* leave no SHRAM banks")

    def checked(self) -> EthosU65Spec:
        """The spec once a system and memory mode table are present (a compile needs both)."""
        if not self.systems or not self.memory_modes:
            raise TargetError("an ethos_u65 target needs [params.systems.*] and [params.memory_modes.*] tables")
        return self

"""Ethos-U architecture + the system configuration and memory mode in use: the typed spec -> one frozen record
the cost model reads (the bandwidth of a memory is ``axi_port_bytes_per_cycle · clock_scale`` bytes per core-clock
cycle, as in Vela)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache

from cnncc.backends.ethos_u65.spec import OFFCHIP, SRAM, EthosU65Spec

__all__ = ["OFFCHIP", "SRAM", "Memory", "U65Config", "from_spec"]

@dataclass(frozen=True)
class Memory:
    """One memory as the NPU sees it: bytes per core cycle, burst length (bytes), latencies (cycles)."""

    name: str
    bytes_per_cycle: float
    burst_bytes: int
    read_latency: int
    write_latency: int


@dataclass(frozen=True)
class U65Config:
    """Everything the cost model needs; built by :func:`from_params`."""

    name: str
    cores: int
    macs_per_cycle: int            # per core
    ublock: tuple[int, int, int]   # W, H, C
    block_max: tuple[int, int, int]
    split_depth: int
    subkernel_max: tuple[int, int]  # W, H
    shram_banks: int
    bank_bytes: int
    reserved_output_banks: int
    reserved_end_banks: int
    ifm_granule: int
    ifm_ew_granule: int
    acc_granule: int
    weight_feed_cycles: int
    mac_delay: int
    ao: Mapping[str, float]
    act: Mapping[str, float]
    scale_bytes_per_channel: int
    weight_compression: float
    clock_hz: int
    system: str
    memory_mode: str
    sram: Memory
    offchip: Memory
    const_mem: str                 # SRAM or OFFCHIP
    arena_mem: str
    cache_bytes: int               # SRAM staging/cache size (Dedicated_Sram); 0 = the whole arena is in SRAM
    sram_capacity: int | None      # SRAM the memory mode offers for the capacity check (None: unbounded)
    cpu_clock_hz: int              # host CPU clock (ops the NPU cannot run)
    cpu_cycles_per_elem: float     # host CPU cycles per output element
    cpu_cycles_per_mac: float      # host CPU cycles per MAC

    def mem(self, which: str) -> Memory:
        return self.sram if which == SRAM else self.offchip

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.macs_per_cycle * self.cores


def vela_axi_port_bytes(system: str) -> int:
    """The AXI port width, in bytes per cycle, that Vela 5.2.0 gives a system configuration: its vela.ini
    translation (regor.cpp) takes 8 bytes when the configuration's name starts with ``Ethos_U55`` and 16 otherwise,
    whatever the accelerator (measured: a U55 under a system of another name runs its memory-bound ops twice as
    fast in Vela as under the same parameters named Ethos_U55_...)."""
    return 8 if system.startswith("Ethos_U55") else 16


@lru_cache(maxsize=64)
def from_spec(spec: EthosU65Spec, name: str = "ethos-u65") -> U65Config:
    """The frozen configuration of a target's typed spec (its system configuration and memory mode resolved)."""
    spec = spec.checked()
    sysd = spec.systems[spec.system]
    mode = spec.memory_modes[spec.memory_mode]
    port = spec.axi_port_bytes_per_cycle or vela_axi_port_bytes(spec.system)

    def mem(m, label: str) -> Memory:
        return Memory(label, port * m.clock_scale, m.burst_bytes, m.read_latency, m.write_latency)

    cache = spec.arena_cache_size_bytes or mode.cache_bytes
    cap = mode.sram_bytes or cache or None
    ao = {f.name: float(getattr(spec.ao_cycles_per_elem, f.name)) for f in fields(spec.ao_cycles_per_elem)}
    act = {f.name: float(getattr(spec.act_cycles_per_elem, f.name)) for f in fields(spec.act_cycles_per_elem)}
    u, b, k = spec.ofm_ublock, spec.ofm_block_max, spec.subkernel_max
    return U65Config(
        name=name, cores=spec.cores, macs_per_cycle=spec.macs_per_cycle,
        ublock=(u[0], u[1], u[2]), block_max=(b[0], b[1], b[2]), split_depth=spec.ofm_split_depth,
        subkernel_max=(k[0], k[1]), shram_banks=spec.shram_banks, bank_bytes=spec.shram_bank_bytes,
        reserved_output_banks=spec.shram_reserved_output_banks, reserved_end_banks=spec.shram_reserved_end_banks,
        ifm_granule=spec.ifm_bank_granule, ifm_ew_granule=spec.ifm_ew_bank_granule,
        acc_granule=spec.acc32_bank_granule, weight_feed_cycles=spec.weight_feed_cycles,
        mac_delay=spec.mac_delay_cycles, ao=ao, act=act, scale_bytes_per_channel=spec.scale_bias_bytes_per_channel,
        weight_compression=float(spec.weight_compression), clock_hz=sysd.core_clock_hz, system=spec.system,
        memory_mode=spec.memory_mode, sram=mem(sysd.sram, SRAM), offchip=mem(sysd.offchip, sysd.axi1.lower()),
        const_mem=mode.const, arena_mem=mode.arena, cache_bytes=cache, sram_capacity=cap,
        cpu_clock_hz=spec.cpu_clock_hz or sysd.core_clock_hz, cpu_cycles_per_elem=spec.cpu_cycles_per_elem,
        cpu_cycles_per_mac=spec.cpu_cycles_per_mac)

"""Ethos-U65 architecture + system configuration: validated target params -> one frozen record.

Key names and values follow shared/reference/ethos-u65.md and Arm Vela 5.2.0's vela.ini (system
configurations, memory modes); the bandwidth of a memory is ``axi_port_bytes_per_cycle · clock_scale`` bytes per
core-clock cycle, as in Vela.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnncc.errors import TargetError
from cnncc.target import check_keys

SRAM, OFFCHIP = "sram", "offchip"

_MEM_KEYS = {"clock_scale": float, "burst_bytes": int, "read_latency": int, "write_latency": int}
_SYS_KEYS = {"core_clock_hz": int, "axi1": str, "sram": dict, "offchip": dict}
_MODE_KEYS = {"const": str, "arena": str, "cache_bytes": int}
_AO_KEYS = ("conv", "add_sub", "mul", "maxpool", "ew32_binary", "ew32_unary", "mul32")
_ACT_KEYS = ("none", "relu", "lut")

ALLOWED = {
    "macs_per_cycle": int, "cores": int, "ofm_ublock": list, "ofm_block_max": list, "ofm_split_depth": int,
    "subkernel_max": list, "shram_banks": int, "shram_bank_bytes": int, "shram_reserved_output_banks": int,
    "shram_reserved_end_banks": int, "ifm_bank_granule": int, "ifm_ew_bank_granule": int,
    "acc32_bank_granule": int, "weight_feed_cycles": int, "mac_delay_cycles": int,
    "axi_port_bytes_per_cycle": int, "ao_cycles_per_elem": dict, "act_cycles_per_elem": dict,
    "scale_bias_bytes_per_channel": int, "weight_compression": float, "system": str, "memory_mode": str,
    "arena_cache_size_bytes": int, "cpu_cycles_per_elem": float, "systems": dict, "memory_modes": dict,
}


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

    def mem(self, which: str) -> Memory:
        return self.sram if which == SRAM else self.offchip

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.macs_per_cycle * self.cores


def validate_params(params: Mapping[str, Any]) -> None:
    """Reject unknown keys, wrong types and bad values (TargetError, exit 2)."""
    check_keys(params, ALLOWED)
    missing = sorted(set(ALLOWED) - set(params))
    if missing:
        raise TargetError(f"ethos-u65 target is missing key(s): {', '.join(missing)}")
    for name, sysd in params["systems"].items():
        check_keys(sysd, _SYS_KEYS, f"systems.{name}")
        for m in ("sram", "offchip"):
            check_keys(sysd[m], _MEM_KEYS, f"systems.{name}.{m}")
            if sysd[m].get("clock_scale", 0) <= 0 or sysd[m].get("burst_bytes", 0) <= 0:
                raise TargetError(f"systems.{name}.{m}: clock_scale and burst_bytes must be > 0")
    for name, mode in params["memory_modes"].items():
        check_keys(mode, _MODE_KEYS, f"memory_modes.{name}")
        if mode.get("const") not in (SRAM, OFFCHIP) or mode.get("arena") not in (SRAM, OFFCHIP):
            raise TargetError(f"memory_modes.{name}: const/arena must be 'sram' or 'offchip'")
    if params["system"] not in params["systems"]:
        raise TargetError(f"system {params['system']!r} unknown; known: {', '.join(sorted(params['systems']))}")
    if params["memory_mode"] not in params["memory_modes"]:
        raise TargetError(f"memory_mode {params['memory_mode']!r} unknown; known: "
                          f"{', '.join(sorted(params['memory_modes']))}")
    if set(params["ao_cycles_per_elem"]) != set(_AO_KEYS):
        raise TargetError(f"ao_cycles_per_elem needs exactly the keys {', '.join(_AO_KEYS)}")
    if set(params["act_cycles_per_elem"]) != set(_ACT_KEYS):
        raise TargetError(f"act_cycles_per_elem needs exactly the keys {', '.join(_ACT_KEYS)}")
    if not 0 < params["weight_compression"] <= 4:
        raise TargetError(f"weight_compression must be in (0, 4], got {params['weight_compression']}")
    for k in ("cores", "macs_per_cycle", "shram_banks", "shram_bank_bytes", "weight_feed_cycles"):
        if params[k] <= 0:
            raise TargetError(f"{k} must be > 0, got {params[k]}")
    for k, n in (("ofm_ublock", 3), ("ofm_block_max", 3), ("subkernel_max", 2)):
        v = params[k]
        if len(v) != n or not all(isinstance(x, int) and x > 0 for x in v):
            raise TargetError(f"{k} must be {n} positive ints, got {v}")


def from_params(params: Mapping[str, Any], name: str = "ethos-u65") -> U65Config:
    """The frozen configuration of a validated params table."""
    sysd = params["systems"][params["system"]]
    mode = params["memory_modes"][params["memory_mode"]]
    port = params["axi_port_bytes_per_cycle"]

    def mem(key: str, label: str) -> Memory:
        m = sysd[key]
        return Memory(label, port * m["clock_scale"], m["burst_bytes"], m["read_latency"], m["write_latency"])

    cache = params["arena_cache_size_bytes"] or mode["cache_bytes"]
    return U65Config(
        name=name, cores=params["cores"], macs_per_cycle=params["macs_per_cycle"],
        ublock=tuple(params["ofm_ublock"]), block_max=tuple(params["ofm_block_max"]),
        split_depth=params["ofm_split_depth"], subkernel_max=tuple(params["subkernel_max"]),
        shram_banks=params["shram_banks"], bank_bytes=params["shram_bank_bytes"],
        reserved_output_banks=params["shram_reserved_output_banks"],
        reserved_end_banks=params["shram_reserved_end_banks"], ifm_granule=params["ifm_bank_granule"],
        ifm_ew_granule=params["ifm_ew_bank_granule"], acc_granule=params["acc32_bank_granule"],
        weight_feed_cycles=params["weight_feed_cycles"], mac_delay=params["mac_delay_cycles"],
        ao=dict(params["ao_cycles_per_elem"]), act=dict(params["act_cycles_per_elem"]),
        scale_bytes_per_channel=params["scale_bias_bytes_per_channel"],
        weight_compression=float(params["weight_compression"]), clock_hz=sysd["core_clock_hz"],
        system=params["system"], memory_mode=params["memory_mode"],
        sram=mem("sram", "sram"), offchip=mem("offchip", sysd["axi1"].lower()),
        const_mem=mode["const"], arena_mem=mode["arena"], cache_bytes=cache)

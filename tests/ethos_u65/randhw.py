"""Seeded random Ethos-U hardware descriptions: an accelerator, a system configuration (core clock, what AXI1
connects to, each memory's clock scale, burst length and latencies) and a memory mode (where constants and the
arena live, the SRAM cache size), drawn from ranges around the ones Vela ships and written both as a Vela
configuration file (vela.ini sections) and as a cnncc target TOML that inherits the shipped accelerator. Used by
tests/ethos_u65/test_vela_randhw.py and bench/vela_fidelity.py --random-hw, so that agreement is measured on
hardware nobody tuned to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

ACCELS = ("ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256", "ethos-u65-256", "ethos-u65-512")


@dataclass(frozen=True)
class Memory:
    clock_scale: float
    burst_bytes: int
    read_latency: int
    write_latency: int


@dataclass(frozen=True)
class Hardware:
    """One random hardware description; ``system`` / ``mode`` are the names both files give it."""

    seed: int
    accel: str
    core_clock_hz: int
    axi1: str  # "Dram" or "OffChipFlash"
    sram: Memory
    offchip: Memory
    const: str  # "sram" or "offchip"
    arena: str
    cache_bytes: int

    @property
    def system(self) -> str:
        return f"Rand_System_{self.seed}"

    @property
    def mode(self) -> str:
        return f"Rand_Mode_{self.seed}"

    def label(self) -> str:
        named = {("sram", "sram"): "Sram_Only", ("offchip", "sram"): "Shared_Sram"}
        m = named.get((self.const, self.arena), f"Dedicated_{self.cache_bytes // 1024}KB")
        return (f"{self.accel} {self.core_clock_hz // 1_000_000} MHz {self.axi1} x{self.offchip.clock_scale:g} "
                f"burst {self.offchip.burst_bytes} lat {self.offchip.read_latency}/{self.offchip.write_latency}, "
                f"SRAM x{self.sram.clock_scale:g} burst {self.sram.burst_bytes} lat {self.sram.read_latency}, {m}")


def random_hardware(seed: int) -> Hardware:
    """A seeded hardware description. A flash on AXI1 is read-only, so its memory modes keep the arena in SRAM
    (Vela refuses an arena there)."""
    r = np.random.default_rng(seed)
    accel = str(r.choice(ACCELS))
    flash = bool(r.random() < (0.6 if accel.startswith("ethos-u55") else 0.2))
    sram = Memory(float(r.choice([0.5, 1.0, 1.0, 1.0])), int(r.choice([32, 64])),
                  int(r.choice([8, 16, 32, 64])), int(r.choice([8, 16, 32, 64])))
    if flash:
        off = Memory(float(r.choice([0.0625, 0.125, 0.25])), int(r.choice([64, 128])),
                     int(r.choice([32, 64, 128])), 0)
    else:
        off = Memory(float(r.choice([0.125, 0.25, 0.375, 0.5, 0.75, 1.0])), int(r.choice([64, 128, 256])),
                     int(r.integers(100, 801)), int(r.integers(50, 401)))
    modes = [("sram", "sram"), ("offchip", "sram")] + ([] if flash else [("offchip", "offchip")] * 2)
    const, arena = modes[int(r.integers(len(modes)))]
    cache = int(r.choice([128, 192, 256, 384, 512, 1024])) * 1024 if arena == "offchip" else 0
    clock = int(r.choice([100, 200, 400, 500, 800, 1000])) * 1_000_000
    return Hardware(seed, accel, clock, "OffChipFlash" if flash else "Dram", sram, off, const, arena, cache)


def vela_ini(hws: list[Hardware]) -> str:
    """The Vela configuration file with every description's system configuration and memory mode."""
    out = []
    for h in hws:
        o = h.axi1
        out += [f"[System_Config.{h.system}]", f"core_clock={h.core_clock_hz}", "axi0_port=Sram", f"axi1_port={o}"]
        for name, m, reads in (("Sram", h.sram, 8), (o, h.offchip, 4)):
            writes = 0 if name == "OffChipFlash" else reads
            out += [f"{name}_clock_scale={m.clock_scale}", f"{name}_burst_length={m.burst_bytes}",
                    f"{name}_read_latency={m.read_latency}", f"{name}_write_latency={m.write_latency}",
                    f"{name}_max_reads={reads}", f"{name}_max_writes={writes}"]
        area = {"sram": "Axi0", "offchip": "Axi1"}
        out += ["", f"[Memory_Mode.{h.mode}]", f"const_mem_area={area[h.const]}", f"arena_mem_area={area[h.arena]}",
                "cache_mem_area=Axi0"]
        if h.cache_bytes:
            out.append(f"arena_cache_size={h.cache_bytes}")
        out.append("")
    return "\n".join(out) + "\n"


def target_toml(h: Hardware) -> str:
    """A cnncc target file for ``h``: the shipped accelerator with this system configuration and memory mode."""

    def mem(m: Memory) -> str:
        return (f"{{ clock_scale = {m.clock_scale}, burst_bytes = {m.burst_bytes}, read_latency = {m.read_latency}, "
                f"write_latency = {m.write_latency} }}")

    return "\n".join([
        "schema_version = 1", f'name = "{h.accel}-rand{h.seed}"', f'inherit = "{h.accel}"', "", "[params]",
        f'system = "{h.system}"', f'memory_mode = "{h.mode}"', "", f"[params.systems.{h.system}]",
        f"core_clock_hz = {h.core_clock_hz}", f'axi1 = "{h.axi1}"', f"sram = {mem(h.sram)}",
        f"offchip = {mem(h.offchip)}", "", f"[params.memory_modes.{h.mode}]", f'const = "{h.const}"',
        f'arena = "{h.arena}"', f"cache_bytes = {h.cache_bytes}", ""])


def write_files(hws: list[Hardware], folder: Path) -> tuple[Path, dict[int, Path]]:
    """Write the Vela configuration file and one cnncc target per description into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ini = folder / "random_hw.ini"
    ini.write_text(vela_ini(hws))
    targets = {}
    for h in hws:
        targets[h.seed] = folder / f"rand_hw_{h.seed}.toml"
        targets[h.seed].write_text(target_toml(h))
    return ini, targets

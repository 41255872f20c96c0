"""Agreement with Vela 5.2.0 on hardware nobody tuned to: seeded random system configurations and memory modes
(tests/ethos_u65/randhw.py: accelerator, core clock, AXI1 memory, clock scales, burst lengths, latencies, where
constants and the arena live, the SRAM cache) written as a Vela configuration file and as cnncc target TOMLs, with
seeded random networks (tests/ethos_u65/randnet.py) exported and compiled by both. ``bench/vela_fidelity.py
--random-hw N`` runs the larger sweep. Skipped only when Vela (``ethosu``) is not installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.ethos_u65.randhw import random_hardware, target_toml, vela_ini, write_files

needs_vela = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None, reason="Vela (ethos-u-vela) not installed")


def test_descriptions_are_valid_targets(tmp_path):
    """Every generated description loads as a cnncc target with its own system and memory mode, and the Vela file
    names both (the flash systems keep the arena in SRAM)."""
    from cnncc.backends.ethos_u65.backend import arch_of
    from cnncc.target import load_target

    hws = [random_hardware(s) for s in range(40)]
    _, targets = write_files(hws, tmp_path)
    text = vela_ini(hws)
    assert len({h.accel for h in hws}) >= 4 and {h.axi1 for h in hws} == {"Dram", "OffChipFlash"}
    for h in hws:
        arch = arch_of(load_target(str(targets[h.seed])))
        assert (arch.system, arch.memory_mode, arch.clock_hz) == (h.system, h.mode, h.core_clock_hz)
        assert arch.offchip.bytes_per_cycle == 16 * h.offchip.clock_scale  # a system not named Ethos_U55...
        assert f"[System_Config.{h.system}]" in text and f"[Memory_Mode.{h.mode}]" in text
        assert not (h.axi1 == "OffChipFlash" and h.arena == "offchip")
        assert target_toml(h).count(h.system) == 2


def test_axi_port_width_follows_the_system_name_as_in_vela():
    """Vela 5.2.0 takes an 8-byte AXI port for a system configuration named Ethos_U55..., 16 bytes otherwise, on
    any accelerator; an explicit axi_port_bytes_per_cycle overrides it."""
    from cnncc.backends.ethos_u65.backend import arch_of
    from cnncc.backends.ethos_u65.config import vela_axi_port_bytes
    from cnncc.target import load_target

    assert [vela_axi_port_bytes(n) for n in ("Ethos_U55_High_End_Embedded", "Ethos_U65_High_End", "My_Board")] == \
        [8, 16, 16]
    u55 = arch_of(load_target("ethos-u55-128", {"system": "Ethos_U55_High_End_Embedded"}))
    assert u55.offchip.bytes_per_cycle == 8 * 0.125 and u55.sram.bytes_per_cycle == 8
    forced = arch_of(load_target("ethos-u55-128", {"axi_port_bytes_per_cycle": 16}))
    assert forced.sram.bytes_per_cycle == 16
    assert arch_of(load_target("ethos-u65-256")).sram.bytes_per_cycle == 16


#: hardware seeds of four U55 descriptions (none named Ethos_U55...): on networks 200-203 every NPU layer within
#: ±10 % and every total within ±5 % of Vela (measured 26 / 26 layers, 4 / 4 totals each; before the AXI width
#: followed the system name, cnncc ran their memory-bound layers at half Vela's bandwidth: 1.45-1.99 totals)
CASES = [1, 6, 9, 12]


@needs_vela
@pytest.mark.parametrize("hw_seed", CASES)
def test_random_hardware_agrees_with_vela(tmp_path, hw_seed):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import random_hw_sweep

    (r,) = random_hw_sweep([hw_seed], (200, 201, 202, 203), tmp_path)
    assert r["layers"] >= 20 and r["within"] == r["layers"] and r["totals_ok"] == 4, r

"""Cascades and stripe heights against Vela 5.2.0 at test time, on seeded conv chains the rules were not developed
on (tests/ethos_u65/cascnet.py seeds 400–415; developed on 0–119, checked on 200–259): each network is exported
with cnncc's TFLite writer, compiled by Vela with ``--verbose-schedule`` and its cascades (ops, OFM stripe rows)
compared with cnncc's. Measured: 32 of 32 agree, 8 of them with a cascade (27 of 32 before Regor's stripe search,
bench/RESULTS-ethos-u65.md round 11). Skipped only when Vela (``ethosu``) is not installed; ≈ 20 s."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.ethos_u65.cascnet import cascade_network, schedule_cascades
from tests.ethos_u65.test_cascade_stripes import CS256, HE512, cascades

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ethosu") is None,
                                reason="Vela (ethos-u-vela) not installed")

SEEDS = tuple(range(400, 416))


def _vela_cascades(graph, config, workdir: Path) -> list[list[tuple[tuple[int, int, int], int]]]:
    from cnncc.frontend.tflite.writer import write_tflite

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import vela_ini

    accel, system, mode = config
    path = workdir / f"{graph.name}.tflite"
    write_tflite(graph, path)
    cmd = [str(Path(sys.executable).parent / "vela"), str(path), "--config", str(vela_ini()), "--system-config",
           system, "--memory-mode", mode, "--accelerator-config", accel, "--verbose-schedule", "--output-dir",
           str(workdir / f"out_{graph.name}_{accel}_{system}")]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return schedule_cascades(r.stdout)


@pytest.mark.parametrize("config", [CS256, HE512], ids=["u65-256-Client_Server", "u65-512-High_End"])
def test_held_out_chains_cascade_as_vela(config):
    agree, cascaded = 0, 0
    with tempfile.TemporaryDirectory() as td:
        for seed in SEEDS:
            g = cascade_network(seed)
            vela = _vela_cascades(g, config, Path(td))
            ofm = {x.name: g.type_of(x.outputs[0]).shape for x in g.layers}
            ours = [[((ofm[n][2], ofm[n][3], ofm[n][1]), h) for n, h in c] for c in cascades(g, config)]
            agree += ours == vela
            cascaded += bool(vela)
    assert (agree, cascaded) == (len(SEEDS), 4)

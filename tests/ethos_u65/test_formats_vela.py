"""Feature-map formats (NHWC vs Vela's NHCWB16 bricks, placement.place) against Vela 5.2.0's own allocation
listing (``--verbose-allocation``) on seeded generated networks: a conv's map split along C, H or W and read by two
convs, or transposed; Vela keeps a map NHWC when a reader reads boxes of another width or depth (a channel or width
Split, read by copies or by the consumers themselves) and for the input and output of a transpose; an H split
keeps the bricks. Vela (``ethosu``) missing: skipped."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnncc.ir import Layer, tensor_type
from cnncc.ir import ops as O
from tests.ethos_u65 import nets
from tests.ethos_u65.configs import arch_for

HAS_VELA = importlib.util.find_spec("ethosu") is not None
CASES = ("split_c", "split_h", "split_w", "transpose")


def _net(case: str, seed: int):
    """x (16×16×16) -> conv (32 channels) -> the case's readers -> a conv per part, joined by an Add."""
    n = nets._Net(seed)
    y, hw = n.conv("stem", "x", 16, 16, 32, k=1)
    if case == "transpose":
        t = n.add(Layer("tr", O.Transpose((0, 1, 3, 2)), (y,), ("tr_y",)))
        o, _ = n.conv("post", t, hw, 32, 16, k=1)
        return n.build(f"fmt_{case}_{seed}", {"x": tensor_type((1, 16, 16, 16))}, [o])
    axis = {"split_c": 1, "split_h": 2, "split_w": 3}[case]
    half = 16 if axis == 1 else 8
    n.add(Layer("split", O.Split(axis, (half, half)), (y,), ("p0", "p1")))
    cin = 16 if axis == 1 else 32
    a, _ = n.conv("pa", "p0", 16, cin, 16, k=1)
    b, _ = n.conv("pb", "p1", 16, cin, 16, k=1)
    s = n.add(Layer("join", O.Add(), (a, b), ("s",)))
    o, _ = n.conv("post", s, 16, 16, 16, k=1)
    return n.build(f"fmt_{case}_{seed}", {"x": tensor_type((1, 16, 16, 16))}, [o])


def _vela_formats(graph, workdir: Path) -> dict[str, str]:
    """{tensor name: NHWC | NHCWB16} from Vela's allocation listing of ``graph``'s export."""
    from cnncc.frontend.tflite.writer import write_tflite

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from vela_fidelity import vela_ini

    path = workdir / f"{graph.name}.tflite"
    write_tflite(graph, path)
    cmd = [str(Path(sys.executable).parent / "vela"), str(path), "--config", str(vela_ini()), "--system-config",
           "Ethos_U65_High_End", "--memory-mode", "Sram_Only", "--accelerator-config", "ethos-u65-256",
           "--verbose-allocation", "--output-dir", str(workdir / "out")]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*\d+ -\s+\d+:.*:\s+(NHWC|NHCWB16)\s+: (.*)$", line)
        if m:
            out[m.group(2).strip()] = m.group(1)
    return out


def _ours(graph) -> dict[str, str]:
    """{producing layer's name: format} of every map cnncc places."""
    from cnncc.backends.ethos_u65.network import estimate

    est = estimate(graph, arch_for(("ethos-u65-256", "Ethos_U65_High_End", "Sram_Only")))
    g = est.compiled or graph
    prod = {o: x.name for x in g.layers for o in x.outputs}
    return {prod.get(t, t): f for t, f in est.placement.fmt.items()}


def test_formats_pure():
    """The rules on their own (no Vela): channel / width splits and transposes NHWC, an H split bricks."""
    want = {"split_c": "NHWC", "split_h": "NHCWB16", "split_w": "NHWC", "transpose": "NHWC"}
    for case, fmt in want.items():
        ours = _ours(_net(case, 0))
        assert ours["stem"] == fmt, (case, ours)
        assert ours["post"] == "NHWC"  # the graph output


@pytest.mark.skipif(not HAS_VELA, reason="Vela (ethos-u-vela) not installed")
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES)
def test_formats_match_vela(tmp_path, case, seed):
    g = _net(case, seed)
    vela = _vela_formats(g, tmp_path)
    ours = _ours(g)
    both = sorted(set(vela) & set(ours))
    assert "stem" in both and len(both) >= 2, (vela, ours)
    assert {n: ours[n] for n in both} == {n: vela[n] for n in both}

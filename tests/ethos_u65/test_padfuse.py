"""A zero Pad before a convolution as Vela 5.2.0 compiles it (padfuse.py), the activation of a convolution with few
output channels (actsplit.py) and a cascade's last op that does not pay for its buffer (cascade.py), against figures
Vela 5.2.0 reported for the same networks (--verbose-performance, --verbose-schedule; measured once with
``bench/vela_fidelity.py --padded 100``, no Vela needed here)."""

from __future__ import annotations

import numpy as np
import pytest

from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.backends.ethos_u65.network import estimate
from cnncc.backends.ethos_u65.padfuse import exported_pad, fuse_pads, trimmed_after
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.target import load_target
from tests.ethos_u65.padnet import padded_network
from tests.ethos_u65.randnet import random_network

HE512 = ("ethos-u65-512", "Ethos_U65_High_End", "Dedicated_Sram_384KB")
CS512 = ("ethos-u65-512", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB")
SHARED256 = ("ethos-u65-256", "Ethos_U65_Client_Server", "Shared_Sram")


def _total(graph: Graph, config: tuple[str, str, str]) -> int:
    accel, system, mode = config
    est = estimate(graph, arch_of(load_target(accel, {"system": system, "memory_mode": mode})))
    return sum(c.cycles for _, _, c in est.rows)


def test_trimmed_bottom_padding():
    # rows past the last window the stride reaches are dropped (C remainders: (0 - 1) % 2 == -1)
    assert trimmed_after(32, 2, 2, 1, 1) == 0      # 32 rows, 2×2 stride 2, pads 1/1: the bottom row is never read
    assert trimmed_after(20, 2, 3, 1, 1) == 0
    assert trimmed_after(20, 2, 3, 1, 3) == 2
    assert trimmed_after(15, 2, 6, 5, 6) == 6      # nothing to trim: 6 >= the kernel, so no fusion
    assert trimmed_after(24, 1, 5, 2, 2) == 2      # stride 1 keeps everything


def _pad_conv(pads, kernel, stride, value=0.0, side_last=None):
    rng = np.random.default_rng(0)
    w = {"w": rng.standard_normal((8, 8) + kernel).astype(np.float32)}
    layers = [Layer("pad", O.Pad(pads=(0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]), value=value), ("x",),
                    ("p",)),
              Layer("conv", O.Conv(kernel=kernel, strides=(stride, stride)), ("p", "w"), ("y",))]
    outs = ["y"]
    if side_last is not None:  # an elementwise reader of the padded map, its output listed last or first
        layers.append(Layer("add", O.Add(), ("p", "p"), ("s",)))
        outs = ["y", "s"] if side_last else ["s", "y"]
    return Graph.build("g", {"x": tensor_type((1, 8, 16, 16))}, outs, layers, weights=w)


def test_which_pads_a_conv_takes():
    fused = fuse_pads(_pad_conv((1, 1, 1, 1), (3, 3), 1))
    assert fused.into == {"pad": "conv"}
    conv = fused.graph.layer("conv")
    assert conv.inputs[0] == "x" and conv.op.pads == (1, 1, 1, 1)
    assert fused.graph.type_of("y").shape == (1, 8, 16, 16)
    assert fuse_pads(_pad_conv((2, 2, 2, 2), (3, 3), 2)).into == {"pad": "conv"}    # 2 < 3: a window still sees data
    assert fuse_pads(_pad_conv((3, 0, 3, 0), (3, 3), 1)).into == {}                 # a window wholly in the padding
    assert fuse_pads(_pad_conv((1, 1, 1, 1), (1, 1), 1)).into == {}                 # 1×1: any pad is real zeros
    assert fuse_pads(_pad_conv((1, 1, 1, 1), (3, 3), 1, value=0.5)).into == {}      # not the zero point


def test_a_pad_reached_first_through_another_reader_stays():
    """Vela rewrites the Pad into copies when its graph walk (back from the last output) reaches the Pad before the
    conv; measured on padnet seed 1 (Pad -> depthwise, and a 1×1 conv + Add of the padded map listed last): the
    Pad's border copies and the depthwise conv as if unfused, every configuration's total exact."""
    kept = fuse_pads(_pad_conv((1, 1, 1, 1), (3, 3), 1, side_last=True))   # the Add is walked first
    assert kept.into == {} and kept.graph.layer("conv").inputs[0] == "p"
    taken = fuse_pads(_pad_conv((1, 1, 1, 1), (3, 3), 1, side_last=False))  # the conv is: it takes the padding,
    assert taken.graph.layer("conv").inputs[0] == "x" and taken.into == {}    # the Pad stays for the Add


def test_a_conv_padding_the_exporter_writes_as_a_pad():
    g = padded_network(61)  # 15×15×64, 6×6 stride 2 conv with pads (5, 4, 6, 6): Vela runs "conv1/pad" first
    assert exported_pad(g, g.layer("conv1"))
    split = fuse_pads(g)
    assert split.parts == {"conv1": ("conv1", "conv1/pad")}
    assert split.graph.layer("conv1").inputs[0] == "conv1/pad"
    same = random_network(100)  # its convs are TFLite SAME or unpadded: nothing is split
    assert not any(exported_pad(same, x) for x in same.layers)


#: Vela 5.2.0 totals (cycles) of generated Pad -> conv networks; before padfuse.py cnncc was 0.42–5.3× these
#: (pad4), 1.09–1.24× (pad0), 0.51–2.25× (pad61), 2.07–3.82× (pad78); after: within 0.2 %
MEASURED = [(0, HE512, 44992), (0, SHARED256, 72985), (4, HE512, 190794), (4, CS512, 60687),
            (4, SHARED256, 34068), (61, HE512, 77442), (61, SHARED256, 108365), (78, CS512, 3380),
            (78, SHARED256, 2684), (84, HE512, 23600), (84, CS512, 12922), (1, HE512, 138355)]


@pytest.mark.parametrize("seed,config,vela", MEASURED)
def test_padded_networks_cost_as_vela(seed, config, vela):
    assert abs(_total(padded_network(seed), config) / vela - 1) <= 0.002


def test_few_channel_conv_runs_its_activation_apart():
    """12×20×4 map, 3×3 depthwise + ReLU, then a 1×1 conv (u65-256 Client_Server Shared_Sram): Vela runs the
    depthwise (1,504 cycles, row "dw_act"), a ReLU pass (760, row "dw") and the 1×1 conv (1,984): 4,248 in all; with
    8 channels the ReLU is fused."""
    rng = np.random.default_rng(0)
    w = {"w": (rng.standard_normal((4, 1, 3, 3)) * .3).astype(np.float32), "b": np.zeros(4, np.float32),
         "w2": (rng.standard_normal((16, 4, 1, 1)) * .3).astype(np.float32), "b2": np.zeros(16, np.float32)}
    g = Graph.build("dw4", {"x": tensor_type((1, 4, 12, 20))}, ["z"],
                    [Layer("dw", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1), groups=4, act=O.Relu()), ("x", "w", "b"),
                           ("y",)),
                     Layer("tail", O.Conv(kernel=(1, 1)), ("y", "w2", "b2"), ("z",))], weights=w)
    assert abs(_total(g, SHARED256) / 4248 - 1) <= 0.01


def test_cascade_last_op_that_does_not_pay_runs_alone():
    """rand103 (12×32×32 input, 1×9 conv to 256 channels, 2×2 average pool, 7×7 conv to 96) on u65-512 High_End:
    Vela cascades the conv and the pool only (16-row stripes, 278,528 B of rolling buffer), the 7×7 conv reads the
    pool's map off-chip; total 4,378,935 cycles, peak SRAM 278,528 B (cnncc before: all three cascaded, 0.704)."""
    accel, system, mode = HE512
    est = estimate(random_network(103), arch_of(load_target(accel, {"system": system, "memory_mode": mode})))
    assert abs(sum(c.cycles for _, _, c in est.rows) / 4378935 - 1) <= 0.002
    assert est.peak_sram_bytes == 278528


def test_input_copy_before_a_cascade():
    """padnet seed 55 (56×40×48 input, 3×3 conv, Pad, 3×3 conv, 1×1 conv) on u65-512 High_End: Vela cascades the
    two 3×3 convs and copies the input into SRAM before the first (input_buffer_, 107,520 B); total 800,683 cycles
    (cnncc without the copy 2.04×; with it 0.984: its stripes are 28 rows, Vela's 19). On u65-256 High_End it copies
    nothing: 2,302,122 cycles."""
    accel, system, mode = HE512
    est = estimate(padded_network(55), arch_of(load_target(accel, {"system": system, "memory_mode": mode})))
    assert [c.input_copy for _, _, c in est.rows][0] == 107520
    assert abs(sum(c.cycles for _, _, c in est.rows) / 800683 - 1) <= 0.02
    assert abs(_total(padded_network(55), ("ethos-u65-256", "Ethos_U65_High_End", mode)) / 2302122 - 1) <= 0.002

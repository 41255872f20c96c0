"""Vela 5.2.0's scheduling rules as the Ethos-U model follows them (no Vela needed): fast-storage allocation,
kernel normalisation, activation fusion, in-place Concat/Pad writes, weight-encoding padding, the MEAN and Softmax
lowerings. Figures quoted are Vela's own (--verbose-performance / --enable-debug-db on u65-256)."""

from __future__ import annotations

import numpy as np
import pytest

from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.backends.ethos_u65.faststorage import LiveRange, allocate
from cnncc.backends.ethos_u65.lower import FUSED, Lowered, fuse_activations, lower, reset_kernel
from cnncc.backends.ethos_u65.mean import ones_kernel_bytes
from cnncc.backends.ethos_u65.network import cost_npu_op, estimate
from cnncc.backends.ethos_u65.softmax import softmax_ops
from cnncc.backends.ethos_u65.weights import padded_weights
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O
from cnncc.target import load_target


@pytest.fixture(scope="module")
def shared():
    return arch_of(load_target("ethos-u65-256", {"memory_mode": "Shared_Sram"}))


def test_fast_storage_keeps_what_fits_and_the_most_accessed():
    a, b, c = LiveRange("a", 0, 2, 60, 100), LiveRange("b", 1, 3, 60, 500), LiveRange("c", 4, 5, 10, 1)
    assert allocate([a, b, c], [0] * 6, 200, set()) == {"a", "b", "c"}          # everything fits
    assert allocate([a, b, c], [0] * 6, 100, set()) == {"b", "c"}               # a and b compete: b is read more
    assert allocate([a, b, c], [50] * 6, 100, set()) == {"c"}                   # fixed use leaves room for c only
    assert allocate([a, b, c], [0] * 6, 200, {3}) == {"a", "c"}                 # b lives across a host op


def test_kernel_normalisation_and_weight_padding():
    lw = reset_kernel(Lowered("pooling", ifm=(1, 64, 128), ofm=(1, 32, 128), kernel=(1, 3), stride=(2, 2),
                              dilation=(2, 2)))
    assert lw.stride == (1, 2) and lw.dilation == (1, 2)
    # Vela's reorder_encode unencoded sizes: FC 512 -> 100 pads OFM to 104; 3x3 part-kernel 8 -> 48 pads the
    # kernel to 12 elements; depth-first 48 -> 8 pads the IFM to 64
    assert padded_weights("vector_product", 100, 512, (1, 1), False, 8) == 104 * 512
    assert padded_weights("conv", 48, 8, (3, 3), True, 8) == 48 * 12 * 8
    assert padded_weights("conv", 8, 48, (1, 1), False, 8) == 8 * 64
    assert (ones_kernel_bytes(24 * 24 * 128), ones_kernel_bytes(3 * 96)) == (9232, 64)


def _graph(layers, shapes, weights=None):
    return Graph.build("g", {"x": tensor_type(shapes)}, [layers[-1].outputs[0]], layers, weights=weights or {})


def test_activation_fuses_into_its_only_producer():
    g = _graph([Layer("p", O.AveragePool(kernel=(2, 2), strides=(2, 2)), ("x",), ("p_y",)),
                Layer("t", O.Tanh(), ("p_y",), ("t_y",)),
                Layer("m", O.MaxPool(kernel=(1, 1)), ("t_y",), ("m_y",))], (1, 16, 8, 8))
    low, fused = fuse_activations(g, g.layers, [lower(g, x) for x in g.layers])
    assert fused == {"t": "p"} and low[1].kind == FUSED and low[0].act == "lut"


def test_concat_inputs_and_pad_interior_written_in_place(shared):
    rng = np.random.default_rng(0)
    w = {f"w{k}": (rng.standard_normal((c, 16, 1, 1)) * 0.2).astype(np.float32) for k, c in ((1, 8), (2, 24))}
    g = _graph([Layer("c1", O.Conv(kernel=(1, 1)), ("x", "w1"), ("a",)),
                Layer("c2", O.Conv(kernel=(1, 1)), ("x", "w2"), ("b",)),
                Layer("cat", O.Concat(axis=1), ("a", "b"), ("cat_y",)),
                Layer("pad", O.Pad(pads=(0, 0, 1, 0, 0, 0, 0, 1)), ("cat_y",), ("pad_y",))], (1, 16, 6, 6), w)
    est = estimate(g, shared)
    pl = est.placement
    assert pl.root["a"] == pl.root["b"] == "cat_y" and pl.fmt["cat_y"] == "NHWC"   # offset 8: not NHCWB16
    cost = {layer.name: c for layer, _, c in est.rows}
    assert cost["cat"].cycles == 0 and cost["pad"].cycles > 0                     # only the zero border is copied


def test_softmax_chain_matches_vela(shared):
    """Vela 5.2.0 on a 1×1000 int8 Softmax (Client_Server, Shared_Sram): 28 NPU ops, 13,216 cycles."""
    ops = softmax_ops((1, 1, 1000), shared, "sram", "sram")
    assert len(ops) == 28
    assert sum(cost_npu_op(op, shared)[0].cycles for op in ops) == pytest.approx(13216, rel=0.01)


@pytest.mark.parametrize("system,ifm,ifm2,npu,sram_ac,dram_ac", [
    ("Ethos_U65_Client_Server", (56, 56, 32), (56, 56, 32), 37632, 6272, 75264),       # rand307 mul2
    ("Ethos_U65_High_End", (56, 56, 32), (56, 56, 32), 64460, 6272, 240844),
    ("Ethos_U65_Client_Server", (24, 24, 128), (1, 1, 128), 27648, 4608, 30720),      # rand314 se_mul3
    ("Ethos_U65_High_End", (24, 24, 128), (1, 1, 128), 27698, 4608, 98304),
])
def test_binary_op_reads_each_input_in_its_own_format(system, ifm, ifm2, npu, sram_ac, dram_ac):
    """Vela 5.2.0 (u65-256, Dedicated_Sram_384KB, --verbose-performance): a Mul of the NHWC graph input and a conv's
    NHCWB16 map, both off-chip, OFM to SRAM. The IFM2's bursts are sized by its own brick format (full bursts), not
    the IFM's NHWC one (short bursts); the per-channel broadcast map is read once per OFM element."""
    from cnncc.backends.ethos_u65.blocks import ELEMENTWISE, NpuOp

    arch = arch_of(load_target("ethos-u65-256", {"system": system, "memory_mode": "Dedicated_Sram_384KB"}))
    op = NpuOp(ELEMENTWISE, ifm, ifm, ifm2=ifm2, ao_kind="mul", ifm_fmt="NHWC", ofm_fmt="NHCWB16",
               ifm_mem="offchip", ifm2_mem="offchip", ofm_mem="sram", ifm2_fmt="NHCWB16")
    cost = cost_npu_op(op, arch)[0]
    assert (cost.npu_cycles, cost.access_cycles["sram"], cost.access_cycles["offchip"]) == (npu, sram_ac, dram_ac)
    same = cost_npu_op(NpuOp(**{**op.__dict__, "ifm2_fmt": "NHWC"}), arch)[0]
    assert same.access_cycles["offchip"] > dram_ac                      # read as NHWC: short bursts, more traffic

"""Activations Vela 5.2.0 runs as ops of their own, and the shape it runs them on.

Vela reads every activation of a TFLite file (a fused one as well: an op of its own on the producer's raw output,
with the output's quantisation on both sides) and packs it back into the NPU op producing its input (Regor's
``SchedulerPacking::PackOperations`` / ``CanPack``). Two of its conditions decide most cases (read in Regor's
source, hapv3/neural-compiler, then measured on generated networks, u65-256 Client_Server Shared_Sram):

- **Unit scaling.** A ReLU / ReLU6 / ReLU_N1_TO_1 packs only when its input and output scales are equal (an
  activation with a rescale of its own cannot be a fused clamp). cnncc's TFLite writer quantises a standalone
  activation's output by its own calibrated range, so the scales are equal exactly when the activation changes no
  value of its input (:func:`identity_on_input`: the input is known to lie in the clamp's range, e.g. a MaxPool of
  a ReLU'd map); a quantised graph's own scales are compared as they are. A LUT activation (int8 Sigmoid, Tanh,
  LeakyRelu, HardSwish: the table does the rescale) always packs. Measured: a standalone ReLU / ReLU6 after a
  conv, depthwise conv, MaxPool, AvgPool, Add, Mul or fully connected layer of a signed map runs apart
  (2,752 cycles on a 12×20×16 map), after a MaxPool of a ReLU'd map it packs; Sigmoid / Tanh / LeakyRelu /
  HardSwish pack after all of them (after a Concat, whose copies write the map, nothing packs).
- **Reshaped to 16 deep.** An elementwise-like op (an activation, Add / Sub / Mul without broadcast, ...) whose
  OFM has more than 16 elements and fewer than 8 channels runs on the map reshaped to at least 16 channels
  (:func:`deepened`: the element count's prime factors, smallest first, into the depth until it reaches 16, the
  rest shared between height and width, height the larger: 12×20×4 → 10×6×16, 8×34×3 → 17×3×16), and an
  activation whose shape then differs from its producer's OFM does not pack. So the activation of a conv or
  depthwise conv of 1 … 7 channels runs apart unless the map has at most 16 elements (2×2×4 packs, 2×2×7 and
  1×17×1 do not), that of an Add of 4 channels packs (the Add is reshaped alike), that of a fully connected layer
  of 4 outputs packs (4 elements). Vela's rows: ``<name>_act`` (or ``<name>/pre_act``) for the conv, ``<name>``
  for the activation pass. A reshaped op reads and writes its maps as plain NHWC (placement.py).

:func:`split_activations` writes such a layer with a fused activation as two layers (the activation an IR layer of
its own, ``<name>/act``); :func:`packs` is the rule ``lower.fuse_activations`` applies to a standalone activation.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace

from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

MIN_DEPTH = 8        # an elementwise-like op of fewer OFM channels is reshaped ...
MIN_ELEMENTS = 16    # ... when its OFM has more elements than this ...
TARGET_DEPTH = 16    # ... to a depth of at least this
CLAMPS = (O.Relu, O.Clip)  # activations Vela runs as a clamp (the rest of lower.ACTIVATIONS are LUTs)
_PASS_THROUGH = (O.MaxPool, O.AveragePool, O.GlobalMaxPool, O.GlobalAveragePool, O.ReduceMean, O.Reshape,
                 O.Flatten, O.Identity, O.Transpose, O.Slice, O.Split, O.Resize)


def deepened(hwc: tuple[int, int, int]) -> tuple[int, int, int]:
    """(H, W, C) Vela runs an elementwise-like op of OFM ``hwc`` on (module doc); ``hwc`` itself when it is not
    reshaped (at least 8 channels, or at most 16 elements)."""
    n = math.prod(hwc)
    if not runs_deepened(hwc):
        return hwc
    factors, rest, f = [], n, 2
    while rest > 1 and f * f <= rest:
        while rest % f == 0:
            factors.append(f)
            rest //= f
        f += 1
    if rest > 1:
        factors.append(rest)
    depth, k = 1, 0
    while k < len(factors) and depth < TARGET_DEPTH:
        depth *= factors[k]
        k += 1
    h = w = 1
    for f in factors[k:]:
        if w < h:
            w *= f
        else:
            h *= f
    return (max(h, w), min(h, w), depth)


def runs_deepened(hwc: tuple[int, int, int]) -> bool:
    """Whether Vela reshapes an elementwise-like op of OFM ``hwc`` (fewer than 8 channels, more than 16
    elements)."""
    return hwc[2] < MIN_DEPTH and math.prod(hwc) > MIN_ELEMENTS


def _hwc(graph: Graph, t: str) -> tuple[int, int, int]:
    from cnncc.backends.ethos_u65.lower import hwc

    return hwc(graph.type_of(t).shape)


def elementwise_deepened(graph: Graph, layer: Layer) -> bool:
    """Whether Vela runs Add / Sub / Mul ``layer`` reshaped (:func:`deepened`; not with a broadcast operand)."""
    if not isinstance(layer.op, (O.Add, O.Sub, O.Mul)):
        return False
    a, b = (graph.type_of(t).shape for t in layer.inputs[:2])
    broadcast = math.prod(a) != 1 and math.prod(b) != 1 and a != b
    return not broadcast and runs_deepened(_hwc(graph, layer.outputs[0]))


def shape_breaks_packing(graph: Graph, producer: Layer) -> bool:
    """Whether an activation on ``producer``'s output is reshaped and ``producer`` cannot take it so: a
    convolution, pooling or fully connected op can take only an activation of its own OFM shape, an elementwise
    op either (a broadcast Mul of 4 channels packs its ReLU)."""
    return runs_deepened(_hwc(graph, producer.outputs[0])) and not isinstance(producer.op, (O.Add, O.Sub, O.Mul))


def value_bounds(graph: Graph, t: str, depth: int = 0) -> tuple[float, float]:
    """Bounds every value of activation ``t`` lies within, as far as the ops producing it tell (activations clamp,
    pooling / views / copies keep their input's bounds); (-inf, inf) when unknown."""
    free = (-math.inf, math.inf)
    prod = graph.producer(t)
    if prod is None or depth > 64:
        return free
    op = prod.op
    act = op if isinstance(op, (O.Relu, O.Clip, O.Sigmoid, O.Tanh, O.HardSigmoid)) else getattr(op, "act", None)
    if isinstance(act, O.Relu):
        return (0.0, math.inf)
    if isinstance(act, O.Clip):
        return (act.lo, act.hi)
    if isinstance(act, (O.Sigmoid, O.HardSigmoid)):
        return (0.0, 1.0)
    if isinstance(act, O.Tanh):
        return (-1.0, 1.0)
    if act is not None:
        return free
    acts = [x for x in prod.inputs if not graph.is_weight(x)]
    if isinstance(op, _PASS_THROUGH) and acts:
        return value_bounds(graph, acts[0], depth + 1)
    if isinstance(op, O.Concat) and acts:
        bounds = [value_bounds(graph, x, depth + 1) for x in acts]
        return (min(b[0] for b in bounds), max(b[1] for b in bounds))
    if isinstance(op, O.Pad) and acts and getattr(op, "mode", "constant") == "constant":
        lo, hi = value_bounds(graph, acts[0], depth + 1)
        v = float(getattr(op, "value", 0.0))
        return (min(lo, v), max(hi, v))
    return free


def _clamp_range(act) -> tuple[float, float]:
    if isinstance(act, O.Clip):
        return (act.lo, act.hi)
    return (0.0, math.inf)


def identity_on_input(graph: Graph, layer: Layer) -> bool:
    """Whether clamp activation ``layer`` changes no value of its input (the input's bounds within the clamp)."""
    lo, hi = value_bounds(graph, layer.inputs[0])
    clo, chi = _clamp_range(layer.op)
    return lo >= clo and hi <= chi


def unit_scaled(graph: Graph, layer: Layer) -> bool:
    """Whether standalone clamp ``layer`` has equal input and output scales in the TFLite file Vela reads: a
    quantised graph's own scales, else those cnncc's writer gives (each map quantised by its own range: equal when
    the clamp is an identity on its input)."""
    qi, qo = graph.type_of(layer.inputs[0]).quant, graph.type_of(layer.outputs[0]).quant
    if qi is not None and qo is not None:
        return tuple(qi.scale) == tuple(qo.scale)
    return identity_on_input(graph, layer)


def packs(graph: Graph, layer: Layer, producer: Layer) -> bool:
    """Vela's conditions specific to packing standalone activation ``layer`` into ``producer`` (module doc; the
    single-reader, no-graph-output and producer-kind conditions are ``lower.fuse_activations``'s)."""
    if isinstance(producer.op, (O.Relu, O.Clip, O.Sigmoid, O.Tanh, O.HardSigmoid, O.HardSwish, O.LeakyRelu)):
        return False  # two activations in a row do not pack
    if isinstance(layer.op, CLAMPS) and not unit_scaled(graph, layer):
        return False
    from cnncc.backends.ethos_u65.transconv import crops

    if crops(graph, producer):
        return False  # the exported SLICE of a cropping ConvTranspose lies between (transconv.crop_copy)
    return not shape_breaks_packing(graph, producer)


def keeps_activation_apart(graph: Graph, layer: Layer) -> bool:
    """Whether Vela runs ``layer``'s own (fused) activation as a separate op: its activation pass is reshaped and
    the layer's OFM is not (module doc)."""
    op = layer.op
    act = getattr(op, "act", None)
    if act is None or not isinstance(op, (O.Conv, O.Gemm, O.MatMul, O.Add, O.Sub, O.Mul)):
        return False
    if isinstance(act, O.Clip) and act.lo < 0 < act.hi and (act.lo, act.hi) != (-1, 1):
        return False  # the TFLite writer leaves it to int8 saturation: no activation op to run apart
    return shape_breaks_packing(graph, layer)


def split_activations(graph: Graph) -> tuple[Graph, dict[str, tuple[str, ...]]]:
    """(the network with each such layer as layer + activation layer, {layer: (layer, its activation layer)}).
    The layer keeps its name and writes ``<name>/pre_act``; the activation layer ``<name>/act`` writes the layer's
    original output."""
    parts: dict[str, tuple[str, ...]] = {}
    layers: list[Layer] = []
    for layer in graph.layers:
        if not keeps_activation_apart(graph, layer):
            layers.append(layer)
            continue
        act = layer.op.act  # type: ignore[attr-defined]
        raw = f"{layer.name}/pre_act"
        bare = dataclasses.replace(layer.op, act=None)  # type: ignore[call-arg]  # every op kept apart has one
        layers.append(replace(layer, op=bare, outputs=(raw,)))
        layers.append(Layer(f"{layer.name}/act", act, (raw,), layer.outputs, group=layer.name))
        parts[layer.name] = (layer.name, f"{layer.name}/act")
    return (graph.with_layers(layers) if parts else graph), parts

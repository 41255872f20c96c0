"""Vela's removal of an explicit zero Pad in front of a convolution: the convolution pads the map itself.

A network whose convolution reads a Pad's output (ONNX Pad → Conv, as PyTorch exports TensorFlow-style "same"
convolutions; TFLite PAD → CONV_2D VALID, which is also how cnncc's exporter writes a conv whose pads are not
TFLite's SAME) is compiled by Vela 5.2.0 without the Pad when the convolution's own padding can stand in for it
(Regor's ``ReplacePadByExplicitPadding``, read in the public fork hapv3/neural-compiler e4b56335, and checked on
Vela 5.2.0 with the generated networks of ``tests/ethos_u65/padnet.py``). In our words, a convolution or depthwise
convolution without padding of its own whose input is a Pad's output takes the Pad's padding when

* the Pad pads with the zero point (a constant Pad of value 0), along the height and width only, and
* after the bottom / right padding is trimmed of what the stride never reaches (:func:`trimmed_after`), no pad is as
  large as the dilated kernel along its axis (a window lying wholly in the padding would need real zeros).

* Vela's graph rewrite reaches the convolution before the Pad: it walks back from the graph outputs and rewrites
  a Pad into copies when it reaches it, so a Pad that another reader leads to first stays (:func:`fuse_pads`).

The convolution then reads the Pad's input (its IFM is the unpadded map: fewer bytes to fetch, and a graph input
stays a graph input, which Vela may copy into SRAM, inputcopy.py); the Pad itself is gone once no other layer reads
its output. The other way round, a conv whose own pads are not TFLite's SAME is written by the exporter as PAD +
VALID CONV_2D; where the rule above refuses that padding (a pad as large as the kernel), Vela runs the PAD as
copies, and the network Vela compiles has that Pad (:func:`exported_pad`). Measured (``bench/vela_fidelity.py
--padded 100``, six configurations): totals within ±5 % 305 → 591 of 600. :func:`fuse_pads` returns the graph Vela
compiles, which Pad went into which convolution and which conv brought its own Pad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer


@dataclass(frozen=True)
class PadFusion:
    """``graph``: the network as Vela compiles it (fused convolutions read the Pad's input with its pads as their
    own; Pads nobody else reads left out; a conv whose own padding the exporter writes as a PAD that Vela keeps is
    that Pad and the unpadded conv); ``into``: each left-out Pad layer -> the convolution that took it; ``parts``:
    each such conv -> the layers of ``graph`` whose costs are its own (the conv, then its Pad)."""

    graph: Graph
    into: dict[str, str]
    parts: dict[str, tuple[str, ...]]


def needed_padding(size: int, stride: int, kernel: int) -> int:
    """Total padding (elements) of one axis that a TFLite SAME window of ``kernel`` at ``stride`` needs on ``size``
    input elements (output ceil(size / stride))."""
    out = -(-size // stride)
    return max((out - 1) * stride + kernel - size, 0)


def _cmod(a: int, b: int) -> int:
    """C's remainder (the sign of the dividend), which Vela's arithmetic uses."""
    return int(math.fmod(a, b))


def trimmed_after(size: int, stride: int, kernel: int, before: int, after: int) -> int:
    """The bottom / right padding Vela keeps of ``after``: less the rows (columns) past the last window a stride
    of ``stride`` reaches, by comparing the remainder of ``after`` with that of the SAME split's after-part."""
    diff = _cmod(after, stride) - _cmod(needed_padding(size, stride, kernel) - before, stride)
    return max(0, after - diff - (0 if diff >= 0 else stride))


def _zero_pad(graph: Graph, layer: Layer) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of a constant zero Pad of a 4-D map along H and W only, else None."""
    op = layer.op
    if not isinstance(op, O.Pad) or op.mode != "constant" or len(op.pads) != 8 or min(op.pads) < 0:
        return None
    if op.value != 0.0:
        q = graph.type_of(layer.inputs[0]).quant
        if q is None or not q.scale or round(op.value / q.scale[0]) != 0:
            return None  # padded with another value than the zero point
    n0, c0, t, left, n1, c1, b, r = op.pads
    if n0 or c0 or n1 or c1:
        return None
    return t, left, b, r


def takes_padding(pads: tuple[int, int, int, int], hw: tuple[int, int], op: O.Conv) -> bool:
    """Whether convolution ``op`` (no padding of its own) can take zero padding ``pads`` (top, left, bottom,
    right) of its ``hw`` input as its own: after trimming, no pad reaches the dilated kernel's size."""
    t, left, b, r = pads
    kh, kw = ((k - 1) * d + 1 for k, d in zip(op.kernel, op.dilations))
    b = trimmed_after(hw[0], op.strides[0], kh, t, b)
    r = trimmed_after(hw[1], op.strides[1], kw, left, r)
    return max(t, b) < kh and max(left, r) < kw


def fusable(graph: Graph, pad: Layer, conv: Layer) -> bool:
    """Whether ``conv`` (reading ``pad``'s output) takes ``pad``'s padding as its own (module doc)."""
    op = conv.op
    pads = _zero_pad(graph, pad)
    if pads is None or not isinstance(op, O.Conv) or any(op.pads) or conv.inputs[0] != pad.outputs[0]:
        return False
    _, c, h, w = graph.type_of(pad.inputs[0]).shape
    if op.groups not in (1, c):
        return False  # a grouped conv runs on the host CPU, padded map and all
    return takes_padding(pads, (h, w), op)


def exported_pad(graph: Graph, conv: Layer) -> bool:
    """Whether cnncc's TFLite exporter writes ``conv``'s own padding as a PAD before a VALID CONV_2D (pads that are
    not TFLite's SAME) that Vela cannot take back into the convolution, so that Vela runs the PAD (copies)."""
    from cnncc.frontend.tflite.writer import same_pads

    op = conv.op
    if not isinstance(op, O.Conv) or not any(op.pads) or min(op.pads) < 0:
        return False
    _, c, h, w = graph.type_of(conv.inputs[0]).shape
    if op.groups not in (1, c):
        return False
    _, _, oy, ox = graph.type_of(conv.outputs[0]).shape
    (sy, t, b), (sx, left, r) = (same_pads(n, k, s, d) for n, k, s, d in zip((h, w), op.kernel, op.strides,
                                                                               op.dilations))
    if (t, left, b, r) == op.pads and (sy, sx) == (oy, ox):
        return False  # TFLite SAME: the convolution pads itself
    return not takes_padding(op.pads, (h, w), replace(op, pads=(0, 0, 0, 0)))


def _split(graph: Graph, conv: Layer) -> tuple[Layer, Layer]:
    """``conv`` as the exporter writes it: a zero Pad named after the exporter's padded tensor, then the conv
    without padding."""
    op = conv.op
    assert isinstance(op, O.Conv)
    t, left, b, r = op.pads
    name = f"{conv.name}/pad"
    pad = Layer(name, O.Pad(pads=(0, 0, t, left, 0, 0, b, r)), (conv.inputs[0],), (name,), group=conv.name)
    return pad, replace(conv, op=replace(op, pads=(0, 0, 0, 0)), inputs=(name,) + tuple(conv.inputs[1:]))


def fuse_pads(graph: Graph) -> PadFusion:
    """The network with every Pad → convolution pair fused that Vela fuses (module doc). Vela tries each
    convolution when its graph rewrite visits it, and rewrites a Pad into copies when it visits the Pad: a
    depth-first walk back from the graph outputs, the last output first and, from each op, the writer of its last
    input first (a stack of each visited op's input writers). A Pad visited before its convolution (reached first
    through another reader) is copies by then, and the convolution reads the padded map."""
    producer = {t: layer for layer in graph.layers for t in layer.outputs}
    inputs = {layer.name: layer.inputs for layer in graph.layers}
    changed: dict[str, Layer] = {}
    visited: set[str] = set()
    stack = [producer[t] for t in graph.outputs if t in producer]
    while stack:
        layer = stack.pop()
        if layer.name in visited:
            continue
        visited.add(layer.name)
        op = layer.op
        pad = producer.get(layer.inputs[0]) if isinstance(op, O.Conv) else None
        if pad is not None and pad.kind == "Pad" and pad.name not in visited and fusable(graph, pad, layer):
            # the IR conv keeps the Pad's whole padding, so that its output keeps its size (Vela keeps the OFM
            # shape too; the trimmed rows are ones no window of the stride reads)
            assert isinstance(op, O.Conv)
            t, left, b, r = _zero_pad(graph, pad) or (0, 0, 0, 0)
            changed[layer.name] = replace(layer, op=replace(op, pads=(t, left, b, r)),
                                          inputs=(pad.inputs[0],) + tuple(layer.inputs[1:]))
            inputs[layer.name] = changed[layer.name].inputs
        stack.extend(producer[t] for t in inputs[layer.name] if t in producer and producer[t].name not in visited)
    split = {x.name: _split(graph, x) for x in graph.layers if exported_pad(graph, x)}
    if not changed and not split:
        return PadFusion(graph, {}, {})
    new = [changed.get(x.name, x) for x in graph.layers]
    taker: dict[str, str] = {}  # a fused Pad's output -> the first convolution that took its padding
    for x in graph.layers:
        if x.name in changed:
            taker.setdefault(x.inputs[0], x.name)
    read = {t for x in new for t in x.inputs}
    into = {x.name: taker[x.outputs[0]] for x in graph.layers
            if x.outputs[0] in taker and x.outputs[0] not in read and x.outputs[0] not in graph.outputs}
    kept = [y for x in new if x.name not in into for y in split.get(x.name, (x,))]
    return PadFusion(graph.with_layers(kept), into, {c: (c, p.name) for c, (p, _) in split.items()})

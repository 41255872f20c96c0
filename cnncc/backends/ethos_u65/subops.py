"""The NPU ops one layer runs as Vela 5.2.0 lowers it, with the maps each op reads and writes: what the SRAM live
ranges (liveranges.py) need of a layer that is more than one op, whose intermediate maps Vela allocates like any
other feature map.

A step reads and writes keys: ``in0``/``in1`` (the layer's activation inputs in order), ``out`` (its output) or an
intermediate ``m<k>`` with its own bytes (16-byte aligned) and format. A layer that is one op has no steps here
(:func:`layer_steps` returns None). Elementwise steps may write over an input (liveranges' in-place rule).

* PRelu (prelu.py): per-channel alpha < 1: [MUL by one into a rescaled copy], MUL by alpha into the output, MAXIMUM
  of the two into the output; otherwise ReLU, MINIMUM, MUL by alpha, ADD. The int8 intermediates have the input's
  shape, NHCWB16 (Vela 5.2.0 ``--verbose-allocation``: ``<name>_rescaled`` as large as the input map).
* The other chains (composite.py: BatchNormalization, HardSigmoid, Div, LRN): each op reads the one before.
* Softmax over C of an int8 (H, W, C) map, R = H·W rows (our reading of the dataflow of Regor's
  ``Softmax::GetGraph8Bit``, sizes from ``--verbose-allocation`` on YOLOv8n's 4×2100×16 DFL and a 1×2 head): the row
  maximum (R int8, NHWC); x − max through the exp LUT (R·C int32, NHCWB16 from 8 channels on); its shift right
  (R·C int32, NHWC, the ReduceSum's input); the row sums (R int32); count leading zeros and the Newton-Raphson
  reciprocal on one-value-per-row 32-bit maps, NHCWB16 (R·16·4 bytes) — the row sums and the right shift, read with
  a broadcast, NHWC when there is more than one row, as is the last reciprocal; the exponentials times the
  reciprocal (R·C int32), an ADD on it (written in place; Vela's ``_broadcasted`` row); the final shift into the
  output: 28 ops. With an off-chip arena each of these maps is on chip
  when it fits the SRAM cache by itself (softmax.wide_mem's rule; YOLOv8n's 537,600-byte maps are off-chip with
  384 KB). The intermediates of the other layers are where the layer's output is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnncc.backends.ethos_u65.lower import CHAIN, SOFTMAX, Lowered, hwc
from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

ALIGN = 16


@dataclass(frozen=True)
class Step:
    """One NPU op of a layer: the keys it reads, the key it writes, whether it may write over an input."""

    reads: tuple[str, ...]
    write: str
    elementwise: bool = True


@dataclass(frozen=True)
class SubOps:
    """A layer's NPU ops in order and its intermediates' bytes, formats and memories (key -> value; memory: ``out``
    where the layer's output is, ``own`` on chip when the SRAM holds the arena or the map fits the SRAM cache)."""

    steps: tuple[Step, ...]
    size: dict = field(default_factory=dict)
    fmt: dict = field(default_factory=dict)
    mem: dict = field(default_factory=dict)


def _align(n: int) -> int:
    return -(-int(n) // ALIGN) * ALIGN


def brick_bytes(h: int, w: int, c: int, itemsize: int = 1) -> int:
    """Bytes of an (H, W, C) map in NHCWB16 (C padded to 16)."""
    return h * w * -(-c // 16) * 16 * itemsize


def _same_quant(graph: Graph, layer: Layer) -> bool:
    qi, qo = graph.type_of(layer.inputs[0]).quant, graph.type_of(layer.outputs[0]).quant
    return qi is not None and qo is not None and (qi.scale, qi.zero_point) == (qo.scale, qo.zero_point)


def _prelu(graph: Graph, layer: Layer) -> SubOps | None:
    from cnncc.backends.ethos_u65.prelu import LEAKY, MULMAX, form

    kind = form(graph, layer)
    if kind == LEAKY:
        return None
    h, w, c = hwc(graph.type_of(layer.inputs[0]).shape)
    mid = _align(brick_bytes(h, w, c))
    alpha: tuple[str, ...] = () if graph.is_weight(layer.inputs[1]) else ("in1",)
    steps: tuple[Step, ...]
    if kind == MULMAX:
        if _same_quant(graph, layer):
            steps = (Step(("in0",) + alpha, "out"), Step(("in0", "out"), "out"))
            return SubOps(steps)
        steps = (Step(("in0",), "m0"), Step(("in0",) + alpha, "out"), Step(("m0", "out"), "out"))
        return SubOps(steps, {"m0": mid}, {"m0": "NHCWB16"})
    steps = (Step(("in0",), "m0"), Step(("in0",), "m1"), Step(("m1",) + alpha, "m2"), Step(("m0", "m2"), "out"))
    return SubOps(steps, {k: mid for k in ("m0", "m1", "m2")}, {k: "NHCWB16" for k in ("m0", "m1", "m2")})


def _chain(graph: Graph, layer: Layer, n: int) -> SubOps | None:
    """``n`` ops in sequence on the input's shape, each reading the one before (intermediates NHCWB16)."""
    if n <= 1:
        return None
    h, w, c = hwc(graph.type_of(layer.inputs[0]).shape)
    mid = _align(brick_bytes(h, w, c))
    keys = [f"m{k}" for k in range(n - 1)]
    steps = [Step(("in0" if k == 0 else keys[k - 1],), keys[k] if k < n - 1 else "out") for k in range(n)]
    return SubOps(tuple(steps), {k: mid for k in keys}, {k: "NHCWB16" for k in keys})


def _softmax(graph: Graph, layer: Layer, lw: Lowered) -> SubOps:
    h, w, c = lw.ifm
    rows = h * w
    wide_b16 = c >= 8  # measured: a 3-deep 32-bit map is not padded to a brick, 8- and 17-deep ones are
    full_b16, full_nhwc = brick_bytes(1, rows, c, 4), rows * c * 4
    row_b16, row_nhwc = brick_bytes(1, rows, 1, 4), rows * 4
    row_bc = "NHWC" if rows > 1 else "NHCWB16"  # a one-value-per-row map read with a broadcast over C
    spec: list[tuple[tuple[str, ...], str, int, str]] = [
        (("in0",), "max", rows, "NHWC"),
        (("in0", "max"), "exp", full_b16 if wide_b16 else full_nhwc, "NHCWB16" if wide_b16 else "NHWC"),
        (("exp",), "resc", full_nhwc, "NHWC"),
        (("resc",), "sum", row_nhwc if row_bc == "NHWC" else row_b16, row_bc),
        (("sum",), "hp1", row_b16, "NHCWB16"),
        (("hp1",), "rshift", row_nhwc if row_bc == "NHWC" else row_b16, row_bc),
        (("hp1",), "headroom", row_b16, "NHCWB16"),
        (("sum", "headroom"), "half", row_b16, "NHCWB16"),
        (("half",), "r0", row_b16, "NHCWB16"),
        (("r0",), "x0", row_b16, "NHCWB16"),
    ]
    x = "x0"
    for i in range(3):
        last = i == 2
        nxt = f"x{i + 1}"
        spec += [((x, "half"), f"a{i}", row_b16, "NHCWB16"), ((f"a{i}",), f"b{i}", row_b16, "NHCWB16"),
                 ((x, f"b{i}"), f"c{i}", row_b16, "NHCWB16"), ((f"c{i}",), f"d{i}", row_b16, "NHCWB16"),
                 ((x, f"d{i}"), nxt, row_nhwc if last else row_b16, "NHWC" if last else "NHCWB16")]
        x = nxt
    scaled = (full_b16, "NHCWB16") if wide_b16 else (full_nhwc, "NHWC")
    spec += [(("exp", x), "scaled", *scaled), (("scaled",), "scaled_add", *scaled),
             (("scaled_add", "rshift"), "out", 0, "")]
    keys = {name: f"m{k}" for k, (_, name, _, _) in enumerate(spec[:-1])}
    keys.update(in0="in0", out="out")
    # the max and sum are reductions; the exp (int8 -> int32) and the last shift (int32 -> int8) change the element
    # size: none of them writes over an input
    steps = tuple(Step(tuple(keys[r] for r in reads), keys[wr], wr not in ("max", "sum", "exp", "out"))
                  for reads, wr, _, _ in spec)
    return SubOps(steps, {keys[n]: _align(s) for _, n, s, _ in spec[:-1]}, {keys[n]: f for _, n, _, f in spec[:-1]},
                  {keys[n]: "own" for _, n, _, _ in spec[:-1]})


def layer_steps(graph: Graph, layer: Layer, lw: Lowered) -> SubOps | None:
    """The NPU ops of ``layer`` with their maps (module doc), or None when it runs as one op."""
    if lw.kind == SOFTMAX:
        return _softmax(graph, layer, lw)
    if lw.kind != CHAIN:
        return None
    if isinstance(layer.op, O.PRelu):
        return _prelu(graph, layer)
    if isinstance(layer.op, (O.BatchNormalization, O.HardSigmoid)):
        return _chain(graph, layer, 2)
    if isinstance(layer.op, O.LRN):
        k4 = int(round(layer.op.beta * 4))
        return _chain(graph, layer, 4 + 2 * (k4 % 2) + {1: 1, 2: 1, 3: 2, 4: 2}[k4])
    return None

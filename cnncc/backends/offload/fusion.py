"""Fusing elementwise layers into their producer's strategy.

A layer right after a loop-nest layer whose only consumer it is (and whose output is no graph output) may run
inside that producer's strategy instead of as its own layer:

* an activation without parameters (Relu, Clip, Sigmoid, ...) or an elementwise op with a scalar constant is
  applied by the PU's output stage to each finished output tile before it is stored — no cycles, as for the
  activations the frontend already fuses into a conv;
* a per-channel BatchNormalization (its scale and shift) or a Mul/Add/Sub/Div with a per-channel constant is
  applied by the output stage too; its constants (``Problem.cb`` bytes) are loaded whole once before the
  producer's first step and stay resident (one extra transfer; closed form, scalar evaluator, z3 terms, cuts and
  the simulator's steps agree, tested);
* an Add of the producer's output and a second same-shape tensor (only as the first fused layer, and only
  into a sum-reducing producer without a fused activation: conv, depthwise, Gemm/MatMul, ConvTranspose): the
  second operand initialises each output tile's accumulator on its first visit (``Problem.rb``: one extra DMA
  load per output tile, following the output; the simulator replays it), so out = conv + residual exactly.

Each candidate is fused only when the producer's exact optimum with it is no slower than the producer's
optimum plus the candidate's own optimum (decided on the off-chip variants, before keep-on-chip).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import Problem

ACTS = ("Relu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu")
SCALAR = ("Add", "Sub", "Mul", "Div")
REDUCING = ("CONV", "DEPTHWISE", "FC", "MATMUL", "CONVT")


@dataclasses.dataclass(frozen=True)
class Plan:
    """``into[j]``: index of the producer layer j is fused into; ``members[i]``: names fused into layer i;
    ``problems``: the producers' problems with their fused residual, the fused layers' entries None;
    ``out``: per unit head, the tensor its group finally writes; ``res``: per unit head with a fused Add, the
    Add's second operand (the tensor its ``R`` loads read)."""

    into: dict[int, int]
    members: dict[int, list[str]]
    problems: list[Problem | None]
    out: dict[int, str]
    res: dict[int, str] = dataclasses.field(default_factory=dict)


def plan(graph: Any, problems: list[Problem | None], parts: list[Any], acc: Accel,
         optimum: Callable[[Problem | None, Accel], Fraction | None]) -> Plan:
    """Choose the fused layers (see the module docstring)."""
    from cnncc.backends.offload import layers as L
    from cnncc.ir import loopnest

    probs = list(problems)
    into: dict[int, int] = {}
    members: dict[int, list[str]] = {}
    res: dict[int, str] = {}
    out = {i: ly.outputs[0] for i, ly in enumerate(graph.layers) if ly.outputs}
    reducing = {getattr(loopnest, k) for k in REDUCING}
    for j, layer in enumerate(graph.layers):
        pj = probs[j]
        if j == 0 or not acc.fuse_elementwise or pj is None or len(layer.outputs) != 1:
            continue
        h = into.get(j - 1, j - 1)
        head, hp = graph.layers[h], probs[h]
        if hp is None or graph.loop_nest(head) is None:
            continue
        t = out[h]
        if t in graph.outputs or [c.name for c in graph.consumers(t)] != [layer.name]:
            continue
        acts = graph.activation_inputs(layer)
        if t not in acts:
            continue
        kind, fused, other = layer.kind, None, None
        if kind in ACTS or (kind in SCALAR and len(acts) == 1 and not pj.has_weights):
            fused = dataclasses.replace(hp, ob=L.esize(graph, layer.outputs[0], acc.act_bytes))
        elif (kind == "BatchNormalization" or (kind in SCALAR and len(acts) == 1)) and pj.has_weights \
                and not pj.w_follows_output and pj.C == 1 and pj.FY == pj.FX == 1:
            # per-channel constants (one weight per channel; a BatchNormalization's scale and shift): the
            # output stage applies them, loaded whole once (Problem.cb)
            fused = dataclasses.replace(hp, cb=hp.cb + pj.full_bytes("W"),
                                        ob=L.esize(graph, layer.outputs[0], acc.act_bytes))
        elif (kind == "Add" and len(acts) == 2 and h not in members and hp.rb == 0
              and graph.loop_nest(head).kind in reducing and getattr(head.op, "act", None) is None
              and graph.type_of(acts[0]).shape == graph.type_of(acts[1]).shape):
            other = acts[1] if acts[0] == t else acts[0]
            if other == t:
                continue
            fused = dataclasses.replace(hp, rb=L.esize(graph, other, acc.act_bytes),
                                        ob=L.esize(graph, layer.outputs[0], acc.act_bytes))
        if fused is None:
            continue
        with_it, alone, own = optimum(fused, acc), optimum(hp, acc), optimum(pj, acc)
        if with_it is None or (alone is not None and own is not None and with_it > alone + own):
            continue
        probs[h], probs[j] = fused, None
        if other is not None:
            res[h] = other
        into[j] = h
        members.setdefault(h, []).append(layer.name)
        out[h] = layer.outputs[0]
    return Plan(into, members, probs, out, res)

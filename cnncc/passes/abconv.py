"""abconv: Arithmetic-intensity Balancing Convolution (seed paper 1, as defined in shared/reference/abconv.md).

ABConv(g) replaces a conv C_in -> C_out (output H×W) by channel-to-space (g channel groups laid side by side),
one conv C_in/g -> C_out/g shared by all groups, and space-to-channel. Weights fall g²-fold, MACs g-fold, AI_w
rises to g·H·W while AI_in and AI_out fall g-fold. It CHANGES THE FUNCTION: the result must be retrained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cnncc.errors import PipelineError
from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from cnncc.ir.loopnest import CONV, LoopNest, intensities
from cnncc.passes.abconv_geom import axis, candidate_groups, split
from cnncc.passes.base import Namer, Pass, PassContext, drop_unused_weights, used_names


def bound_value(it) -> float:
    """The intensity bound min(AI_in, AI_w, AI_out) in MAC/byte."""
    return min(v for v in (it.ai_in, it.ai_w, it.ai_out) if v is not None)


def _intens(nest: LoopNest) -> dict:
    it = intensities(nest)
    return dict(it.as_dict(), bound_value=bound_value(it))


@dataclass(frozen=True)
class ABConvPass(Pass):
    """Replace eligible convs by ABConv(g) (changes the function: retraining required).

    groups: g, or auto (the g dividing C_in and C_out that maximises the intensity bound, or with
    select=cost the lowest predicted cycles). max-hw: rule eligibility, output area OY·OX at most this and
    the bound set by AI_w. select: ``rule`` or ``cost`` (rewrite when the target's cost model predicts fewer
    cycles). target: target whose backend predicts cycles (default: the pipeline's target). layout: groups
    side by side along ``w``, ``h`` or on a square ``grid``. gap: give each group its own zero padding so
    groups do not mix at the seams. lowering: how the layout changes are written: ``slice-concat`` (default;
    channel-to-space as g channel Slices concatenated along W/H, space-to-channel as g spatial Slices
    concatenated along C: 4-D memory copies an NPU such as Ethos-U runs cheaply) or ``transpose`` (6-D
    Reshape/Transpose/Reshape). Both compute the same function. With select=cost the target's hook costs every
    layer of the rewrite, data movement included. only: consider only these conv layers (names), so a pipeline
    can give layers their own group factor (``abconv{groups=2 only=c3},abconv{groups=4 only=c4}``: the per-layer
    design axis of a sweep); an eligible layer listed in ``only`` is still rewritten only when the rule or the
    cost model says so. Counter: ``layers-rewritten``. Report section ``abconv``."""

    NAME: ClassVar[str] = "abconv"
    CHOICES: ClassVar[dict] = {"select": ("rule", "cost"), "layout": ("w", "h", "grid"),
                               "lowering": ("slice-concat", "transpose")}
    groups: int | None = None
    max_hw: int = 16
    select: str = "rule"
    target: str = ""
    layout: str = "w"
    gap: bool = False
    lowering: str = "slice-concat"
    only: tuple[str, ...] = ()

    def validate(self) -> None:
        if self.groups is not None and self.groups < 2:
            raise PipelineError("pass 'abconv': option groups must be >= 2 or auto")
        if self.groups is not None and split(self.groups, self.layout) is None:
            raise PipelineError(f"pass 'abconv': layout=grid needs a square groups, got {self.groups}")

    # ------------------------------------------------------------------ cost hook
    def _target(self, ctx: PassContext):
        from cnncc.target import load_target

        if self.target:
            return load_target(self.target)
        if isinstance(ctx.target, str):
            return load_target(ctx.target)
        return ctx.target

    def _hook(self, target):
        """The typed per-layer cost call of the target (``Target.layer_cycles``), or None without a target."""
        if target is None:
            return None

        def hook(graph, layer, target):
            return target.layer_cycles(graph, layer)

        return hook

    # ------------------------------------------------------------------ pass
    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        ctx.count("layers-rewritten", 0)
        target = self._target(ctx)
        if self.select == "cost" and target is None:
            raise PipelineError("abconv select=cost needs target=NAME or a target (--target)")
        hook = self._hook(target)
        convs = {ly.name for ly in graph.layers if isinstance(ly.op, O.Conv)}
        missing = [n for n in self.only if n not in convs]
        if missing:
            from cnncc.suggest import did_you_mean

            raise PipelineError(f"abconv only=: no conv layer named {', '.join(missing)}"
                                f"{did_you_mean(missing[0], convs)}")
        name = Namer(used_names(graph))
        layers: list[Layer] = []
        new_w: dict = {}
        rows = []
        for layer in graph.layers:
            res = None if self.only and layer.name not in self.only else self.consider(graph, layer, hook, target,
                                                                                           name)
            if res is None:
                layers.append(layer)
                continue
            repl, weights, row = res
            layers.extend(repl)
            new_w.update(weights)
            rows.append(row)
            ctx.count("layers-rewritten")
        if not rows:
            return graph
        ctx.sections["abconv"] = rows
        ctx.notes.append(f"abconv changes the function: {len(rows)} layer(s) rewritten "
                         f"({', '.join(r['name'] for r in rows)}); the model must be retrained, and outputs "
                         f"are not comparable with the original")
        return graph.with_layers(layers, drop_unused_weights(layers, graph.weights.with_arrays(new_w)))

    def consider(self, graph: Graph, layer: Layer, hook, target, name: Namer):
        """(replacement layers, new weights, report row) if the layer is rewritten, else None."""
        op = layer.op
        if not isinstance(op, O.Conv) or op.groups != 1 or not all(graph.is_weight(t) for t in layer.inputs[1:]):
            return None
        nest = graph.loop_nest(layer)
        if nest is None:
            return None
        before = _intens(nest)
        if before["ai_bound"] != "weight":
            return None
        if self.select == "rule" and nest.OY * nest.OX > self.max_hw:
            return None
        gs = [self.groups] if self.groups else candidate_groups(nest.C, nest.K, self.layout)
        gs = [g for g in gs if nest.C % g == 0 and nest.K % g == 0]
        if not gs:
            return None
        cyc_before = float(hook(graph, layer, target)) if hook else None
        best = None
        for g in gs:
            repl, weights, big = build(graph, layer, g, self.layout, self.gap, name.taken, self.lowering)
            after = _intens(big)
            if after["bound_value"] <= before["bound_value"]:
                continue                      # ABConv must raise the intensity bound
            cyc_after = None
            if hook:
                sub = Graph.build(f"{layer.name}.abconv", {layer.inputs[0]: graph.type_of(layer.inputs[0])},
                                  layer.outputs, repl, weights)
                cyc_after = float(sum(hook(sub, x, target) for x in sub.layers))
            key = (cyc_after, g) if self.select == "cost" else (-after["bound_value"], g)
            if best is None or key < best[0]:
                best = (key, g, after, cyc_after)
        if best is None:
            return None
        _, g, after, cyc_after = best
        if self.select == "cost" and (cyc_after is None or cyc_before is None or not cyc_after < cyc_before):
            return None
        repl, weights, big = build(graph, layer, g, self.layout, self.gap, name, self.lowering)
        row = {"name": layer.name, "g": g, "layout": self.layout, "gap": self.gap, "lowering": self.lowering,
               "before": before, "after": after,
               "params_before": int(nest.weight_elems), "params_after": int(big.weight_elems),
               "macs_before": int(nest.macs), "macs_after": int(big.macs),
               "cycles_before": cyc_before, "cycles_after": cyc_after,
               "target": target.name if target is not None and hook else None}
        return repl, weights, row


def build(graph: Graph, conv: Layer, g: int, layout: str, gap: bool, taken, lowering: str = "transpose"):
    """The ABConv(g) layers replacing ``conv``, their new weights, and the shared conv's LoopNest.
    ``lowering``: ``transpose`` (6-D Reshape/Transpose) or ``slice-concat`` (4-D Slice/Concat/Pad)."""
    name = taken if isinstance(taken, Namer) else Namer(taken)
    op = conv.op
    assert isinstance(op, O.Conv)
    x = conv.inputs[0]
    n, c, h, w = graph.type_of(x).shape
    _, k, oy, ox = graph.type_of(conv.outputs[0]).shape
    grid = split(g, layout)
    assert grid is not None, f"abconv: no {layout} split of {g} groups"  # validate() refuses such options
    gy, gx = grid
    (fy, fx), (sy, sx), (dy, dx) = op.kernel, op.strides, op.dilations
    ay = axis(h, oy, fy, sy, dy, op.pads[0], op.pads[2], gy, gap)
    ax = axis(w, ox, fx, sx, dx, op.pads[1], op.pads[3], gx, gap)
    cg, kg = c // g, k // g
    wt = np.asarray(graph.weights[conv.inputs[1]], dtype=np.float64)
    # initial shared filter: sum over input-channel blocks, mean over output-channel blocks
    w2 = wt.reshape(g, kg, g, cg, fy, fx).sum(axis=2).mean(axis=0).astype(np.float32)
    weights = {name(f"{conv.name}.abconv_w"): w2}
    if len(conv.inputs) > 2:
        b = np.asarray(graph.weights[conv.inputs[2]], dtype=np.float64)
        weights[name(f"{conv.name}.abconv_b")] = b.reshape(g, kg).mean(axis=0).astype(np.float32)
    out: list[Layer] = []

    def emit(suffix: str, o: O.Op, ins, tensor: str | None = None) -> str:
        ln = name(f"{conv.name}.ab_{suffix}")
        out.append(Layer(ln, o, tuple(ins), (tensor or ln,), conv.onnx_nodes, conv.name))
        return tensor or ln

    conv_op = O.Conv(op.kernel, op.strides, op.dilations, (ay.p0, ax.p0, ay.p1, ax.p1), 1, op.act)
    big = LoopNest(CONV, kg, cg, gy * ay.os, gx * ax.os, fy, fx, 1, ay.length, ax.length, sy, sx, dy, dx,
                   (ay.p0, ax.p0, ay.p1, ax.p1))
    if lowering == "slice-concat":
        _slice_concat(emit, x, conv.outputs[0], list(weights), conv_op, g, (gy, gx), (ay, ax), (cg, kg),
                      (oy, ox), gap)
        return out, weights, big
    t = emit("groups", O.Reshape((n, gy, gx, cg, h, w)), [x])
    if gap and any((ay.seg_p0, ay.seg_p1, ax.seg_p0, ax.seg_p1)):
        t = emit("seg_pad", O.Pad((0, 0, 0, 0, ay.seg_p0, ax.seg_p0, 0, 0, 0, 0, ay.seg_p1, ax.seg_p1)), [t])
    t = emit("to_space", O.Transpose((0, 3, 1, 4, 2, 5)), [t])
    t = emit("big_map", O.Reshape((n, cg, gy * ay.seg, gx * ax.seg)), [t])
    if ay.cropped or ax.cropped:
        t = emit("crop", O.Slice((0, 0), (ay.length, ax.length), (2, 3), (1, 1)), [t])
    t = emit("conv", conv_op, [t] + list(weights))
    t = emit("regions", O.Reshape((n, kg, gy, ay.os, gx, ax.os)), [t])
    if ay.os > oy or ax.os > ox:
        t = emit("trim", O.Slice((0, 0), (oy, ox), (3, 5), (1, 1)), [t])
    t = emit("to_channels", O.Transpose((0, 2, 4, 1, 3, 5)), [t])
    emit("out", O.Reshape((n, k, oy, ox)), [t], conv.outputs[0])
    return out, weights, big


def _slice_concat(emit, x, y, wnames, conv_op, g, grid, axes, chans, oyx, gap) -> None:
    """Emit the 4-D slice-concat form of ABConv: group (iy, ix) = channel block iy·gx + ix of ``x`` is placed
    at segment (iy, ix) of the big map (the same placement as the transpose lowering), and output region
    (iy, ix) becomes channel block iy·gx + ix of ``y``."""
    gy, gx = grid
    ay, ax = axes
    cg, kg = chans
    oy, ox = oyx
    pads = (0, 0, ay.seg_p0, ax.seg_p0, 0, 0, ay.seg_p1, ax.seg_p1)
    rows = []
    for iy in range(gy):
        segs = []
        for ix in range(gx):
            i = iy * gx + ix
            t = emit(f"c2s{i}", O.Slice((i * cg,), ((i + 1) * cg,), (1,), (1,)), [x])
            if gap and any(pads):
                t = emit(f"c2s{i}_pad", O.Pad(pads), [t])
            segs.append(t)
        rows.append(segs[0] if gx == 1 else emit(f"row{iy}", O.Concat(axis=3), segs))
    t = rows[0] if gy == 1 else emit("big_map", O.Concat(axis=2), rows)
    if ay.cropped or ax.cropped:
        t = emit("crop", O.Slice((0, 0), (ay.length, ax.length), (2, 3), (1, 1)), [t])
    t = emit("conv", conv_op, [t] + wnames)
    parts = []
    for iy in range(gy):
        for ix in range(gx):
            i = iy * gx + ix
            y0, x0 = iy * ay.os, ix * ax.os
            parts.append(emit(f"s2c{i}", O.Slice((y0, x0), (y0 + oy, x0 + ox), (2, 3), (1, 1)), [t]))
    emit("out", O.Concat(axis=1), parts, y)


__all__ = ["ABConvPass", "build", "bound_value"]

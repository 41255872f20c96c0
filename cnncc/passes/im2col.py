"""im2col: lower convolutions to an explicit Im2col layer + MatMul (+ bias Add) + reshape back (paper 2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cnncc.errors import PipelineError
from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from cnncc.passes.base import Namer, Pass, PassContext, drop_unused_weights, used_names


@dataclass(frozen=True)
class Im2colPass(Pass):
    """Lower Conv layers to Im2col + MatMul (+ Add for the bias) + Reshape/Transpose back to NCHW, for any
    kernel, stride, padding, dilation and groups. Exact.

    layout: ``chw`` patches [N, C·FY·FX, OY·OX] multiplied as W[K, C·FY·FX]·cols, or ``hwc`` patches
    [N, OY·OX, FY·FX·C] multiplied as cols·W[FY·FX·C, K] (the OpenEdgeCGRA paper's two variants).
    min-k: lower only convs whose larger kernel side is at least this (2 skips pointwise convs).
    only: lower only these conv layers (names). Counter: ``convs-lowered``."""

    NAME: ClassVar[str] = "im2col"
    CHOICES: ClassVar[dict] = {"layout": ("chw", "hwc")}
    layout: str = "chw"
    min_k: int = 1
    only: tuple[str, ...] = ()

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        ctx.count("convs-lowered", 0)
        convs = [layer.name for layer in graph.layers if isinstance(layer.op, O.Conv)]
        missing = [n for n in self.only if n not in convs]
        if missing:
            raise PipelineError(f"im2col only=: no conv layer named {', '.join(missing)}; conv layers: "
                                f"{', '.join(convs[:20])}{' ...' if len(convs) > 20 else ''}")
        name = Namer(used_names(graph))
        layers: list[Layer] = []
        new_w: dict = {}
        for layer in graph.layers:
            op = layer.op
            if (not isinstance(op, O.Conv) or max(op.kernel) < self.min_k
                    or (self.only and layer.name not in self.only)
                    or not all(graph.is_weight(t) for t in layer.inputs[1:])):
                layers.append(layer)
                continue
            layers.extend(self.lower(graph, layer, name, new_w))
            ctx.count("convs-lowered")
        if not new_w:
            return graph
        return graph.with_layers(layers, drop_unused_weights(layers, graph.weights.with_arrays(new_w)))

    def lower(self, graph: Graph, conv: Layer, name: Namer, new_w: dict) -> list[Layer]:
        op = conv.op
        assert isinstance(op, O.Conv)
        x = conv.inputs[0]
        n, c, _, _ = graph.type_of(x).shape
        _, k, oy, ox = graph.type_of(conv.outputs[0]).shape
        w = np.asarray(graph.weights[conv.inputs[1]])
        bias = np.asarray(graph.weights[conv.inputs[2]]) if len(conv.inputs) > 2 else None
        g, (fy, fx) = op.groups, op.kernel
        kg, cg, ff, p = k // g, c // g, fy * fx, oy * ox
        base, grp = conv.name, conv.name
        out: list[Layer] = []

        def add(suffix: str, o: O.Op, ins: tuple[str, ...], out_name: str | None = None) -> str:
            lname = name(f"{base}.{suffix}")
            t = out_name or lname
            out.append(Layer(lname, o, ins, (t,), conv.onnx_nodes, grp))
            return t

        cols = add("im2col", O.Im2col(op.kernel, op.strides, op.dilations, op.pads, self.layout), (x,))
        act_last = op.act
        wm: np.ndarray
        bshape: tuple[int, ...]
        if self.layout == "chw":
            if g == 1:
                wm, bshape = w.reshape(k, cg * ff), (k, 1)
            else:
                cols = add("cols_g", O.Reshape((n, g, cg * ff, p)), (cols,))
                wm, bshape = w.reshape(g, kg, cg * ff), (g, kg, 1)
            wn = name(f"{base}.wmat")
            new_w[wn] = wm
            y = add("matmul", O.MatMul(act=None if bias is not None else act_last), (wn, cols))
            if bias is not None:
                bn = name(f"{base}.bvec")
                new_w[bn] = bias.reshape(bshape)
                y = add("bias", O.Add(act=act_last), (y, bn))
            add("reshape", O.Reshape((n, k, oy, ox)), (y,), conv.outputs[0])
            return out
        # hwc: cols [N, P, FF·C], column (fy·FX + fx)·C + c
        if g == 1:
            wm, bshape = w.transpose(2, 3, 1, 0).reshape(ff * c, k), (k,)
        else:
            cols = add("cols_5d", O.Reshape((n, p, ff, g, cg)), (cols,))
            cols = add("cols_t", O.Transpose((0, 3, 1, 2, 4)), (cols,))
            cols = add("cols_g", O.Reshape((n, g, p, ff * cg)), (cols,))
            wm = w.reshape(g, kg, cg, fy, fx).transpose(0, 3, 4, 2, 1).reshape(g, ff * cg, kg)
            bshape = (g, 1, kg)
        wn = name(f"{base}.wmat")
        new_w[wn] = np.ascontiguousarray(wm)
        y = add("matmul", O.MatMul(act=None if bias is not None else act_last), (cols, wn))
        if bias is not None:
            bn = name(f"{base}.bvec")
            new_w[bn] = bias.reshape(bshape)
            y = add("bias", O.Add(act=act_last), (y, bn))
        if g == 1:
            y = add("nhwc", O.Reshape((n, oy, ox, k)), (y,))
            add("to_nchw", O.Transpose((0, 3, 1, 2)), (y,), conv.outputs[0])
        else:
            y = add("to_gkp", O.Transpose((0, 1, 3, 2)), (y,))
            add("reshape", O.Reshape((n, k, oy, ox)), (y,), conv.outputs[0])
        return out

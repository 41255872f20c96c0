"""fold-bn: fold inference BatchNormalization into the Conv / ConvTranspose / Gemm that feeds it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from cnncc.passes.base import Namer, Pass, PassContext, consumers_count, drop_unused_weights, used_names


@dataclass(frozen=True)
class FoldBN(Pass):
    """Fold BatchNormalization into the preceding Conv, ConvTranspose or Gemm (exact up to rounding).

    Applies when the BN input is produced by such a layer with no fused activation and read by nothing else,
    and the BN parameters are weights. W' = W·s, b' = (b − mean)·s + beta with s = scale/√(var+eps).
    Counter: ``bns-folded``."""

    NAME: ClassVar[str] = "fold-bn"

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        uses = consumers_count(graph)
        producers = {t: layer for layer in graph.layers for t in layer.outputs}
        new_w: dict = {}
        name = Namer(used_names(graph))
        folded: dict[str, Layer] = {}     # producer name -> folded layer
        dropped: set[str] = set()
        ctx.count("bns-folded", 0)
        for bn in graph.layers:
            if not isinstance(bn.op, O.BatchNormalization):
                continue
            if not all(graph.is_weight(t) for t in bn.inputs[1:]):
                continue
            prod = producers.get(bn.inputs[0])
            if prod is None or prod.name in folded or uses.get(bn.inputs[0], 0) != 1:
                continue
            if not isinstance(prod.op, (O.Conv, O.ConvTranspose, O.Gemm)) or prod.op.act is not None:
                continue
            if not all(graph.is_weight(t) for t in prod.inputs[1:]):
                continue
            scale, beta, mean, var = (graph.weights[t].astype(np.float64) for t in bn.inputs[1:5])
            s = scale / np.sqrt(var + bn.op.epsilon)
            w = graph.weights[prod.inputs[1]].astype(np.float64)
            k = int(graph.type_of(bn.outputs[0]).shape[1])
            op = prod.op
            if isinstance(op, O.Conv):
                w2 = w * s.reshape(-1, 1, 1, 1)
                b = graph.weights[prod.inputs[2]].astype(np.float64) if len(prod.inputs) > 2 else np.zeros(k)
            elif isinstance(op, O.ConvTranspose):   # W [C, K/g, FY, FX]; output channel = grp·K/g + j
                kg = w.shape[1]
                w2 = w.reshape(op.groups, -1, kg, *w.shape[2:]) * s.reshape(op.groups, 1, kg, 1, 1)
                w2 = w2.reshape(w.shape)
                b = graph.weights[prod.inputs[2]].astype(np.float64) if len(prod.inputs) > 2 else np.zeros(k)
            else:                                   # Gemm: Y = alpha·A'B' + beta·C, channels are columns
                if graph.type_of(bn.inputs[0]).shape[1] != k:
                    continue
                w2 = op.alpha * (w * s.reshape(-1, 1) if op.trans_b else w * s.reshape(1, -1))
                if len(prod.inputs) > 2:
                    c = graph.weights[prod.inputs[2]].astype(np.float64)
                    if c.size not in (1, k) or (c.ndim == 2 and c.shape[0] != 1):
                        continue
                    b = op.beta * np.broadcast_to(c.reshape(-1), (k,))
                else:
                    b = np.zeros(k)
                op = replace(op, alpha=1.0, beta=1.0)
            b2 = (b - mean) * s + beta
            wn, bnm = name(f"{prod.name}.w_bn"), name(f"{prod.name}.b_bn")
            new_w[wn] = w2.astype(graph.weights[prod.inputs[1]].dtype)
            new_w[bnm] = b2.astype(np.float32)
            folded[prod.name] = replace(prod, op=op, inputs=(prod.inputs[0], wn, bnm), outputs=bn.outputs,
                                        onnx_nodes=prod.onnx_nodes + bn.onnx_nodes)
            dropped.add(bn.name)
            ctx.count("bns-folded")
        if not folded:
            return graph
        layers = [folded.get(layer.name, layer) for layer in graph.layers if layer.name not in dropped]
        weights = drop_unused_weights(layers, graph.weights.with_arrays(new_w))
        return graph.with_layers(layers, weights)

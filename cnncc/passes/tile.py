"""tile: split convolutions into tiles that fit an on-chip memory (seed paper 3's offloading steps).

Tiles run along output rows (OY), output columns (OX), output channels (K) and input channels (C). A tile
reads an input slice with its halo (the window overlap), clipped to the map with the cut-off padding moved
into the tile's own pads; tiles along C produce partial sums accumulated by an Add; Concats reassemble
the output.
Every derived layer has ``group=<original layer>``. The rewrite is exact (up to float summation order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cnncc.errors import CapacityError, PipelineError
from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from cnncc.ir.types import DTYPE_BYTES
from cnncc.passes.base import Namer, Pass, PassContext, drop_unused_weights, used_names
from cnncc.passes.tiling import ConvGeom, choose_tiles, spatial_chunks


def _target(target):
    if isinstance(target, str):
        from cnncc.target import load_target

        return load_target(target)
    return target


def target_capacity(target) -> int | None:
    """On-chip bytes a target's backend fits layers into (:meth:`cnncc.target.Target.onchip_capacity_bytes`)."""
    target = _target(target)
    return None if target is None else target.onchip_capacity_bytes()


#: most tiles the pass makes of one layer: each tile is one or more IR layers, and planning millions of them
#: exhausts memory long before it is useful
MAX_TILES = 1 << 16


@dataclass(frozen=True)
class Tile(Pass):
    """Split each Conv whose working set (input slice with halo + weights + bias + output tile) exceeds the
    on-chip capacity into tiles along OY, OX, K and C (largest tiles that fit: fewest tiles, then fewest
    input-channel splits), or into explicit ``ty tx tk tc`` tiles. Exact.

    sram-bytes: capacity in bytes (auto: the target's ``onchip_bytes``/``sram_bytes``).
    ty tx tk tc: fixed tile sizes (output rows, output cols, output channels, input channels; for grouped
    convs tk >= K/groups means whole groups per tile). elem-bytes: bytes per element (auto: what the target
    stores an element of the tensor's dtype in, else the dtype's size). only: tile only these layers.
    Counters: ``layers-tiled``, ``tiles``."""

    NAME: ClassVar[str] = "tile"
    sram_bytes: int | None = None
    ty: int | None = None
    tx: int | None = None
    tk: int | None = None
    tc: int | None = None
    elem_bytes: int | None = None
    only: tuple[str, ...] = ()

    def validate(self) -> None:
        for k in ("sram_bytes", "ty", "tx", "tk", "tc", "elem_bytes"):
            if getattr(self, k) == 0:
                raise PipelineError(f"pass 'tile': option {k.replace('_', '-')}=0: expected a positive "
                                    f"integer or auto")

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        ctx.count("layers-tiled", 0)
        ctx.count("tiles", 0)
        cap = self.sram_bytes or target_capacity(ctx.target)
        fixed = {"ty": self.ty, "tx": self.tx, "tk": self.tk, "tc": self.tc}
        if cap is None and not any(fixed.values()):
            raise PipelineError("pass 'tile' needs sram-bytes=N, a target with onchip_bytes/sram_bytes, "
                                "or explicit ty/tx/tk/tc")
        names = {layer.name for layer in graph.layers}
        missing = [n for n in self.only if n not in names]
        if missing:
            raise PipelineError(f"tile only=: no layer named {', '.join(missing)}")
        tgt = _target(ctx.target)
        name = Namer(used_names(graph))
        layers: list[Layer] = []
        new_w: dict = {}
        summary = []
        for layer in graph.layers:
            if (not isinstance(layer.op, O.Conv) or (self.only and layer.name not in self.only)
                    or not all(graph.is_weight(t) for t in layer.inputs[1:])):
                layers.append(layer)
                continue
            dtype = graph.type_of(layer.inputs[0]).dtype
            eb = self.elem_bytes or (tgt.activation_bytes(dtype) if tgt is not None else DTYPE_BYTES[dtype])
            geom = ConvGeom.of(graph, layer, eb)
            if cap is not None and not any(fixed.values()) and geom.working_set(geom.full()) <= cap:
                layers.append(layer)
                continue
            choice = choose_tiles(geom, cap, fixed)
            if choice is None:
                raise CapacityError(f"layer {layer.name!r}: no tiling fits {cap} bytes of on-chip memory "
                                    f"(smallest tile needs {geom.working_set((1, 1, 1, 1))} bytes)")
            if geom.y_valid is None or geom.x_valid is None:  # every output reads padding only
                if cap is not None and geom.working_set(geom.full()) > cap:
                    raise CapacityError(f"layer {layer.name!r}: its outputs read only padding; tiling such a "
                                        f"conv is not supported and whole it needs "
                                        f"{geom.working_set(geom.full())} bytes > {cap}")
                layers.append(layer)
                continue
            if geom.n_tiles(choice)[0] == 1:
                layers.append(layer)
                continue
            if geom.n_tiles(choice)[0] > MAX_TILES:
                raise CapacityError(f"layer {layer.name!r}: tiling it to fit {cap} bytes needs "
                                    f"{geom.n_tiles(choice)[0]} tiles, over the planning limit of {MAX_TILES} "
                                    f"tiles per layer; "
                                    f"give a larger sram-bytes or explicit ty/tx/tk/tc")
            tiled, n_tiles = split_conv(graph, layer, geom, choice, name, new_w)
            layers.extend(tiled)
            ctx.count("layers-tiled")
            ctx.count("tiles", n_tiles)
            summary.append({"name": layer.name, "ty": choice[0], "tx": choice[1], "tk": choice[2],
                            "tc": choice[3], "tiles": n_tiles, "working_set_bytes": geom.working_set(choice),
                            "sram_bytes": cap})
        if not new_w:
            return graph
        if summary:
            ctx.sections["tile"] = summary
        return graph.with_layers(layers, drop_unused_weights(layers, graph.weights.with_arrays(new_w)))


def split_conv(graph: Graph, conv: Layer, geom: ConvGeom, choice, name: Namer, new_w: dict):
    """The layers computing ``conv`` tile by tile; returns (layers, number of conv tiles)."""
    op = conv.op
    assert isinstance(op, O.Conv)
    assert geom.y_valid is not None and geom.x_valid is not None  # choose_tiles refuses padding-only convs
    ty, tx, tk, tc = choice
    x, out_name = conv.inputs[0], conv.outputs[0]
    w = np.asarray(graph.weights[conv.inputs[1]])
    bias = np.asarray(graph.weights[conv.inputs[2]]) if len(conv.inputs) > 2 else None
    base = conv.name
    out: list[Layer] = []

    def emit(lname: str, o: O.Op, ins, tensor: str | None = None) -> str:
        ln = name(f"{base}.{lname}")
        t = tensor or ln
        out.append(Layer(ln, o, tuple(ins), (t,), conv.onnx_nodes, base))
        return t

    ychunks = spatial_chunks(geom.OY, ty, geom.y_valid)
    xchunks = spatial_chunks(geom.OX, tx, geom.x_valid)
    ktiles = geom.channel_tiles(tk, tc)   # [(k0, k1, [(c0, c1, groups, wc0, wc1), ...]), ...]
    slices: dict = {}
    wcache: dict = {}
    n_tiles = 0
    kparts = []
    for ik, (k0, k1, cparts) in enumerate(ktiles):
        yparts = []
        for iy, (y0, y1) in enumerate(ychunks):
            xparts = []
            for ix, (x0, x1) in enumerate(xchunks):
                partials = []
                for ic, (c0, c1, grp, wc0, wc1) in enumerate(cparts):
                    (r0, r1, pt, pb), (q0, q1, pl, pr) = geom.rows(y0, y1), geom.cols(x0, x1)
                    key = (c0, c1, r0, r1, q0, q1)
                    if key not in slices:
                        if (c0, c1, r0, r1, q0, q1) == (0, geom.C, 0, geom.H, 0, geom.W):
                            slices[key] = x
                        else:
                            slices[key] = emit(f"in_c{c0}y{r0}x{q0}", O.Slice(
                                (c0, r0, q0), (c1, r1, q1), (1, 2, 3), (1, 1, 1)), [x])
                    wkey = (k0, k1, wc0, wc1, ic == 0)
                    if wkey not in wcache:
                        wn = name(f"{base}.w_k{k0}c{c0}")
                        new_w[wn] = np.ascontiguousarray(w[k0:k1, wc0:wc1])
                        ins = [wn]
                        if bias is not None and ic == 0:
                            bn = name(f"{base}.b_k{k0}")
                            new_w[bn] = bias[k0:k1].copy()
                            ins.append(bn)
                        wcache[wkey] = ins
                    single = len(cparts) == 1
                    conv_op = O.Conv(op.kernel, op.strides, op.dilations, (pt, pl, pb, pr), grp,
                                     op.act if single else None)
                    partials.append(emit(f"k{ik}c{ic}y{iy}x{ix}", conv_op, [slices[key]] + wcache[wkey]))
                    n_tiles += 1
                if len(partials) > 1:
                    partials = [emit(f"acc_k{ik}y{iy}x{ix}", O.Add(act=op.act), partials)]
                xparts.append(partials[0])
            yparts.append(xparts[0] if len(xparts) == 1 else emit(f"cat_x_k{ik}y{iy}", O.Concat(3), xparts))
        kparts.append(yparts[0] if len(yparts) == 1 else emit(f"cat_y_k{ik}", O.Concat(2), yparts))
    if len(kparts) == 1:
        last = out[-1]
        # rename the final tensor to the original output
        out[-1] = Layer(last.name, last.op, last.inputs, (out_name,), last.onnx_nodes, last.group)
    else:
        emit("cat_k", O.Concat(1), kparts, out_name)
    return out, n_tiles


__all__ = ["Tile", "split_conv", "target_capacity"]

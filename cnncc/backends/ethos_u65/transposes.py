"""Transposes Vela 5.2.0 removes before costing (Regor's RewriteIdentityTranspose, CanonicaliseReshapeTransposePattern
and MergeTransposes; our own formulation): a Transpose that only moves axes of size 1 is a reshape, and a chain
Transpose -> views that only add or drop axes of size 1 -> Transpose whose composition leaves the order of the
non-unit axes unchanged moves no data at all. Such Transposes cost nothing."""

from __future__ import annotations

from cnncc.ir import ops as O
from cnncc.ir.graph import Graph, Layer

VIEWS = (O.Reshape, O.Flatten, O.Identity)


def _order(shape: tuple[int, ...], labels: list[int]) -> list[int]:
    """The labels of the non-unit axes, in order."""
    return [lab for lab, d in zip(labels, shape) if d != 1]


def _perm(layer: Layer, graph: Graph) -> tuple[int, ...]:
    assert isinstance(layer.op, O.Transpose)
    rank = graph.type_of(layer.inputs[0]).rank
    return layer.op.perm or tuple(reversed(range(rank)))


def no_op_transpose(graph: Graph, layer: Layer) -> bool:
    """A Transpose that keeps the order of the non-unit axes (a reshape)."""
    shape = graph.type_of(layer.inputs[0]).shape
    labels = list(range(len(shape)))
    perm = _perm(layer, graph)
    return _order(tuple(shape[p] for p in perm), [labels[p] for p in perm]) == _order(shape, labels)


def cancelling_transposes(graph: Graph) -> set[str]:
    """Names of Transposes that cancel in pairs across unit-axis views (see module doc)."""
    out: set[str] = set()
    for t1 in graph.layers:
        if not isinstance(t1.op, O.Transpose) or t1.name in out:
            continue
        shape = graph.type_of(t1.inputs[0]).shape
        seq = _order(shape, list(range(len(shape))))
        perm = _perm(t1, graph)
        cur = t1.outputs[0]
        labels = [list(range(len(shape)))[p] for p in perm]
        cur_seq = _order(graph.type_of(cur).shape, labels)
        while True:
            cons = graph.consumers(cur)
            if len(cons) != 1 or cur in graph.outputs:
                break
            nxt = cons[0]
            if isinstance(nxt.op, VIEWS):
                cur = nxt.outputs[0]
                new_shape = graph.type_of(cur).shape
                if len([d for d in new_shape if d != 1]) != len(cur_seq):
                    break  # the view merges or splits non-unit axes
                it = iter(cur_seq)
                labels = [next(it) if d != 1 else -1 for d in new_shape]
                continue
            if isinstance(nxt.op, O.Transpose):
                p2 = _perm(nxt, graph)
                in_shape = graph.type_of(nxt.inputs[0]).shape
                if len(labels) != len(in_shape):
                    break
                final = _order(tuple(in_shape[p] for p in p2), [labels[p] for p in p2])
                if final == seq:
                    out.update((t1.name, nxt.name))
            break
    return out

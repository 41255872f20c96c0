"""Graph queries (layer, producer, consumers) index the graph once: a whole-graph walk of them is linear."""

from __future__ import annotations

import numpy as np
import pytest

from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from cnncc.ir.types import tensor_type


class _CountingLayers(tuple):
    """A layers tuple that counts how often it is iterated."""

    iterations = 0

    def __iter__(self):
        type(self).iterations += 1
        return super().__iter__()


def _chain(n: int) -> Graph:
    layers, last = [], "x"
    for i in range(n):
        layers.append(Layer(f"r{i}", O.Relu(), (last,), (f"t{i}",)))
        last = f"t{i}"
    layers.append(Layer("add", O.Add(), ("x", last, "x"), ("y",)))
    return Graph.build("chain", {"x": tensor_type((1, 2, 3, 3))}, ["y"], layers, {"unused": np.zeros(1)})


def test_queries_iterate_the_layers_once():
    g = _chain(300)
    counting = _CountingLayers(g.layers)
    object.__setattr__(g, "layers", counting)
    for layer in counting:   # one walk by the caller ...
        for t in layer.inputs:
            g.producer(t)
            g.consumers(t)
        g.layer(layer.name)
    assert _CountingLayers.iterations == 2   # ... and one to build the index, not one per query


def test_query_answers():
    g = _chain(3)
    assert [la.name for la in g.consumers("x")] == ["r0", "add"]   # a layer reading x twice counts once
    assert g.producer("t2").name == "r2" and g.producer("x") is None and g.producer("nope") is None
    assert g.consumers("y") == [] and g.layer("r1").outputs == ("t1",)
    got = g.consumers("x")
    got.clear()                         # callers get a fresh list
    assert len(g.consumers("x")) == 2
    with pytest.raises(KeyError, match="nope"):
        g.layer("nope")

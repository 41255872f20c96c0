"""The order in which Vela 5.2.0 runs a network's ops (our own formulation of the traversal Regor's scheduler packing
uses, read in the public fork hapv3/neural-compiler; not the file's op order): a depth-first walk back from the graph
outputs that emits an op after everything it reads — the last graph output is walked first, an op's inputs in their
order (measured: the writers of a streaming model's state tensors run after the whole network they read; a Concat's
inputs written into its map by their producers in input order, then its copied inputs last one first). Where a
TFLite file lists its ops in another order, the op that runs before a given op — whose cycles hide the next op's
weight DMA, and which decides the live ranges of the maps — is the one here.
"""

from __future__ import annotations

from cnncc.ir.graph import Graph


def vela_order(graph: Graph) -> list[int]:
    """Indices into ``graph.layers`` in Vela's execution order; layers no graph output depends on keep their place
    after the others (Vela drops them; cnncc still costs them)."""
    index = {id(layer): k for k, layer in enumerate(graph.layers)}
    producer: dict[str, int] = {}
    for k, layer in enumerate(graph.layers):
        for t in layer.outputs:
            producer[t] = k
    kinds = _kinds(graph) if any(x.kind in ("Concat", "Pack") for x in graph.layers) else {}
    order: list[int] = []
    visited: set[int] = set()
    stack: list[tuple[bool, int]] = [(False, producer[t]) for t in graph.outputs if t in producer]
    while stack:
        done, k = stack.pop()
        if done:
            order.append(k)
        elif k not in visited:
            visited.add(k)
            stack.append((True, k))
            stack.extend((False, producer[t]) for t in reversed(visit_first(graph.layers[k], graph, kinds))
                         if t in producer and producer[t] not in visited)
    order += [index[id(x)] for x in graph.layers if index[id(x)] not in visited]
    # the float graph's edge conversions are no part of the network Vela compiles (the export's inputs and
    # outputs are int8): the host runs a graph input's Quantize before it and a graph output's Dequantize after it
    edge_in = [k for k in order if graph.layers[k].kind == "Quantize" and graph.layers[k].inputs[0] in graph.inputs]
    edge_out = [k for k in order if graph.layers[k].kind == "Dequantize"
                and graph.layers[k].outputs[0] in graph.outputs]
    if not edge_in and not edge_out:
        return order
    edge = set(edge_in) | set(edge_out)
    return edge_in + [k for k in order if k not in edge] + edge_out


def visit_first(layer, graph: Graph | None = None, kinds: dict[str, str] | None = None) -> tuple[str, ...]:
    """``layer``'s inputs in the order Vela's walk back from the outputs visits their writers (the first one's
    writers run first). Regor's walk (``Graph::TraverseGraphFromEnd``, read in the public fork
    hapv3/neural-compiler) stacks an op's inputs in their order, so the last input's writers run first. A Concat
    is several writers of one map: Vela creates a copy per input in input order, and its graph optimiser, walking
    the same way (last writer first), replaces the copy of an input whose producer writes straight into the map
    (``MoveConcatSliceToProducer``; datamove.written_in_place, or the export's requantising QUANTIZE) by that
    producer, appended to the map's writers. So the producers written in place run first, in input order, then
    the copied inputs, last one first. Measured with Vela 5.2.0 (tests/ethos_u65/test_vela_order.py): x -> 3
    convs / x -> 1 conv joined by an Add or a Concat, either input order (the Add runs its second input's branch
    first, the Concat written in place its first input's); three branches reshaped and concatenated on a
    non-channel axis, each copied or requantised, in every input order. Without ``graph`` a Concat's inputs are
    taken as all written in place."""
    if layer.kind in ("Concat", "Pack"):
        if graph is None or layer.kind != "Concat":
            return tuple(layer.inputs)
        from cnncc.backends.ethos_u65.datamove import written_in_place
        from cnncc.backends.ethos_u65.requant import requantised_input

        moved = [written_in_place(graph, layer, i, kinds or {}) or requantised_input(graph, layer, i)
                 for i in range(len(layer.inputs))]
        return tuple([t for t, m in zip(layer.inputs, moved) if m]
                     + [t for t, m in zip(reversed(layer.inputs), reversed(moved)) if not m])
    return tuple(reversed(layer.inputs))


def _kinds(graph: Graph) -> dict[str, str]:
    """Each layer's lowering kind (lower.lower), which decides whether a producer writes into a Concat's map."""
    from cnncc.backends.ethos_u65.lower import lower

    return {x.name: lower(graph, x).kind for x in graph.layers}


def in_vela_order(graph: Graph) -> tuple[Graph, list[int]]:
    """``graph`` with its layers in Vela's order (the same graph when that is the file's order) and, for each layer
    of ``graph``, its position in the new order."""
    order = vela_order(graph)
    if order == list(range(len(graph.layers))):
        return graph, order
    position = [0] * len(order)
    for pos, k in enumerate(order):
        position[k] = pos
    return graph.with_layers([graph.layers[k] for k in order]), position

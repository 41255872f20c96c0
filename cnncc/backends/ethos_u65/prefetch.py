"""The op Vela 5.2.0 runs just before an op, whose cycles the op's weight DMA can hide under (the slack of
weightbuf.Context): Regor pre-buffers an op's first weight slice during the previous scheduled op and takes that
op's NPU cycles as the slack (our formulation of ``Scheduler::ProposeScheduleBuffering`` /
``ProposeSlicedWeightBuffering``, read in hapv3/neural-compiler e4b56335, ethosu/regor/compiler/scheduler.cpp).

A Concat input that needs the export's requantisation is written by a QUANTIZE of its own (requant.py), and Vela
schedules it as soon as its source and the Concat's earlier inputs are written (its ops come in depth-first
order, a Concat's inputs in turn): right after the later of the op writing the source and the op (or copy)
writing the Concat's previous input — not where the Concat is. In a YOLOv8 C2f block the Split outputs' copies
run right after the Split's producer, so they are the op before the bottleneck's first convolution, and the
op before the Concat's reader is the bottleneck's last op, which writes into the Concat; in a neck Concat of an
earlier map with a fresh one the copy runs last, just before the reader (measured, YOLOv8n-320 on u65-512). The
Concat's own MemoryCopies run where the Concat is (datamove.py).
"""

from __future__ import annotations

from cnncc.backends.ethos_u65.config import U65Config
from cnncc.backends.ethos_u65.lower import FREE, MEMCOPY, Lowered
from cnncc.ir.graph import Graph

__all__ = ["requantising_copies"]


def requantising_copies(graph: Graph, lowered: list[Lowered], pl, arch: U65Config
                        ) -> tuple[dict[int, int], dict[int, list[bool]]]:
    """For the layers of ``graph`` in the order they are costed: ({layer index w: slack (NPU cycles) of the last
    requantising Concat copy Vela runs right after w's op}, {Concat layer index: for each of its copies, in
    datamove.copies' order, whether it runs at the Concat}); Concats without such copies are left out."""
    from cnncc.backends.ethos_u65.datamove import copies, written_in_place
    from cnncc.backends.ethos_u65.opcost import cost_copies
    from cnncc.backends.ethos_u65.requant import requantised_input

    kinds = {layer.name: lw.kind for layer, lw in zip(graph.layers, lowered)}
    pos = {layer.name: k for k, layer in enumerate(graph.layers)}

    def no_op(name: str) -> bool:   # a view, a folded requantisation, a Split Vela moves into its readers
        layer = graph.layers[pos[name]]
        return kinds[name] == FREE or (kinds[name] == MEMCOPY and not copies(graph, layer, kinds))

    def written_at(t: str) -> int:
        """Index of the layer after whose op ``t`` is written (-1: a graph input or constant)."""
        prod = graph.producer(t)
        while prod is not None and no_op(prod.name):
            acts = [x for x in prod.inputs if not graph.is_weight(x)]
            prod = graph.producer(acts[0]) if acts else None
        return pos[prod.name] if prod is not None else -1

    after: dict[int, int] = {}
    here: dict[int, list[bool]] = {}
    for k, (layer, lw) in enumerate(zip(graph.layers, lowered)):
        if layer.kind != "Concat" or lw.kind != MEMCOPY:
            continue
        if not any(requantised_input(graph, layer, i) for i in range(len(layer.inputs))):
            continue
        _, slacks = cost_copies(graph, layer, kinds, pl, arch)
        runs_here: list[bool] = []
        early: list[tuple[int, int]] = []
        last = -1
        for i, t in enumerate(layer.inputs):
            w = written_at(t)
            if written_in_place(graph, layer, i, kinds):
                last = max(last, w)
                continue
            at = max(w, last)
            local = not requantised_input(graph, layer, i) or at >= k
            runs_here.append(local)
            if not local:
                early.append((at, len(runs_here) - 1))
            last = k if local else at
        if len(runs_here) != len(slacks):
            continue   # not the copies datamove costs: leave them where the Concat is
        here[k] = runs_here
        for at, j in early:
            after[at] = slacks[j]   # copies after one op run in input order: the last one is the op before
    return after, here

"""The fast-storage allocator's candidates at Vela's time points (faststorage.on_schedule): the same per-op
schedule and live ranges as the SRAM peak (liveranges.py), so a map whose only reader is a requantising Concat copy
(run right after its writer) is a candidate, and a map an elementwise op writes over in place is one range with
it. Exact numbers of our own functions on tests/ethos_u65/test_requant.py's C2f block."""

from __future__ import annotations

from cnncc.backends.ethos_u65 import faststorage as F
from cnncc.backends.ethos_u65 import network as N
from cnncc.backends.ethos_u65.backend import arch_of
from cnncc.backends.ethos_u65.liveranges import live_ranges
from cnncc.backends.ethos_u65.placement import place
from cnncc.target import load_target
from tests.ethos_u65.test_requant import c2f_net


def test_candidates_on_the_schedule(monkeypatch):
    g = c2f_net("c2f", hw=(40, 40))
    arch = arch_of(load_target("ethos-u65-256", {"system": "Ethos_U65_High_End",
                                                 "memory_mode": "Dedicated_Sram_384KB"}))
    seen: dict = {}
    orig = F.on_schedule

    def spy(graph, lowered, arch_, cascades, costs, cands):
        out = orig(graph, lowered, arch_, cascades, costs, cands)
        seen.update(args=(graph, lowered, cascades, costs), cands=cands, out=out)
        return out

    monkeypatch.setattr(F, "on_schedule", spy)
    N.estimate(g, arch)
    ranges, fixed, host = seen["out"]
    # per layer (op indices) the Add's output 'a' has no reader after its own op: its copy runs right after it
    assert [(c.name, c.start, c.end) for c in seen["cands"]] == [("c1", 0, 3), ("c2", 2, 3), ("a", 3, 3)]
    # at time points: the Add writes over c2 (its one reader), and the copy of 'a' at point 10 reads it
    assert [(r.name, r.start, r.end, r.size, r.aliases) for r in ranges] == [
        ("c1", 0, 9, 51200, ()), ("c2", 6, 11, 25600, ("a",))]
    assert host == set() and len(fixed) == 12
    # the same ranges as the SRAM peak's with every candidate on chip
    graph, lowered, cascades, costs = seen["args"]
    pl = place(graph, lowered, arch, cascades, frozenset(c.name for c in seen["cands"]))
    lrs = {r.name: (r.start, r.end, r.size) for r in live_ranges(graph, lowered, pl, costs, cascades, arch=arch)}
    assert all(lrs[r.name] == (r.start, r.end, r.size) for r in ranges)
    assert [sum(r.size for r in lrs_ if r.start <= t <= r.end) for t in range(12)
            for lrs_ in [[x for x in live_ranges(graph, lowered, pl, costs, cascades, arch=arch)
                          if x.name not in {"c1", "c2"}]]] == fixed

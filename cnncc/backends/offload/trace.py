"""Timelines: the compact per-layer summary for the HTML Gantt chart, and Chrome/Perfetto trace-event JSON."""

from __future__ import annotations

import json

from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.simulate import SimResult

LANES = ("dma-load", "pu", "dma-store")
SAMPLES = 16  # memory occupancy samples per layer in the compact timeline


def layer_timeline(name: str, start: float, sim: SimResult) -> dict:
    """One summary event per lane (first start to last end, busy cycles in the label) and a few memory samples."""
    events = []
    for lane in LANES:
        ev = [e for e in sim.events if e[0] == lane]
        if ev:
            busy = float(sum(b - a for _, a, b, _ in ev))
            events.append({"lane": lane, "start": start + float(ev[0][1]), "end": start + float(ev[-1][2]),
                           "label": f"{name}: {len(ev)} events, {busy:.0f} busy cycles"})
    mem = sim.memory
    step = max(1, len(mem) // SAMPLES)
    samples = [{"t": start + float(t), "bytes": b} for t, b in mem[::step]][:SAMPLES]
    return {"layer": name, "start": start, "end": start + float(sim.cycles), "events": events,
            "memory": samples, "peak_bytes": sim.peak_bytes}


def trace_json(traced: list[tuple[str, float, SimResult]], acc: Accel) -> bytes:
    """The trace-event JSON (``ph`` X slices per lane, ``C`` counters for memory; ts in microseconds)."""
    us = 1e6 / acc.clock_hz
    out = [{"ph": "M", "pid": 1, "tid": i, "name": "thread_name", "args": {"name": lane}}
           for i, lane in enumerate(LANES)]
    for name, start, sim in traced:
        out.append({"ph": "X", "pid": 1, "tid": 1, "name": name, "cat": "layer", "ts": start * us,
                    "dur": float(sim.cycles) * us})
        for lane, a, b, label in sim.events:
            out.append({"ph": "X", "pid": 1, "tid": LANES.index(lane), "name": label, "cat": name,
                        "ts": (start + float(a)) * us, "dur": float(b - a) * us})
        for t, nbytes in sim.memory:
            out.append({"ph": "C", "pid": 1, "name": "onchip_bytes", "ts": (start + float(t)) * us,
                        "args": {"bytes": nbytes}})
    return (json.dumps({"traceEvents": out, "displayTimeUnit": "ns"}) + "\n").encode()

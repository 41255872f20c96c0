"""The simulator: replays a strategy's steps as timed events on the accelerator, independently of the solver.

Timing (exact Fraction cycles). ``sequential``: each step runs its loads, then its compute, then its stores, one
after the other. ``pipelined`` (double buffering): phase 0 runs the loads of step 0; phase j runs the compute of
step j-1 on the PU while the load channel brings the tiles of step j; the stores of step j-1 follow its compute
(on a ``separate`` store channel at once, on a ``shared`` channel after the loads of step j too); the next
phase starts when all of this is done. Memory: a loaded tile occupies its bytes from the start of its transfer,
an evicted tile is freed at the end of the compute of its step, a stored tile at the end of its store. The
capacity (R1) is re-checked at every allocation; the logical rules by :func:`formalism.check`.
Internally times are integers in units of ``1 / Accel.scale`` cycles (exact, and much faster than Fractions);
results are returned as exact Fractions of cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from cnncc.backends.offload.formalism import ALL, RuleViolation, Step, Tiling, check
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem

MAX_EVENTS = 4000  # timeline events kept per layer (the totals always cover every event)


@dataclass
class SimResult:
    cycles: Fraction
    peak_bytes: int
    bytes_loaded: int
    bytes_stored: int
    transfers: int
    compute_calls: int
    pu_busy: Fraction
    dma_busy: Fraction
    events: list[tuple[str, Fraction, Fraction, str]] = field(default_factory=list)  # lane, start, end, label
    memory: list[tuple[Fraction, int]] = field(default_factory=list)                 # (time, bytes) samples
    dropped_events: int = 0
    load_busy: Fraction = Fraction(0)   # cycles the load channel transfers
    store_busy: Fraction = Fraction(0)  # cycles the store channel (or the shared channel storing) transfers


class _Mem:
    """Allocation log: handles are matched to frees in program order, replayed in time order."""

    def __init__(self, p: Problem, acc: Accel):
        self.acc = acc
        self.cap = {"I": acc.split[0], "W": acc.split[1], "O": acc.split[2]} if acc.split else None
        self.live: dict[tuple, list[int]] = {}
        self.changes: list[tuple[int, int, int, str, int]] = []  # scaled time, 0 free/1 alloc, handle, buf, bytes

    def alloc(self, time, operand, key, nbytes):
        h = len(self.changes)
        self.live.setdefault((operand, key), []).append(h)
        self.changes.append((time, 1, h, operand, nbytes))

    def free(self, time, operand, key):
        hs = self.live.get((operand, key))
        if hs:
            h = hs.pop(0)
            self.changes.append((time, 0, h, operand, self.changes[h][4]))

    def replay(self, scale: int) -> tuple[int, list[tuple[int, int]]]:
        """Peak bytes and (scaled time, bytes) samples; checks the capacity at every allocation."""
        peak, used = 0, {"I": 0, "W": 0, "O": 0}
        samples: list[tuple[int, int]] = []
        for time, kind, _h, buf, nbytes in sorted(self.changes, key=lambda c: (c[0], c[1], c[2])):
            used[buf] += nbytes if kind else -nbytes
            total = sum(used.values())
            if kind and self.cap is None and total > self.acc.onchip_bytes:
                raise RuleViolation("R1-capacity", f"{total} B on chip at cycle {time / scale:.6g} > "
                                    f"{self.acc.onchip_bytes} B")
            if kind and self.cap is not None and used[buf] > self.cap[buf]:
                raise RuleViolation("R1-capacity", f"{used[buf]} B in the {buf} buffer at cycle "
                                    f"{time / scale:.6g} > {self.cap[buf]} B")
            peak = max(peak, total)
            if samples and samples[-1][0] == time:
                samples[-1] = (time, total)
            else:
                samples.append((time, total))
        return peak, samples


def simulate(p: Problem, acc: Accel, tiling: Tiling, steps: list[Step], record: bool = True) -> SimResult:
    """Check the rules, replay the steps, return the duration and the timeline. Raises RuleViolation."""
    check(p, tiling, steps)
    mem = _Mem(p, acc)
    if p.in_free:
        mem.alloc(0, "I", ALL, p.full_bytes("I"))
    t = tiling.as_dict()
    sc = acc.scale
    lam, per_byte = acc.dma_latency_cycles * sc, int(sc / acc.dma_bytes_per_cycle)

    def transfer(nbytes: int) -> int:  # scaled cycles of one DMA transfer (acc.transfer * scale)
        return lam + per_byte * nbytes if nbytes else 0

    ovh, mac_t = acc.call_overhead_cycles * sc, sc // acc.macs_per_cycle
    res = SimResult(Fraction(0), 0, 0, 0, 0, 0, Fraction(0), Fraction(0))
    busy = [0, 0]  # scaled cycles the PU and the DMA are busy
    ev = res.events
    fresh_out: dict = {}  # output tiles on chip -> copies
    loaded, stored = [0], [0]  # scaled busy cycles of loads and of stores

    def event(lane, a, b, label, *args):  # label: a format string, formatted only for kept events
        if not record:
            return
        if len(ev) < MAX_EVENTS:
            ev.append((lane, a, b, label.format(*args)))
        else:
            res.dropped_events += 1

    whole_out = [False]  # a fused residual initialised the whole (resident) output accumulator

    def run_loads(st: Step, start: int) -> int:
        for tr in st.loads:
            d = transfer(tr.nbytes)
            if tr.what == "init":  # the residual lands in the output's accumulator (pb bytes per element)
                if tr.key == ALL:
                    whole_out[0] = True
                    nb = p.full_bytes("O")
                else:
                    nb = p.tile_bytes("O", p.sizes_at(t, dict(zip(DIMS, (*tr.key, 0)))))
                mem.alloc(start, "O", tr.key, nb)
            elif tr.operand == "Q":  # fused per-channel constants: the weight buffer, until the layer ends
                mem.alloc(start, "W", ("Q", tr.key), tr.nbytes)
            else:
                mem.alloc(start, tr.operand, tr.key, tr.nbytes)
            if tr.operand == "O":
                fresh_out[("O", tr.key)] = fresh_out.get(("O", tr.key), 0) + 1
            event("dma-load", start, start + d, "load {}{} {}B", tr.operand, _K(tr.key), tr.nbytes)
            res.bytes_loaded += tr.nbytes
            res.transfers += 1
            busy[1] += d
            loaded[0] += d
            start += d
        return start

    def run_compute(st: Step, start: int) -> int:
        for sc in st.computes:
            ko = (sc[0], sc[1], sc[2])
            key = ("O", ko)
            sz = p.sizes_at(t, dict(zip(DIMS, sc)))  # ragged last tiles are smaller
            comp = ovh + p.tile_macs(sz) * mac_t
            if not fresh_out.get(key) and not whole_out[0]:
                fresh_out[key] = 1
                mem.alloc(start, "O", ko, p.tile_bytes("O", sz))
            event("pu", start, start + comp, "conv y{} x{} k{} c{}", *sc)
            res.compute_calls += 1
            busy[0] += comp
            start += comp
        for a, k in st.evicts:
            mem.free(start, a, k)
            if a == "O":
                _drop(fresh_out, ("O", k))
        for _a, k, b in st.keeps:
            mem.alloc(start, "O", ("kept", k), b)
        return start

    def run_stores(st: Step, start: int) -> int:
        for tr in st.stores:
            d = transfer(tr.nbytes)
            event("dma-store", start, start + d, "store {} O{} {}B", tr.what, _K(tr.key), tr.nbytes)
            res.bytes_stored += tr.nbytes
            res.transfers += 1
            busy[1] += d
            stored[0] += d
            start += d
            if tr.key == ALL:
                for key in sorted(fresh_out):
                    mem.free(start, "O", key[1])
                fresh_out.clear()
            else:
                mem.free(start, "O", tr.key)
                _drop(fresh_out, ("O", tr.key))
        return start

    now = 0
    if not acc.pipelined:
        for st in steps:
            now = run_stores(st, run_compute(st, run_loads(st, now)))
    else:
        now = run_loads(steps[0], now)
        for j in range(1, len(steps) + 1):
            c_end = run_compute(steps[j - 1], now)
            l_end = run_loads(steps[j], now) if j < len(steps) else now
            s_start = c_end if acc.dma_channels == "separate" else max(c_end, l_end)
            s_end = run_stores(steps[j - 1], s_start)
            now = max(c_end, l_end, s_end)
    res.cycles = Fraction(now, sc)
    res.pu_busy, res.dma_busy = Fraction(busy[0], sc), Fraction(busy[1], sc)
    res.load_busy, res.store_busy = Fraction(loaded[0], sc), Fraction(stored[0], sc)
    res.peak_bytes, memory = mem.replay(sc)
    res.memory = [(Fraction(a, sc), b) for a, b in memory] if record else []
    res.events = [(lane, Fraction(a, sc), Fraction(b, sc), label) for lane, a, b, label in ev]
    return res


def _k(key) -> str:
    return "[all]" if key == ALL else "[" + ",".join(str(v) for v in key) + "]"


class _K:
    """A tile key printed by :func:`_k` when formatted (labels are only built for recorded events)."""

    def __init__(self, key):
        self.key = key

    def __format__(self, spec) -> str:
        return _k(self.key)


def _drop(live: dict, key) -> None:
    if live.get(key, 0) > 1:
        live[key] -= 1
    else:
        live.pop(key, None)

"""Per-layer mapping search: cost every candidate mapping (predicted by simulating one launch per timing
signature), the CPU-only baseline, and pick the best by the target's objective."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnncc.backends.openedgecgra import context as C
from cnncc.backends.openedgecgra import energy as E
from cnncc.backends.openedgecgra import host as H
from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra.isa import N_PE
from cnncc.backends.openedgecgra.kernels import ic4
from cnncc.backends.openedgecgra.kernels.common import NotApplicable
from cnncc.backends.openedgecgra.layer import ConvLayer
from cnncc.backends.openedgecgra.sim import SimError, Stats
from cnncc.backends.openedgecgra.spec import CgraSpec


@dataclass
class Costed:
    """A costed candidate: the plan, its CGRA counters and the derived numbers (a report-ready dict)."""

    plan: P.Plan | None
    stats: Stats | None
    row: dict
    split: tuple[int, int] | None = None


def _energy(prm: CgraSpec, events, cgra_acc: int, cpu: H.CpuCost, total: int, cgra_cycles: int) -> dict:
    q = E.EnergyQuery(tuple(int(x) for x in events), cgra_acc, cpu.cycles, cpu.instructions + cpu.data_accesses,
                      total, float(prm.clock_hz), prm.sram_static_w, prm.cgra_access_pj,
                      prm.cpu_access_pj, prm.cpu_active_w, prm.cgra_cycle_overhead_pj, cgra_cycles)
    return E.energy_uj(q)


def cpu_only(prm: CgraSpec, cost: H.CpuCost, macs: int) -> dict:
    """Report row of a layer run entirely on the host CPU."""
    en = _energy(prm, np.zeros(len(E.op_energy_vector()), np.int64), 0, cost, cost.cycles, 0)
    return {"mapping": "cpu", "cycles": cost.cycles, "cgra_cycles": 0, "host_cycles": cost.cycles,
            "config_cycles": 0, "launch_cycles": 0,
            "mac_per_cycle": round(macs / cost.cycles, 6) if cost.cycles else 0.0,
            "energy_uj": round(en["total_uj"], 6),
            "energy_split_uj": {k[:-3]: round(v, 6) for k, v in en.items() if k != "total_uj"}}


def cpu_conv_cost(cl: ConvLayer) -> H.CpuCost:
    p = cl.prob
    return H.conv_cpu(H.CpuConvQuery(cl.K, p.C, p.OY, p.OX, p.FY, p.FX))


def _quant_host(cl: ConvLayer) -> H.CpuCost:
    """Host requantisation of a quantised layer's accumulators (and the input zero point, when not 0)."""
    if not cl.requant:
        return H.CpuCost(0, 0, 0)
    p = cl.prob
    return H.quant_host(cl.K * p.OY * p.OX, cl.C * p.IY * p.IX if cl.in_zp else 0)


def cost_plan(plan: Any, stats: Stats, prm: CgraSpec) -> dict:
    """Report row of one mapping from its counters (``plan``: a Plan, or an ``ic4cost.Summary``)."""
    hw = plan.host
    hc = H.host_work(hw.launches, hw.kmem_writes, hw.param_stores, hw.copy_words, hw.zero_words, hw.post_words,
                     hw.imem_words) + _quant_host(plan.layer)
    config = hw.config_cycles
    launch = hw.launches * (C.LAUNCH_CYCLES + C.FETCH_BUBBLE)
    total = stats.cycles + launch + config + hc.cycles
    macs = plan.layer.macs
    en = _energy(prm, stats.events, stats.mem_accesses, hc, total, stats.cycles + launch + config)
    busy = stats.pe_ops
    kernel_bytes = 4 * plan.kernel_words
    return {
        "mapping": plan.mapping, "cycles": int(total), "cgra_cycles": int(stats.cycles),
        "host_cycles": int(hc.cycles), "config_cycles": int(config), "launch_cycles": int(launch),
        "reconfigs": int(hw.reconfigs), "mac_per_cycle": round(macs / total, 6) if total else 0.0,
        "cgra_mac_per_cycle": round(macs / stats.cycles, 6) if stats.cycles else 0.0,
        "pe_utilisation": round(busy / (N_PE * stats.instructions), 6) if stats.instructions else 0.0,
        "launches": hw.launches, "kernels": len(plan.kernels), "cgra_instructions": int(stats.instructions),
        "mem_accesses": int(stats.mem_accesses), "energy_uj": round(en["total_uj"], 6),
        "energy_split_uj": {k[:-3]: round(v, 6) for k, v in en.items() if k != "total_uj"},
        "col_active_cycles": [int(x) for x in stats.col_active],
        "col_stall_cycles": [int(x) for x in stats.col_stall],
        "sram_bytes": int(plan.image.used_bytes + kernel_bytes),
    }


MAX_LAUNCHES = 60_000   # the planner builds one Python record per launch: larger plans are not planned


def footprint(m: str, cl: ConvLayer) -> tuple[int, int]:
    """(lower bound of the SRAM words, number of launches) of a mapping, without building it."""
    p, G = cl.prob, cl.groups
    words = cl.C * p.IY * p.IX + cl.K * p.OY * p.OX
    R = p.taps
    if m == "conv-wp":
        tiles = -(-p.FY // 3) * -(-p.FX // 3)
        return words + cl.W.size, G * p.C * p.K * tiles
    if m in ("conv-op", "im2col-op"):
        return words + cl.K * R, G * p.OY * p.OX * -(-p.K // 16)
    if m == "im2col-ip":
        return words + cl.K * 16 * -(-R // 16), G * p.OY * p.OX * p.K
    cols = -(-p.C // 4) * p.FY * p.FX
    kernels = G * -(-cols // 6) * -(-p.K // 4)
    return words + kernels * 16 * min(6, cols), kernels


def mac_body_cycles(nk: int) -> int:
    """Static cycles of one pass through the stream kernels' 9-instruction tap loop (``kernels/stream.py``) on
    ``nk`` PEs (PE q in column q mod 4): the weight LWD and the input LWI each last 1 + the busiest column's
    loads (ceil(nk / 4)), the SMUL 3, two SADDs 1 each, then the counter's LWI 2, SADD 1, SWI 2 and BNE 1.
    Latencies depend on the opcodes only (``sim._timing``); bank conflicts can only add cycles."""
    return 2 * (-(-nk // 4) + 1) + 3 + 1 + 1 + 2 + 1 + 2 + 1


def _op_group_cycles(K: int) -> int:
    """Tap-loop cycles per tap and output position, summed over the OP launches' output-channel groups (16
    channels each, the remainder last); splitting the channels further only adds groups and cycles."""
    return K // 16 * mac_body_cycles(16) + (mac_body_cycles(K % 16) if K % 16 else 0)


def quick_bound(m: str, cl: ConvLayer, prm: CgraSpec) -> Costed:
    """A lower bound of a mapping's cost in closed form, without building its plan (so that candidates it prunes
    are never built): its launch count, the host work every plan of the mapping does (copies, parameter words,
    zeroing, post-processing), and CGRA cycles from the generators' loops: a Conv-WP launch runs every output
    pixel (>= 2 shift instructions per stride step + a 3-cycle multiply), OP/IP launches run their tap loop once
    per reduction step at its static cycles (``mac_body_cycles``), a cnncc-ic4 launch runs every output pixel
    through 7 cycles per tap slot of its busiest column plus 6 reduction instructions. Split layers only add
    work. No configuration, bank conflicts, patches or kernel-memory writes; energy from those counts with no PE
    events."""
    from cnncc.backends.openedgecgra.kernels.common import HostWork

    p, G = cl.prob, cl.groups
    words, launches = footprint(m, cl)
    plane = p.OY * p.OX
    R = p.taps
    hw = HostWork(launches=launches)
    if m in ("conv-op", "im2col-op"):
        hw.copy_words += cl.K * plane
    if cl.bias is not None and (m in ("conv-op", "im2col-op", "im2col-ip")
                                or (m == ic4.NAME and not ic4.bias_fits(cl.bias))):
        hw.post_words += cl.K * plane
    if cl.act is not None and not cl.requant:
        hw.post_words += cl.K * plane
    if m == "conv-wp":
        hw.zero_words += cl.K * plane
        hw.param_stores += launches
        cgra = launches * plane * (2 * p.SX + 3)
    elif m == "conv-op":
        hw.param_stores += launches
        cgra = G * plane * R * _op_group_cycles(p.K)
    elif m == "im2col-op":
        hw.copy_words += launches * R
        cgra = G * plane * R * _op_group_cycles(p.K)
    elif m == "im2col-ip":
        hw.copy_words += launches * R
        cgra = launches * -(-R // 16) * mac_body_cycles(16)
    else:
        cols = -(-p.C // 4) * p.FY * p.FX
        cgra = G * -(-p.K // 4) * plane * (7 * cols + 6 * -(-cols // 6))
    hc = H.host_work(hw.launches, 0, hw.param_stores, hw.copy_words, hw.zero_words, hw.post_words) + _quant_host(cl)
    launch = launches * (C.LAUNCH_CYCLES + C.FETCH_BUBBLE)
    total = cgra + launch + hc.cycles
    en = _energy(prm, np.zeros(len(E.op_energy_vector()), np.int64), 0, hc, total, cgra + launch)
    return Costed(None, None, {"mapping": m, "cycles": int(total), "energy_uj": round(en["total_uj"], 6),
                               "launches": launches, "sram_bytes": 4 * words})


def _planned(m: str, cl: ConvLayer, prm: CgraSpec) -> P.Plan:
    """The plan of one mapping (raises NotApplicable when it does not apply or fit)."""
    words, launches = footprint(m, cl)
    if 4 * words > prm.sram_bytes:
        raise NotApplicable(f"needs at least {4 * words} bytes of SRAM")
    if launches > MAX_LAUNCHES:
        raise NotApplicable(f"{launches} launches: more than the planner's limit of {MAX_LAUNCHES}")
    plan = P.make_plan(m, cl, prm.sram_bytes, prm.sram_bank_bytes)
    need_bytes = plan.image.used_bytes + 4 * plan.kernel_words
    if need_bytes > prm.sram_bytes:
        raise NotApplicable(f"needs {need_bytes} bytes of SRAM (kernels included)")
    return plan


def _plan_stats(m: str, cl: ConvLayer, prm: CgraSpec) -> tuple:
    """(plan, None), or for cnncc-ic4 (its ``ic4cost.Summary``, exact counters) computed without building one
    kernel per launch (equal to building and predicting the plan; the plan itself is built only when ``--check``
    or ``-o`` needs it)."""
    if m in (ic4.NAME, "conv-wp"):
        from cnncc.backends.openedgecgra import ic4cost, wpcost

        words, launches = footprint(m, cl)
        if 4 * words > prm.sram_bytes:
            raise NotApplicable(f"needs at least {4 * words} bytes of SRAM")
        if launches > MAX_LAUNCHES:
            raise NotApplicable(f"{launches} launches: more than the planner's limit of {MAX_LAUNCHES}")
        try:
            summ, stats = (ic4cost if m == ic4.NAME else wpcost).cost(cl, prm.sram_bytes, prm.sram_bank_bytes)
        except ic4cost.Fallback:
            return _planned(m, cl, prm), None
        need_bytes = summ.image.used_bytes + 4 * summ.kernel_words
        if need_bytes > prm.sram_bytes:
            raise NotApplicable(f"needs {need_bytes} bytes of SRAM (kernels included)")
        return summ, stats
    return _planned(m, cl, prm), None


def _one(m: str, cl: ConvLayer, prm: CgraSpec) -> Costed:
    plan = _planned(m, cl, prm)
    stats = P.predict(plan)
    return Costed(plan, stats, cost_plan(plan, stats, prm))


SUMMED = ("cycles", "cgra_cycles", "host_cycles", "config_cycles", "launch_cycles", "reconfigs", "launches",
          "kernels", "cgra_instructions", "mem_accesses")


class _Pending:
    """A candidate whose plan(s) are built and whose lower bound is known; ``exact()`` predicts it."""

    def __init__(self, m: str, cl: ConvLayer, prm: CgraSpec, split: tuple[int, int] | None = None):
        from cnncc.backends.openedgecgra import split as S

        self.m, self.cl, self.prm, self.split = m, cl, prm, split
        self._exact: Costed | None = None
        if split is None:
            pl, st = _plan_stats(m, cl, prm)
            self.plan = pl if st is None else None  # type: ignore[assignment]
            self.parts = [(pl, [cl], st)]
        else:
            self.plan = None  # type: ignore[assignment]
            parts = S.split(cl, *split)
            by_shape: dict = {}
            for part, _ in parts:                 # distinct part shapes are planned and costed once
                by_shape.setdefault((part.prob, part.groups), []).append(part)
            self.order = [(p.prob, p.groups) for p, _ in parts]
            self.copy_words = sum(p.prob.C * p.prob.IY * p.prob.IX for p, _ in parts)
            self.parts = [(*_plan_stats(m, ps[0], prm), ps) for ps in by_shape.values()]
            self.parts = [(pl, ps, st) for pl, st, ps in self.parts]
        self.bound = self._costed([P.lower_bound(pl) if st is None else st for pl, _, st in self.parts])

    def _costed(self, stats: list[Stats]) -> Costed:
        if self.split is None:
            return Costed(self.plan, stats[0], cost_plan(self.parts[0][0], stats[0], self.prm))
        by_key = {(ps[0].prob, ps[0].groups): (cost_plan(pl, st, self.prm), st)
                  for (pl, ps, _), st in zip(self.parts, stats)}
        return _merge_parts(self.cl, self.prm, [by_key[k] for k in self.order], self.copy_words, self.split)

    def exact(self) -> Costed:
        if self._exact is None:
            self._exact = self._costed([P.predict(pl) if st is None else st for pl, _, st in self.parts])
        return self._exact


def _merge_parts(cl: ConvLayer, prm: CgraSpec, parts: list[tuple[dict, Stats]], copy_words: int,
                 split: tuple[int, int]) -> Costed:
    """Cost of running the parts one after another, plus the CPU copying each part's input slice."""
    rows = [r for r, _ in parts]
    total = Stats()
    for _, st in parts:
        total.add(st)
    row = dict(rows[0])
    for k in SUMMED:
        row[k] = int(sum(r[k] for r in rows))
    copy = H.host_work(0, 0, 0, copy_words, 0, 0)
    row["host_cycles"] += copy.cycles
    row["cycles"] += copy.cycles
    row["energy_split_uj"] = {k: round(sum(r["energy_split_uj"][k] for r in rows), 6)
                              for k in rows[0]["energy_split_uj"]}
    row["energy_split_uj"]["cpu"] = round(row["energy_split_uj"]["cpu"] + prm.cpu_active_w * copy.cycles
                                          / prm.clock_hz * 1e6, 6)
    row["energy_uj"] = round(sum(row["energy_split_uj"].values()), 6)
    row["mac_per_cycle"] = round(cl.macs / row["cycles"], 6)
    row["cgra_mac_per_cycle"] = round(cl.macs / row["cgra_cycles"], 6) if row["cgra_cycles"] else 0.0
    row["sram_bytes"] = max(r["sram_bytes"] for r in rows)
    nk, ny = split
    row["parts"] = {"output_channel_parts": nk, "row_parts": ny, "count": len(rows)}
    total.cycles = row["cgra_cycles"]
    return Costed(None, total, row, split=split)


def _split_cost(m: str, cl: ConvLayer, prm: CgraSpec, nk: int, ny: int) -> Costed:
    """Exact cost of a split candidate (all parts predicted)."""
    return _Pending(m, cl, prm, (nk, ny)).exact()


#: candidates of mappings whose cost does not depend on weight values (every mapping but cnncc-ic4, which folds
#: the weights into its immediates): (mapping, layer shape, bias/activation presence, spec) -> _Pending or reason
_SHAPE_CACHE: dict = {}


def _pending(m: str, cl: ConvLayer, prm: CgraSpec):
    """A _Pending candidate (split into the smallest fitting parts when the whole layer does not fit the
    SRAM), or the reason it does not apply. Candidates of weight-independent mappings are shared by layers of
    the same shape."""
    if m == ic4.NAME:
        return _pending_uncached(m, cl, prm)
    key = (m, cl.prob, cl.groups, cl.pads, cl.bias is None, cl.act is None, prm)
    hit = _SHAPE_CACHE.get(key)
    if hit is None:
        if len(_SHAPE_CACHE) > 256:
            _SHAPE_CACHE.clear()
        hit = _SHAPE_CACHE[key] = _pending_uncached(m, cl, prm)
    return hit


def _pending_uncached(m: str, cl: ConvLayer, prm: CgraSpec):
    from cnncc.backends.openedgecgra import split as S

    try:
        return _Pending(m, cl, prm)
    except (NotApplicable, SimError) as e:
        err = str(e)
    if "SRAM" in err:
        for nk, ny in S.options(cl):
            try:
                return _Pending(m, cl, prm, (nk, ny))
            except (NotApplicable, SimError) as e2:
                if "SRAM" not in str(e2):
                    return str(e2)
    return err


def _pruned_row(c: Costed, key: str, best: Costed) -> dict:
    """Report row of a candidate skipped because its lower bound is worse than an exactly predicted one:
    only bounds, no made-up numbers."""
    r = c.row
    row = {"mapping": r["mapping"], "applicable": True, "pruned": True,
           "lower_bound_cycles": r["cycles"], "lower_bound_energy_uj": r["energy_uj"],
           "launches": r["launches"], "sram_bytes": r["sram_bytes"],
           "reason": f"pruned: its lower bound ({key} {r[key]}) exceeds the exact {key} of "
                     f"{best.row['mapping']} ({best.row[key]})"}
    if "parts" in r:
        row["parts"] = r["parts"]
    return row


def search(cl: ConvLayer, prm: CgraSpec, prune: bool = True) -> tuple[list[Costed], Costed | None]:
    """All candidates (applicable or not, in ``prm.mappings`` order) and the chosen one (None if no
    mapping applies). A mapping that does not fit the SRAM is retried on the smallest split that fits.

    Branch and bound: every candidate first gets a closed-form lower bound (``quick_bound``, no plan built);
    candidates are visited in increasing order of it, and one whose bound is already worse than the best exact
    candidate (``prune``) is reported as pruned with its bound and never built. A visited candidate's plan is
    built and gets the tighter bound ``plan.lower_bound`` (its exact counts without bank conflicts), checked the
    same way, and is otherwise predicted exactly. The choice is the same as predicting everything."""
    key = "cycles" if prm.objective == "latency" else "energy_uj"
    slots: list = []
    quick: dict[int, Costed] = {}
    for i, m in enumerate(prm.mappings):
        slots.append(None)
        quick[i] = quick_bound(m, cl, prm)
    order = sorted(quick, key=lambda i: (quick[i].row[key], quick[i].row["cycles"], quick[i].row["mapping"]))
    best: Costed | None = None

    def rank(c: Costed) -> tuple:
        return c.row[key], c.row["cycles"], c.row["mapping"]

    for i in order:
        m = prm.mappings[i]
        if prune and best is not None and quick[i].row[key] > best.row[key]:
            slots[i] = Costed(None, None, _pruned_row(quick[i], key, best))
            continue
        pend = _pending(m, cl, prm)
        if not isinstance(pend, _Pending):
            slots[i] = Costed(None, None, {"mapping": m, "applicable": False, "reason": pend})
            continue
        if prune and best is not None and pend.bound.row[key] > best.row[key]:
            slots[i] = Costed(None, None, _pruned_row(pend.bound, key, best))
            continue
        try:
            slots[i] = pend.exact()
        except SimError as e:
            slots[i] = Costed(None, None, {"mapping": pend.m, "applicable": False, "reason": str(e)})
            continue
        if best is None or rank(slots[i]) < rank(best):
            best = slots[i]
    return slots, best

"""The ``openedgecgra`` Backend: per-layer mapping search, host layout conversions, ``--check`` and the ``-o DIR``
artefacts, returned as a :class:`cnncc.backends.base.NetworkResult` (the driver writes every file)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from cnncc.backends.base import Backend, LayerCost, MemoryUse, NetworkResult
from cnncc.backends.openedgecgra.costing import LayerChoice, check_layer, layer_cost
from cnncc.backends.openedgecgra.spec import CgraSpec
from cnncc.report import Column
from cnncc.spec import FrozenMap

COLUMNS = (Column("name", "layer"), Column("part", "part"), Column("op", "op"), Column("device", "device"),
           Column("mapping", "mapping"), Column("cycles", "cycles", ",d"), Column("bound", "bound"),
           Column("mac_per_cycle", "MAC/cyc", ".3f"), Column("energy_uj", "energy µJ", ".3f"),
           Column("speedup_vs_cpu", "× CPU", ".2f"))
SHARED = ("device", "cycles", "macs", "energy_uj")


def _r(v: float) -> float:
    return round(float(v), 6)


def _bound(row: dict[str, Any]) -> tuple[str, str]:
    """The shared bound word and cnncc's detail: the largest of CGRA execution (``compute`` on the PE array, or
    ``memory``/``bank`` when the columns stall on memory for more than half the execution), configuration and
    launch (``overhead``) and host work (``host``)."""
    if row["device"] != "cgra":
        return ("host", "cpu-op") if row["cycles"] else ("none", "")
    cgra, host = row["cgra_cycles"], row["host_cycles"]
    config, launch = row["config_cycles"], row["launch_cycles"]
    biggest = max(cgra, host, config + launch)
    if biggest == cgra:
        stall = sum(row["col_stall_cycles"]) / 4
        return ("memory", "bank") if stall * 2 > cgra else ("compute", "pe-array")
    if biggest == host:
        return "host", "host-work"
    return "overhead", "config" if config >= launch else "launch"


def _cost(layer: Any, graph: Any, row: dict[str, Any]) -> LayerCost:
    bound, detail = _bound(row)
    extras = {k: v for k, v in row.items() if k not in SHARED and k != "sram_bytes"}
    return LayerCost.of(layer, graph, device=row["device"], cycles=int(row["cycles"]), macs=int(row["macs"]),
                        bound=bound, bound_detail=detail, energy_uj=float(row["energy_uj"]),
                        onchip_bytes=row.get("sram_bytes"), extras=extras)


def _layouts(layer: Any, graph: Any, choice: LayerChoice, spec: CgraSpec) -> list[LayerCost]:
    from cnncc.backends.openedgecgra.layout import conversions
    from cnncc.backends.openedgecgra.search import cpu_only

    out = []
    assert choice.cl is not None
    for conv in conversions(graph, layer, choice.cl):
        r = cpu_only(spec, conv.cost, 0)
        lc = LayerCost.of(layer, graph, device="cpu", cycles=int(r["cycles"]), macs=0, bound="host",
                          bound_detail="layout", energy_uj=float(r["energy_uj"]),
                          extras={"mapping": "cpu", "conversion": conv.kind, "copy_words": conv.copy_words,
                                  "zero_words": conv.zero_words, "host_cycles": int(r["cycles"]),
                                  "energy_split_uj": r["energy_split_uj"]})
        out.append(replace(lc, part=f"{layer.name}:{conv.kind}"))
    return out


class OpenEdgeCgraBackend(Backend):
    """OpenEdgeCGRA 4x4 on X-HEEP: RTL-exact cycles (configuration, launch, execution, host work)."""

    name: ClassVar[str] = "openedgecgra"
    spec_class: ClassVar[type[CgraSpec]] = CgraSpec

    def compile(self, graph: Any, target: Any, options: Any) -> NetworkResult:
        spec: CgraSpec = target.spec
        seed = spec.check_seed if options.seed is None else int(options.seed)
        costs: list[LayerCost] = []
        notes: list[str] = []
        mismatches: list[str] = []
        chosen = []
        n = len(graph.layers)
        for i, layer in enumerate(graph.layers):
            if options.progress:
                options.progress("cgra", i, n)
            choice = layer_cost(graph, layer, spec)
            row = dict(choice.row)
            best = choice.best
            if best is not None and options.check:
                from cnncc.backends.openedgecgra.kernels.common import NotApplicable
                from cnncc.backends.openedgecgra.layer import apply_act

                try:
                    if choice.cl is not None and not choice.cl.requant:   # quantised: the requant clamp
                        apply_act(choice.cl.act, np.zeros(1, np.int64))
                    res = check_layer(graph, layer, best.row["mapping"], spec, seed, best.row["cgra_cycles"],
                                      best.split)
                except NotApplicable as e:
                    res = {"bit_exact": None, "skipped": str(e)}
                    notes.append(f"--check skipped layer {layer.name}: {e}")
                row["check"] = res
                if res.get("bit_exact") is False:
                    mismatches.append(f"layer {layer.name}: CGRA simulation differs from the reference interpreter "
                                      f"(max abs error {res['max_abs_error']})")
                if res.get("prediction_exact") is False:
                    notes.append(f"layer {layer.name}: simulated CGRA cycles {res['simulated_cgra_cycles']} differ "
                                 f"from the prediction {best.row['cgra_cycles']}")
            if best is not None:
                costs.extend(_layouts(layer, graph, choice, spec))
                chosen.append((layer, choice))
            costs.append(_cost(layer, graph, row))
        if options.progress:
            options.progress("cgra", n, n)
        artefacts: dict[str, bytes] = {}
        if getattr(options, "want_artefacts", False):
            from cnncc.backends.openedgecgra.artefacts import network_artefacts

            artefacts = network_artefacts(graph, chosen, spec, seed)
        return NetworkResult(
            layers=tuple(costs), clock_hz=float(spec.clock_hz), peak_macs_per_cycle=4.0,
            bandwidths_bytes_per_cycle=FrozenMap({"sram": 16.0}), columns=COLUMNS,
            title=f"{target.name}: {graph.name}", notes=tuple(notes + _NOTES),
            memory=MemoryUse(max([lc.onchip_bytes or 0 for lc in costs] or [0]), spec.sram_bytes),
            totals_extra=FrozenMap(_totals(costs)), artefacts=FrozenMap(artefacts), mismatches=tuple(mismatches))

    def layer_cycles(self, graph: Any, layer: Any, target: Any) -> float:
        """Total cycles (CGRA + configuration + launch + host, layout conversions included) of the best mapping
        of one layer; host CPU cycles for layers the CGRA does not run."""
        spec: CgraSpec = target.spec
        choice = layer_cost(graph, layer, spec)
        extra = sum(lc.cycles for lc in _layouts(layer, graph, choice, spec)) if choice.best is not None else 0
        return float(choice.row["cycles"] + extra)

    def onchip_capacity_bytes(self, target: Any) -> int | None:
        return int(target.spec.sram_bytes)

    def activation_bytes(self, target: Any, dtype: str) -> int:
        return 4          # every activation is a 32-bit word in the CGRA's SRAM


_NOTES = ["energies are estimates (65 nm per-op figures; memory/CPU constants fitted to the CF'24 table)",
          "cycles are what the RTL takes: CGRA execution (one simulated launch per timing signature) + 1 fetch "
          "bubble and 14 cycles per launch + 4·(n+1) per kernel configuration + the host CPU model; layers the "
          "CGRA cannot run and layout conversions between layers are costed on the host CPU"]


def _totals(costs: list[LayerCost]) -> dict[str, Any]:
    cyc = sum(lc.cycles for lc in costs)
    cpu_cyc = sum(int(lc.extras.get("cpu_only_cycles", lc.cycles)) for lc in costs)
    en = sum(lc.energy_uj or 0.0 for lc in costs)
    cpu_en = sum(float(lc.extras.get("cpu_only_energy_uj", lc.energy_uj or 0.0)) for lc in costs)
    split = {k: _r(sum(float(lc.extras["energy_split_uj"].get(k, 0.0)) for lc in costs))
             for k in ("cgra", "memory", "cpu")}
    macs = sum(lc.macs for lc in costs)
    return {"energy_split_uj": split, "mac_per_cycle": _r(macs / cyc) if cyc else 0.0, "cpu_only_cycles": cpu_cyc,
            "cpu_only_energy_uj": _r(cpu_en), "speedup_vs_cpu": _r(cpu_cyc / cyc) if cyc else 0.0,
            "energy_gain_vs_cpu": _r(cpu_en / en) if en else 0.0,
            "cgra_layers": sum(lc.device == "cgra" for lc in costs),
            "layout_cycles": sum(lc.cycles for lc in costs if lc.bound_detail == "layout")}

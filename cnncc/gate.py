"""Budget gating for CI: compare a report's totals with budgets and say which layers contribute most."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cnncc.errors import UnsupportedError, UsageError

#: budget name -> (report totals key that carries the value, per-layer key used to rank contributors, unit);
#: the keys are the typed contract's (cnncc/assemble.py totals, cnncc/backends/base.py LayerCost fields)
BUDGETS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "ms": (("latency_ms",), "cycles", "ms"),
    "cycles": (("cycles",), "cycles", "cycles"),
    "energy_uj": (("energy_uj",), "energy_uj", "µJ"),
    "sram_bytes": (("peak_sram_bytes",), "onchip_bytes", "bytes"),
}


@dataclass(frozen=True)
class GateResult:
    """One budget checked: its name, limit, the measured value, pass/fail and the top contributing layers."""

    budget: str
    limit: float
    value: float
    passed: bool
    top_layers: tuple[tuple[str, float], ...]

    def message(self) -> str:
        unit = BUDGETS[self.budget][2]
        verdict = "within" if self.passed else "EXCEEDED"
        top = ", ".join(f"{n} ({v:,.6g})" for n, v in self.top_layers)
        return (f"budget {self.budget}: {self.value:,.6g} {unit} {verdict} limit {self.limit:,.6g} {unit}"
                + (f"; top layers: {top}" if top and not self.passed else ""))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GateResult:
        """The inverse of :meth:`as_dict` (budgets checked by the driver, read back from a report)."""
        return cls(d["budget"], float(d["limit"]), float(d["value"]), bool(d["passed"]),
                   tuple((t["name"], float(t["value"])) for t in d["top_layers"]))

    def as_dict(self) -> dict[str, Any]:
        return {"budget": self.budget, "limit": self.limit, "value": self.value, "passed": self.passed,
                "top_layers": [{"name": n, "value": v} for n, v in self.top_layers]}


def _top_layers(layers: list[dict], key: str, n: int = 3) -> tuple[tuple[str, float], ...]:
    agg: dict[str, float] = {}
    for row in layers:
        v = row.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            agg[row["name"]] = max(agg.get(row["name"], 0.0), v) if key == "onchip_bytes" else \
                agg.get(row["name"], 0.0) + v
    ranked = sorted(agg.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return tuple((k, float(v)) for k, v in ranked)


def check_budgets(totals: dict[str, Any], layers: list[dict], budgets: dict[str, float | None],
                  target_name: str = "") -> list[GateResult]:
    """Check each given budget (``None`` = not set). Raises UnsupportedError when the target's report has no
    such quantity (e.g. energy on a target without an energy model)."""
    out = []
    for name, limit in budgets.items():
        if limit is None:
            continue
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) or limit < 0:
            raise UsageError(f"budget {name}: the limit must be a finite number >= 0, got {limit!r}")
        keys, layer_key, _ = BUDGETS[name]
        value = next((totals[k] for k in keys if totals.get(k) is not None), None)
        if value is None:
            raise UnsupportedError(f"budget {name}: target {target_name or '?'} does not report "
                                   f"{' / '.join(keys)}")
        passed = float(value) <= float(limit)
        out.append(GateResult(name, float(limit), float(value), passed, _top_layers(layers, layer_key)))
    return out

"""Target parameters of the ``openedgecgra`` backend and their validation."""

from __future__ import annotations

from cnncc.errors import TargetError
from cnncc.target import check_keys

ALLOWED = {
    "clock_hz": int, "sram_bytes": int, "sram_bank_bytes": int, "objective": str, "mappings": list,
    "check_seed": int, "sram_static_w": float, "cgra_access_pj": float, "cpu_access_pj": float,
    "cpu_active_w": float, "cgra_cycle_overhead_pj": float,
}
DEFAULTS = {
    "clock_hz": 100_000_000, "sram_bytes": 524_288, "sram_bank_bytes": 32_768, "objective": "latency",
    "mappings": ["conv-wp", "conv-op", "im2col-ip", "im2col-op", "cnncc-ic4"], "check_seed": 0,
    "sram_static_w": 0.0005, "cgra_access_pj": 43.0, "cpu_access_pj": 2.5, "cpu_active_w": 0.0009,
    "cgra_cycle_overhead_pj": 8.0,
}


def validate_params(params: dict) -> None:
    """Reject unknown keys, wrong types and out-of-range values (TargetError, exit 2)."""
    from cnncc.backends.openedgecgra.plan import MAPPINGS

    check_keys(params, ALLOWED)
    for k in ("clock_hz", "sram_bytes", "sram_bank_bytes"):
        if k in params and params[k] <= 0:
            raise TargetError(f"target key params.{k} must be positive, got {params[k]}")
    if params.get("objective", "latency") not in ("latency", "energy"):
        raise TargetError(f"target key params.objective must be 'latency' or 'energy', got {params['objective']!r}")
    for m in params.get("mappings", []):
        if m not in MAPPINGS:
            raise TargetError(f"unknown mapping {m!r} in params.mappings; known: {', '.join(MAPPINGS)}")
    if "mappings" in params and not params["mappings"]:
        raise TargetError("params.mappings must name at least one mapping")
    b, s = params.get("sram_bank_bytes", 32768), params.get("sram_bytes", 524288)
    if s % b:
        raise TargetError("params.sram_bytes must be a multiple of params.sram_bank_bytes")
    for k in ("sram_static_w", "cgra_access_pj", "cpu_access_pj", "cpu_active_w", "cgra_cycle_overhead_pj"):
        if k in params and params[k] < 0:
            raise TargetError(f"target key params.{k} must be >= 0")


def resolved(params) -> dict:
    d = dict(DEFAULTS)
    d.update(params or {})
    return d

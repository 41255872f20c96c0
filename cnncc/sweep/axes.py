"""Sweep axes: the values one design knob takes.

An axis is declared in the ``[axes]`` table of a sweep file, one of::

    system = ["Ethos_U65_High_End", "Ethos_U65_Client_Server"]      # a list (any TOML values, lists too)
    cores = { values = [1, 2] }                                     # the same, spelt out
    cores = { range = [1, 4] }                                      # 1, 2, 3, 4 (step 1, stop included)
    weight_compression = { range = [0.5, 1.0], step = 0.25 }       # 0.5, 0.75, 1.0
    clock = { range = [1e8, 1e9], num = 4 }                          # 4 evenly spaced values
    arena_cache_size_bytes = { log_range = [32768, 1048576], factor = 2 }   # 32768, 65536, ..., 1048576
    onchip_bytes = { log_range = [16384, 262144], num = 3 }          # 3 geometrically spaced values

Ranges of integers give integers (``num``/log ranges are rounded to the nearest integer, duplicates dropped).
Values keep the order they are declared or generated in; that order is the grid order of the sweep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cnncc.errors import UsageError

MAX_AXIS_VALUES = 100_000
AXIS_FORMS = ("values", "range", "step", "num", "log_range", "factor")


@dataclass(frozen=True)
class Axis:
    """One design axis: its name (a target key, dotted for nested keys, or a pipeline ``{placeholder}``) and
    its values in grid order."""

    name: str
    values: tuple[Any, ...]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _freeze(v: Any) -> Any:
    """TOML values as hashable values (lists become tuples)."""
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        raise UsageError("an axis value must be a number, string, bool or list, not a table")
    return v


def _pair(name: str, form: str, raw: Any) -> tuple[float, float]:
    if not (isinstance(raw, list) and len(raw) == 2 and all(_is_num(x) for x in raw)):
        raise UsageError(f"axis {name!r}: {form} must be [start, stop] (two numbers), got {raw!r}")
    return raw[0], raw[1]


def _dedup(values: list[Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return tuple(out)


def _linear(name: str, spec: dict) -> list[Any]:
    a, b = _pair(name, "range", spec["range"])
    if "step" in spec and "num" in spec:
        raise UsageError(f"axis {name!r}: give range with step or num, not both")
    if "num" in spec:
        n = spec["num"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise UsageError(f"axis {name!r}: num must be an integer >= 1, got {n!r}")
        vals = [a + (b - a) * i / (n - 1) for i in range(n)] if n > 1 else [a]
        return [round(v) for v in vals] if isinstance(a, int) and isinstance(b, int) else vals
    step = spec.get("step", 1)
    if not _is_num(step) or step == 0 or (b - a) * step < 0:
        raise UsageError(f"axis {name!r}: step must be a non-zero number towards stop, got {step!r}")
    count = int(math.floor((b - a) / step + 1e-9)) + 1
    if count > MAX_AXIS_VALUES:
        raise UsageError(f"axis {name!r}: {count} values (at most {MAX_AXIS_VALUES})")
    ints = all(isinstance(x, int) for x in (a, b, step))
    return [a + i * step if ints else float(f"{a + i * step:.12g}") for i in range(count)]


def _log(name: str, spec: dict) -> list[Any]:
    a, b = _pair(name, "log_range", spec["log_range"])
    if a <= 0 or b <= 0:
        raise UsageError(f"axis {name!r}: log_range bounds must be > 0, got {spec['log_range']!r}")
    ints = isinstance(a, int) and isinstance(b, int)
    if ("factor" in spec) == ("num" in spec):
        raise UsageError(f"axis {name!r}: log_range needs exactly one of factor or num")
    if "factor" in spec:
        f = spec["factor"]
        if not _is_num(f) or f <= 1:
            raise UsageError(f"axis {name!r}: factor must be a number > 1, got {f!r}")
        lo, hi = min(a, b), max(a, b)
        count = int(math.floor(math.log(hi / lo) / math.log(f) + 1e-9)) + 1
        if count > MAX_AXIS_VALUES:
            raise UsageError(f"axis {name!r}: {count} values (at most {MAX_AXIS_VALUES})")
        vals = [lo * f ** i for i in range(count)]
        if a > b:
            vals = [hi / f ** i for i in range(count)]
    else:
        n = spec["num"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise UsageError(f"axis {name!r}: num must be an integer >= 1, got {n!r}")
        vals = [a * (b / a) ** (i / (n - 1)) for i in range(n)] if n > 1 else [a]
    return [round(v) for v in vals] if ints else [float(f"{v:.12g}") for v in vals]


def parse_axis(name: str, raw: Any) -> Axis:
    """An :class:`Axis` from its sweep-file form (a list or a table, see the module docstring). UsageError on
    anything else."""
    from cnncc.suggest import did_you_mean

    if isinstance(raw, list):
        spec: dict = {"values": raw}
    elif isinstance(raw, dict):
        spec = raw
    else:
        raise UsageError(f"axis {name!r}: expected a list of values or a table (values / range / log_range), "
                         f"got {raw!r}")
    for k in spec:
        if k not in AXIS_FORMS:
            raise UsageError(f"axis {name!r}: unknown key {k!r}{did_you_mean(k, AXIS_FORMS)}; allowed: "
                             f"{', '.join(AXIS_FORMS)}")
    forms = [f for f in ("values", "range", "log_range") if f in spec]
    if len(forms) != 1:
        raise UsageError(f"axis {name!r}: give exactly one of values, range or log_range")
    if forms[0] != "range" and "step" in spec:
        raise UsageError(f"axis {name!r}: step goes with range")
    if forms[0] == "values" and ("num" in spec or "factor" in spec):
        raise UsageError(f"axis {name!r}: num/factor go with range or log_range")
    if forms[0] == "range" and "factor" in spec:
        raise UsageError(f"axis {name!r}: factor goes with log_range")
    if forms[0] == "values":
        if not isinstance(spec["values"], list):
            raise UsageError(f"axis {name!r}: values must be a list")
        values = [_freeze(v) for v in spec["values"]]
    elif forms[0] == "range":
        values = _linear(name, spec)
    else:
        values = _log(name, spec)
    values_t = _dedup(values)
    if not values_t:
        raise UsageError(f"axis {name!r}: no values")
    return Axis(name, values_t)

"""Typed target specs: one frozen dataclass per backend whose fields are its ``[params]`` keys.

A spec is declared with :func:`param` fields (default, unit, doc, range)::

    @dataclass(frozen=True)
    class MySpec(TargetSpec):
        clock_hz: int = param(100_000_000, doc="core clock", unit="Hz", min=1)
        mappings: tuple[str, ...] = param(("a", "b"), doc="mappings searched", choices=("a", "b"), nonempty=True)

:meth:`TargetSpec.from_params` builds it from a TOML ``[params]`` table: the allowed keys, their types and defaults
come from the fields; unknown keys are refused (listing the allowed ones); TOML lists become tuples; ints are
accepted for floats, bools never for numbers. ``__post_init__`` range-checks every field (finite, ``min``/``max``,
``|int| <= 2**53``, ``choices``, ``nonempty``) and then calls :meth:`TargetSpec.validate` for cross-field rules.
A field may be a nested spec (a TOML sub-table) or a :class:`FrozenMap` of specs (a table of named records, e.g.
Ethos-U system configurations). Specs are hashable, so caches and sweeps key on them.
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import sys
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from cnncc.errors import TargetError

#: the largest magnitude an integer target key may have (beyond it z3 and C longs overflow or floats round)
MAX_INT = 2**53
#: the largest magnitude a float target key may have
MAX_FLOAT = 1e18

K = TypeVar("K")
V = TypeVar("V")
S = TypeVar("S", bound="TargetSpec")

#: the TOML path of the table being built (for error messages of nested records)
_WHERE: contextvars.ContextVar[str] = contextvars.ContextVar("cnncc_spec_where", default="params")


class FrozenMap(Mapping[K, V]):
    """A read-only, hashable mapping (sorted by key for a stable order and hash)."""

    __slots__ = ("_items", "_d")

    def __init__(self, items: Mapping[K, V] | None = None, /, **kw: V):
        d: dict[Any, V] = dict(items or {})
        d.update(kw)
        self._d = dict(sorted(d.items(), key=lambda kv: str(kv[0])))
        self._items = tuple(self._d.items())

    def __getitem__(self, k: K) -> V:
        return self._d[k]

    def __iter__(self) -> Iterator[K]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._items == other._items
        return isinstance(other, Mapping) and dict(self._d) == dict(other)

    def __repr__(self) -> str:
        return f"FrozenMap({self._d!r})"

    def set(self, k: K, v: V) -> FrozenMap[K, V]:
        """A copy with ``k`` set to ``v``."""
        d = dict(self._d)
        d[k] = v
        return FrozenMap(d)


def param(default: Any, *, doc: str, unit: str = "", min: float | None = None, max: float | None = None,
          exclusive_min: bool = False, choices: tuple[Any, ...] | None = None, nonempty: bool = False) -> Any:
    """A spec field: its default, a one-line ``doc``, the ``unit`` (also in the name: ``_bytes``, ``_hz``) and its
    range (``min``/``max`` inclusive unless ``exclusive_min``; ``choices`` for strings or tuple items)."""
    meta = {"doc": doc, "unit": unit, "min": min, "max": max, "exclusive_min": exclusive_min, "choices": choices,
            "nonempty": nonempty}
    return dataclasses.field(default=default, metadata=meta)


def _hints(cls: type) -> dict[str, Any]:
    cache = cls.__dict__.get("_hints_cache")
    if cache is None:
        mod = sys.modules[cls.__module__]
        cache = typing.get_type_hints(cls, globalns=vars(mod), localns={cls.__name__: cls})
        cls._hints_cache = cache  # type: ignore[attr-defined]
    return cache


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if origin is FrozenMap or (isinstance(origin, type) and issubclass(origin, FrozenMap)):
        return f"table of {_type_name(typing.get_args(tp)[1])}"
    if isinstance(tp, type) and issubclass(tp, TargetSpec):
        return "table"
    return getattr(tp, "__name__", str(tp))


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """Check (and convert: list -> tuple, int -> float, table -> spec) a TOML value against a field type."""
    origin = typing.get_origin(tp)
    bad = TargetError(f"target key {where} must be {_type_name(tp)}, got {value!r}")
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_INT:
                return int(value)
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        item = typing.get_args(tp)[0]
        return tuple(_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is FrozenMap:
        if not isinstance(value, Mapping):
            raise bad
        item = typing.get_args(tp)[1]
        return FrozenMap({str(k): _coerce(item, v, f"{where}.{k}") for k, v in value.items()})
    if isinstance(tp, type) and issubclass(tp, TargetSpec):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise bad
        return tp.from_params(value, where)
    raise TypeError(f"unsupported spec field type {tp!r} at {where}")


def _check_range(name: str, value: Any, meta: Mapping[str, Any], where: str) -> None:
    items = value if isinstance(value, tuple) else (value,)
    if meta.get("nonempty") and isinstance(value, tuple) and not value:
        raise TargetError(f"target key {where}.{name} must not be empty")
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise TargetError(f"target key {where}.{name} must be finite, got {v!r}")
        if isinstance(v, (int, float)):
            limit = MAX_INT if isinstance(v, int) else MAX_FLOAT
            if abs(v) > limit:
                raise TargetError(f"target key {where}.{name} = {v!r} is too large (at most {limit:g})")
            lo, hi = meta.get("min"), meta.get("max")
            if lo is not None and (v < lo or (meta.get("exclusive_min") and v == lo)):
                op = ">" if meta.get("exclusive_min") else ">="
                raise TargetError(f"target key {where}.{name} must be {op} {lo:g}, got {v!r}")
            if hi is not None and v > hi:
                raise TargetError(f"target key {where}.{name} must be <= {hi:g}, got {v!r}")
        choices = meta.get("choices")
        if choices is not None and v not in choices:
            raise TargetError(f"target key {where}.{name}: {v!r} is not one of {', '.join(map(str, choices))}")


@dataclass(frozen=True)
class TargetSpec:
    """Base of every backend's typed parameters (see the module docstring)."""

    def __post_init__(self) -> None:
        where = _WHERE.get()
        for f in dataclasses.fields(self):
            _check_range(f.name, getattr(self, f.name), f.metadata, where)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; raise :class:`cnncc.errors.TargetError`. Override in subclasses."""

    # ------------------------------------------------------------------ building
    @classmethod
    def from_params(cls: type[S], params: Mapping[str, Any], where: str = "params") -> S:
        """Build from a ``[params]`` table: unknown keys refused, types coerced, defaults for missing keys."""
        if not isinstance(params, Mapping):
            raise TargetError(f"[{where}] must be a table, got {params!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(map(str, params)) - set(fields))
        if unknown:
            from cnncc.suggest import did_you_mean

            hint = did_you_mean(unknown[0], fields)
            raise TargetError(f"unknown target key(s) in [{where}]: {', '.join(unknown)}{hint}; "
                              f"allowed: {', '.join(sorted(fields))}")
        hints = _hints(cls)
        kw = {k: _coerce(hints[k], v, f"{where}.{k}") for k, v in params.items()}
        token = _WHERE.set(where)
        try:
            return cls(**kw)
        finally:
            _WHERE.reset(token)

    def replace(self: S, **changes: Any) -> S:
        """A copy with some fields changed (checked like a new spec)."""
        hints = _hints(type(self))
        unknown = sorted(set(changes) - set(hints))
        if unknown:
            raise TargetError(f"unknown target key(s): {', '.join(unknown)}")
        kw = {k: _coerce(hints[k], v, f"params.{k}") for k, v in changes.items()}
        return dataclasses.replace(self, **kw)

    # ------------------------------------------------------------------ views
    def to_params(self) -> dict[str, Any]:
        """The plain, sorted TOML-like form (what reports echo under ``inputs.target.params``)."""
        return {f.name: _plain(getattr(self, f.name)) for f in sorted(dataclasses.fields(self), key=lambda f: f.name)}

    @classmethod
    def field_docs(cls) -> dict[str, tuple[str, str, str]]:
        """Field name -> (type name, unit, doc)."""
        hints = _hints(cls)
        return {f.name: (_type_name(hints[f.name]), f.metadata.get("unit", ""), f.metadata.get("doc", ""))
                for f in dataclasses.fields(cls)}

    def describe(self, prefix: str = "") -> list[dict[str, Any]]:
        """One row per settable key (nested keys dotted): key, type, unit, default, value, doc."""
        rows: list[dict[str, Any]] = []
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            key = f"{prefix}{f.name}"
            if isinstance(value, TargetSpec):
                rows.extend(value.describe(key + "."))
                continue
            if isinstance(value, FrozenMap) and value and all(isinstance(v, TargetSpec) for v in value.values()):
                for name, sub in value.items():
                    rows.extend(sub.describe(f"{key}.{name}."))
                continue
            default = f.default if f.default is not dataclasses.MISSING else None
            rows.append({"key": key, "type": _type_name(hints[f.name]), "unit": f.metadata.get("unit", ""),
                         "default": _plain(default), "value": _plain(value), "doc": f.metadata.get("doc", "")})
        return rows


def _plain(v: Any) -> Any:
    if isinstance(v, TargetSpec):
        return v.to_params()
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def spec_keys(spec_cls: type[TargetSpec]) -> list[str]:
    """The top-level keys of a spec class (for messages)."""
    return [f.name for f in dataclasses.fields(spec_cls)]

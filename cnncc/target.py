"""Targets: TOML files with ``schema_version``, units in key names, ``inherit``, unknown keys rejected.

A target file looks like::

    schema_version = 1
    name = "ethos-u65-256"
    backend = "ethos_u65"            # which package under cnncc/backends/ costs it
    description = "..."
    aliases = ["ethos-u65"]          # other names the shipped file answers to
    inherit = "other-target"         # optional: a shipped name or a path relative to this file
    default_pipeline = "fold-bn,fuse-act"

    [params]                         # backend-specific keys, validated by the backend
    macs_per_cycle = 256
    core_clock_hz = 1_000_000_000

``--set key=value`` overrides any key of ``params`` (dotted keys reach into sub-tables); the value is parsed as
the type of the key it replaces.
"""

from __future__ import annotations

import copy
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnncc.errors import TargetError

SCHEMA_VERSION = 1
TARGETS_DIR = Path(__file__).parent / "targets"
TOP_KEYS = {"schema_version", "name", "backend", "description", "aliases", "inherit", "default_pipeline",
            "params"}


@dataclass(frozen=True, eq=False)
class Target:
    """A fully resolved target: inheritance merged, overrides applied, params validated. ``spec`` is the backend's
    typed spec (what backends read); ``params`` its plain form (what reports echo)."""

    name: str
    backend: str
    description: str
    default_pipeline: str
    params: Mapping[str, Any]
    source: str
    overrides: tuple[tuple[str, Any], ...] = field(default=())
    spec: Any = None  #: the backend's TargetSpec (typed, frozen, hashable)

    def __hash__(self) -> int:
        return hash((self.name, self.backend, self.source, self.spec))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and (self.name, self.backend, self.source, self.spec) \
            == (other.name, other.backend, other.source, other.spec)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def to_dict(self) -> dict:
        """JSON form echoed by every report (so a report can be reproduced)."""
        return {"name": self.name, "backend": self.backend, "source": self.source,
                "overrides": {k: _plain(v) for k, v in self.overrides}, "default_pipeline": self.default_pipeline,
                "params": _plain(self.params)}

    def backend_impl(self) -> Any:
        """The :class:`cnncc.backends.base.Backend` of this target."""
        from cnncc.backends.registry import get_backend

        return get_backend(self.backend)

    # ---------------------------------------------------------------- typed calls passes make on a target
    def layer_cycles(self, graph: Any, layer: Any) -> float:
        """Cycles of one layer in isolation on this target (``abconv{select=cost}``)."""
        return float(self.backend_impl().layer_cycles(graph, layer, self))

    def onchip_capacity_bytes(self) -> int | None:
        """The on-chip memory ``tile`` fits layers into by default (bytes), or None."""
        cap = self.backend_impl().onchip_capacity_bytes(self)
        return None if cap is None else int(cap)

    def activation_bytes(self, dtype: str) -> int:
        """Bytes per activation element of ``dtype`` as this target stores it (float graphs are costed as their
        int8 equivalent: 1 byte)."""
        return int(self.backend_impl().activation_bytes(self, dtype))


def _plain(v):
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def shipped_targets() -> dict[str, Path]:
    """Shipped target names (and aliases) -> file. Files starting with '_' are bases, not listed."""
    return dict(_shipped(tuple((p, _stamp(p)) for p in sorted(TARGETS_DIR.glob("*.toml")))))


def _stamp(p: Path) -> tuple[int, int]:
    try:
        st = p.stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _shipped(files: tuple[tuple[Path, tuple[int, int]], ...]) -> tuple[tuple[str, Path], ...]:
    out: dict[str, Path] = {}
    for p, _ in files:
        if p.name.startswith("_"):
            continue
        out[p.stem] = p
        try:
            data = tomllib.loads(p.read_text())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        aliases = data.get("aliases", [])
        for alias in aliases if isinstance(aliases, list) else []:
            out.setdefault(str(alias), p)
    return tuple(out.items())


@functools.lru_cache(maxsize=256)
def _parse_toml(path: Path, stamp: tuple[int, int]) -> dict:
    """A target file's TOML (cached by path, modification time and size; callers get deep copies)."""
    del stamp
    try:
        raw = path.read_bytes()
        if len(raw) > 1 << 20:
            raise TargetError(f"{path}: target file larger than 1 MiB")
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise TargetError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise TargetError(f"{path}: invalid TOML: {e}") from None
    except OSError as e:
        raise TargetError(f"{path}: cannot read: {e.strerror}") from None


def _resolve_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        p = Path(name_or_path)
        if not p.is_absolute() and relative_to is not None:
            p = relative_to / p
        try:
            ok = p.is_file()
        except (OSError, ValueError):
            ok = False
        if not ok:
            raise TargetError(f"target file not found (or not a regular file): {p}")
        return p
    direct = TARGETS_DIR / f"{name_or_path}.toml"  # a shipped file's own name: no need to read every file
    if name_or_path and not name_or_path.startswith(("_", ".")) and direct.is_file():
        return direct
    shipped = shipped_targets()
    if name_or_path in shipped:
        return shipped[name_or_path]
    from cnncc.suggest import did_you_mean

    raise TargetError(f"unknown target {name_or_path!r}{did_you_mean(name_or_path, shipped)}; shipped targets: "
                      f"{', '.join(sorted(shipped))}")


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _load_raw(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    if path.resolve() in chain:
        raise TargetError(f"target inheritance cycle through {path}")
    data = copy.deepcopy(_parse_toml(path.resolve(), _stamp(path)))
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise TargetError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                          f"{', '.join(sorted(TOP_KEYS))} (backend keys go under [params])")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise TargetError(f"{path}: schema_version must be {SCHEMA_VERSION}, got {data.get('schema_version')!r}")
    if "inherit" in data:
        if not isinstance(data["inherit"], str):
            raise TargetError(f"{path}: inherit must be a target name or a path, got {data['inherit']!r}")
        parent = _load_raw(_resolve_path(data["inherit"], path.parent), chain + (path.resolve(),))
        merged = _merge(parent, {k: v for k, v in data.items() if k not in ("inherit", "aliases")})
        merged["aliases"] = data.get("aliases", [])
        return merged
    return data


def parse_override(item: str) -> tuple[str, str]:
    """Split ``key=value`` (as given to ``--set``)."""
    if "=" not in item:
        raise TargetError(f"--set expects key=value, got {item!r}")
    k, v = item.split("=", 1)
    k = k.strip()
    if not k:
        raise TargetError(f"--set expects key=value, got {item!r}")
    return k, v.strip()


def _parse_text(key: str, raw: str, old: Any) -> Any:
    """A ``--set`` string parsed as the type of the value it replaces."""
    try:
        if isinstance(old, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(old, int):
            f = float(raw.replace("_", ""))
            if not f.is_integer():
                raise ValueError
            return int(f)
        if isinstance(old, float):
            return float(raw.replace("_", ""))
        if isinstance(old, (list, tuple)):
            return [_parse_text(key, x.strip(), old[0] if old else "") for x in raw.split(",") if x.strip()]
    except (ValueError, OverflowError):
        raise TargetError(f"--set {key}={raw}: expected a {_kind(old)}") from None
    return raw


def _kind(old: Any) -> str:
    if isinstance(old, (list, tuple)):
        return f"comma-separated list of {_kind(old[0]) if old else 'str'}"
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(type(old), type(old).__name__)


def _typed(key: str, value: Any, old: Any) -> Any:
    """An override value: strings are parsed as the old value's type; typed values are taken as they are (the
    spec checks them)."""
    if isinstance(value, str) and not isinstance(old, str):
        return _parse_text(key, value, old)
    if isinstance(value, tuple):
        return list(value)
    return value


def _leaf_keys(node: Mapping[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for k, v in node.items():
        if isinstance(v, Mapping):
            out.extend(_leaf_keys(v, f"{prefix}{k}."))
        else:
            out.append(f"{prefix}{k}")
    return out


def apply_overrides(params: dict, overrides: list[tuple[str, Any]], defaults: Mapping[str, Any] | None = None
                    ) -> dict:
    """``params`` with each ``(dotted.key, value)`` set; ``defaults`` (a spec's plain form) supplies the keys a
    TOML file leaves at their default. Unknown keys are refused with the closest known key."""
    from cnncc.suggest import did_you_mean

    out = _merge(dict(defaults or {}), params)
    for key, raw in overrides:
        parts = key.split(".")
        node = out
        for i, p in enumerate(parts[:-1]):
            if not isinstance(node.get(p), dict):
                known = _leaf_keys(out)
                raise TargetError(f"--set {key}: no table {'.'.join(parts[:i + 1])!r} in this target"
                                  f"{did_you_mean(key, known)}")
            node = node[p]
        leaf = parts[-1]
        if leaf not in node:
            known = _leaf_keys(out)
            raise TargetError(f"--set {key}: unknown key{did_you_mean(key, known)}; known keys: "
                              f"{', '.join(sorted(known))}")
        if isinstance(node[leaf], dict):
            raise TargetError(f"--set {key}: is a table, set one of its keys instead "
                              f"({', '.join(sorted(_leaf_keys(node[leaf], key + '.')))})")
        node[leaf] = _typed(key, raw, node[leaf])
    return out


def load_target(name_or_path: str, overrides: Mapping[str, Any] | list[tuple[str, Any]] | None = None) -> Target:
    """Load a shipped target by name/alias or a TOML file by path, apply overrides and validate the params.
    Override values may be typed (``mappings=["conv-wp"]``) or strings (``--set``), parsed as the key's type.
    Raises TargetError (exit 2)."""
    from cnncc.backends import registry

    path = _resolve_path(name_or_path)
    data = _load_raw(path)
    backend = data.get("backend")
    if backend not in registry.names():
        raise TargetError(f"{path}: backend must be one of {', '.join(registry.names())}, got {backend!r}")
    ov = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides or [])
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise TargetError(f"{path}: [params] must be a table")
    spec_cls = registry.spec_class(backend)
    try:
        base = spec_cls.from_params(raw_params)
    except TargetError as e:  # a bad key or value in the file itself: say which file
        raise TargetError(f"{path}: {e}") from None
    params = apply_overrides(raw_params, ov, base.to_params()) if ov else raw_params
    spec = spec_cls.from_params(params) if ov else base
    for k in ("name", "description", "default_pipeline"):
        if k in data and not isinstance(data[k], str):
            raise TargetError(f"{path}: {k} must be a string, got {data[k]!r}")
    is_shipped = path.parent == TARGETS_DIR
    return Target(name=str(data.get("name", path.stem)), backend=backend,
                  description=str(data.get("description", "")),
                  default_pipeline=str(data.get("default_pipeline", "")), params=spec.to_params(),
                  source=f"<shipped>/{path.name}" if is_shipped else str(path),
                  overrides=tuple((k, _typed(k, v, None) if not isinstance(v, str) else v) for k, v in ov),
                  spec=spec)

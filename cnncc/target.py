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
import importlib
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

#: backend name -> module implementing ``validate_params(params)`` and ``compile(graph, target, options)``
BACKENDS = {
    "ethos_u65": "cnncc.backends.ethos_u65",
    "openedgecgra": "cnncc.backends.openedgecgra",
    "offload": "cnncc.backends.offload",
}


@dataclass(frozen=True)
class Target:
    """A fully resolved target: inheritance merged, overrides applied, params validated by its backend."""

    name: str
    backend: str
    description: str
    default_pipeline: str
    params: Mapping[str, Any]
    source: str
    overrides: tuple[tuple[str, str], ...] = field(default=())

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def to_dict(self) -> dict:
        """JSON form echoed by every report (so a report can be reproduced)."""
        return {"name": self.name, "backend": self.backend, "source": self.source,
                "overrides": {k: v for k, v in self.overrides}, "default_pipeline": self.default_pipeline,
                "params": _plain(self.params)}

    def backend_module(self):
        return importlib.import_module(BACKENDS[self.backend])


def _plain(v):
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def shipped_targets() -> dict[str, Path]:
    """Shipped target names (and aliases) -> file. Files starting with '_' are bases, not listed."""
    out: dict[str, Path] = {}
    for p in sorted(TARGETS_DIR.glob("*.toml")):
        if p.name.startswith("_"):
            continue
        out[p.stem] = p
        try:
            data = tomllib.loads(p.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        for alias in data.get("aliases", []):
            out.setdefault(alias, p)
    return out


def _resolve_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        p = Path(name_or_path)
        if not p.is_absolute() and relative_to is not None:
            p = relative_to / p
        if not p.is_file():
            raise TargetError(f"target file not found: {p}")
        return p
    shipped = shipped_targets()
    if name_or_path in shipped:
        return shipped[name_or_path]
    base = TARGETS_DIR / f"{name_or_path}.toml"
    if base.is_file():
        return base
    raise TargetError(f"unknown target {name_or_path!r}; shipped targets: {', '.join(sorted(shipped))}")


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
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise TargetError(f"{path}: invalid TOML: {e}") from None
    except OSError as e:
        raise TargetError(f"{path}: cannot read: {e.strerror}") from None
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise TargetError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                          f"{', '.join(sorted(TOP_KEYS))} (backend keys go under [params])")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise TargetError(f"{path}: schema_version must be {SCHEMA_VERSION}, got {data.get('schema_version')!r}")
    if "inherit" in data:
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


def _coerce(key: str, raw: str, old: Any) -> Any:
    try:
        if isinstance(old, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(old, int):
            f = float(raw.replace("_", ""))
            if f != int(f):
                raise ValueError
            return int(f)
        if isinstance(old, float):
            return float(raw)
        if isinstance(old, list):
            return [_coerce(key, x, old[0] if old else "") for x in raw.split(",") if x]
    except ValueError:
        raise TargetError(f"--set {key}={raw}: expected a {type(old).__name__}") from None
    return raw


def apply_overrides(params: dict, overrides: list[tuple[str, str]]) -> dict:
    out = copy.deepcopy(params)
    for key, raw in overrides:
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                raise TargetError(f"--set {key}: no table {p!r} in this target")
            node = node[p]
        leaf = parts[-1]
        if leaf not in node:
            keys = sorted(k for k, v in node.items() if not isinstance(v, dict))
            raise TargetError(f"--set {key}: unknown key; known keys: {', '.join(keys)}")
        if isinstance(node[leaf], dict):
            raise TargetError(f"--set {key}: is a table, set one of its keys instead")
        node[leaf] = _coerce(key, raw, node[leaf])
    return out


def load_target(name_or_path: str, overrides: Mapping[str, str] | list[tuple[str, str]] | None = None) -> Target:
    """Load a shipped target by name/alias or a TOML file by path, apply ``--set`` overrides and let the
    backend validate the params. Raises TargetError (exit 2)."""
    path = _resolve_path(name_or_path)
    data = _load_raw(path)
    backend = data.get("backend")
    if backend not in BACKENDS:
        raise TargetError(f"{path}: backend must be one of {', '.join(sorted(BACKENDS))}, got {backend!r}")
    ov = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides or [])
    params = apply_overrides(data.get("params", {}), ov)
    module = importlib.import_module(BACKENDS[backend])
    module.validate_params(params)
    is_shipped = path.parent == TARGETS_DIR
    return Target(name=str(data.get("name", path.stem)), backend=backend,
                  description=str(data.get("description", "")),
                  default_pipeline=str(data.get("default_pipeline", "")), params=params,
                  source=f"<shipped>/{path.name}" if is_shipped else str(path), overrides=tuple(ov))


def check_keys(params: Mapping[str, Any], allowed: Mapping[str, type | tuple], where: str = "params") -> None:
    """Helper for backends: reject unknown keys and wrong types in ``params``."""
    unknown = set(params) - set(allowed)
    if unknown:
        raise TargetError(f"unknown target key(s) in [{where}]: {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(allowed))}")
    for k, v in params.items():
        want = allowed[k]
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            continue
        if not isinstance(v, want) or (want is int and isinstance(v, bool)):
            raise TargetError(f"target key {where}.{k} must be {getattr(want, '__name__', want)}, got {v!r}")

"""Target configurations: ``NAME@key=value@key2=value2`` — one target with some keys set.

Used by ``cnncc compare --targets`` and by the ``targets`` list of a sweep file, so two configurations of the
same target can be compared side by side::

    ethos-u65-256,ethos-u65-256@system=Ethos_U65_High_End,ethos-u65-256@system=Ethos_U65_High_End@cores=2

Values are text, parsed as the type of the key they set (as ``--set`` does). A list value is written with
commas (``cgra@mappings=conv-wp,conv-op``): in a comma-separated list of configurations a piece that holds
no ``@``/``=`` and is not a shipped target (or a ``.toml`` path) continues the value before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnncc.errors import TargetError


@dataclass(frozen=True)
class TargetConfig:
    """A target name (or TOML path), the keys set on it, and its label (what tables and plots show)."""

    name: str
    overrides: tuple[tuple[str, Any], ...] = ()
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(_fmt(x) for x in v)
    return str(v)


def label_of(name: str, overrides: tuple[tuple[str, Any], ...] | list[tuple[str, Any]]) -> str:
    """``name@k=v@k2=v2`` (the overrides in the order given)."""
    return name + "".join(f"@{k}={_fmt(v)}" for k, v in overrides)


def parse_config(text: str) -> TargetConfig:
    """``NAME@key=value@...`` -> :class:`TargetConfig` (values stay text). TargetError on a malformed piece."""
    parts = text.strip().split("@")
    name = parts[0].strip()
    if not name:
        raise TargetError(f"target configuration {text!r}: no target name before '@'")
    overrides = []
    for p in parts[1:]:
        if "=" not in p or not p.split("=", 1)[0].strip():
            raise TargetError(f"target configuration {text!r}: expected @key=value, got @{p}")
        k, v = p.split("=", 1)
        overrides.append((k.strip(), v.strip()))
    return TargetConfig(name, tuple(overrides), label_of(name, overrides))


def split_configs(text: str) -> list[str]:
    """Split a comma-separated list of configurations, keeping commas inside list values (see the module
    docstring)."""
    from cnncc.target import shipped_targets

    shipped = shipped_targets()
    out: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        continues = out and "@" in out[-1] and "@" not in piece and "=" not in piece \
            and piece not in shipped and not piece.endswith(".toml") and "/" not in piece
        if continues:
            out[-1] = f"{out[-1]},{piece}"
        else:
            out.append(piece)
    return out

"""Passes: one per module, registered here by name and imported only when the registry is asked for.

Each pass is a frozen dataclass (fields = options) with ``NAME``, a docstring and ``run(graph, ctx)``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnncc.passes.base import Pass

#: pass name -> "module:Class" (modules under cnncc.passes)
_PASSES = {
    "fold-bn": "fold_bn:FoldBN",
    "fuse-act": "fuse_act:FuseAct",
    "fold-constants": "fold_constants:FoldConstants",
    "remove-identity": "remove_identity:RemoveIdentity",
    "im2col": "im2col:Im2colPass",
    "tile": "tile:Tile",
    "abconv": "abconv:ABConvPass",
}

_cache: dict[str, type] = {}


def registry() -> dict[str, type[Pass]]:
    """Pass name -> pass class (a frozen dataclass whose fields are its options), in a stable order."""
    return {name: cls for name in _PASSES if (cls := get(name)) is not None}


def names() -> tuple[str, ...]:
    """Every registered pass name (imports nothing)."""
    return tuple(_PASSES)


def get(name: str) -> type[Pass] | None:
    """The pass class registered as ``name`` (importing only its module), or None."""
    if name not in _cache:
        spec = _PASSES.get(name)
        if spec is None:
            return None
        mod, cls = spec.split(":")
        _cache[name] = getattr(importlib.import_module(f"cnncc.passes.{mod}"), cls)
    return _cache[name]


def describe() -> list[dict]:
    """For ``cnncc passes``: name, one-line summary, and options (name, kind, default) of every pass."""
    from cnncc.pipeline import format_value, pass_options

    out = []
    for name, cls in registry().items():
        out.append({"name": name, "summary": summary(cls.__doc__ or ""),
                    "options": [{"name": o, "kind": k, "default": format_value(k, d) if d is not None
                                 else "auto", "choices": list(cls.CHOICES.get(f, ()))}
                                for o, f, k, d in pass_options(cls)]})
    return out


def summary(doc: str) -> str:
    """The first paragraph of a docstring on one line (never cut mid-sentence)."""
    para = doc.strip().split("\n\n", 1)[0]
    return " ".join(para.split())


__all__ = ["registry", "names", "get", "describe", "summary"]

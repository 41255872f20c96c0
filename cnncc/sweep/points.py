"""Point generation: models × targets × pipelines × the axes that apply, as a grid or a seeded random sample,
filtered by the constraints; each point resolved (target loaded, pipeline made canonical) and keyed.

A point's key is the SHA-256 of {model SHA-256, the resolved target (``Target.to_dict()``), the canonical
pipeline, the input shapes, the cnncc version}: a rerun skips the points whose key is already in
``results.jsonl``. A point whose target or pipeline does not resolve (an axis value the target refuses, a pass
option out of range) is kept, with its error: it is recorded as failed without being compiled.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnncc.errors import CnnccError, UsageError
from cnncc.sweep.axes import Axis
from cnncc.sweep.configs import TargetConfig
from cnncc.sweep.spec import PLACEHOLDER, SweepSpec

BUILTIN_NAMES = ("model", "target", "pipeline")
MAX_POINTS = 1_000_000
_PERMUTE_MAX = 200_000  # random sampling permutes grids up to this size; larger ones are sampled by rejection


@dataclass(frozen=True)
class Point:
    """One design point. ``axes``: (name, value) of the axes that apply, in axis order; ``overrides``: the
    target keys set (fixed ones first); ``pipeline``: canonical text (or the raw text if it did not parse);
    ``error``: (message, exit code) when the point did not resolve."""

    index: int
    model: str
    model_path: Path
    model_sha256: str
    target: TargetConfig
    backend: str
    axes: tuple[tuple[str, Any], ...]
    overrides: tuple[tuple[str, Any], ...]
    pipeline: str
    key: str
    error: tuple[str, int] | None = None
    resolved: Any = None  # the loaded Target (None when it did not resolve)

    def task(self, input_shapes: tuple[tuple[str, str], ...]) -> dict[str, Any]:
        """What a worker needs to compile this point (picklable: the resolved Target travels, so workers do not
        parse target files again)."""
        return {"key": self.key, "model_path": str(self.model_path.resolve()), "model_sha256": self.model_sha256,
                "target": self.resolved, "pipeline": self.pipeline, "input_shapes": dict(input_shapes)}


def _plain(v: Any) -> Any:
    if hasattr(v, "items"):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def point_key(**parts: Any) -> str:
    """SHA-256 (hex) of the JSON of ``parts`` (sorted keys)."""
    blob = json.dumps(_plain(parts), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _leaf_keys(params: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    for k, v in params.items():
        if hasattr(v, "items"):
            out.extend(_leaf_keys(v, f"{prefix}{k}."))
        else:
            out.append(f"{prefix}{k}")
    return out


def format_option(v: Any) -> str:
    """An axis value as pipeline option text."""
    if v is None:
        return "auto"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(format_option(x) for x in v)
    return str(v)


def _fill(template: str, values: dict[str, Any]) -> str:
    """A pipeline template with its ``{axis}`` placeholders replaced by the values' option text."""
    return PLACEHOLDER.sub(lambda m: format_option(values[m.group(1)]), template)


def _combos(axes: list[Axis], spec: SweepSpec, stream: str) -> Iterator[tuple[Any, ...]]:
    """Value tuples of ``axes`` in grid order, or a seeded random order (every combination at most once)."""
    sizes = [len(a.values) for a in axes]
    total = 1
    for s in sizes:
        total *= s

    def decode(i: int) -> tuple[Any, ...]:
        vals = []
        for a, s in zip(reversed(axes), reversed(sizes)):
            i, r = divmod(i, s)
            vals.append(a.values[r])
        return tuple(reversed(vals))

    if spec.sampling == "grid":
        if total > MAX_POINTS:
            raise UsageError(f"{spec.path}: the grid has {total:,} configurations per target (at most "
                             f"{MAX_POINTS:,}); use sampling = 'random'")
        yield from (decode(i) for i in range(total))
        return
    rng = random.Random(f"{spec.seed}:{stream}")
    if total <= _PERMUTE_MAX:
        yield from (decode(i) for i in rng.sample(range(total), total))
        return
    seen: set[int] = set()
    for _ in range(100 * (spec.samples or 1)):
        i = rng.randrange(total)
        if i not in seen:
            seen.add(i)
            yield decode(i)


def check_names(spec: SweepSpec, bases: dict[str, Any]) -> None:
    """Every axis applies somewhere, every placeholder is an axis, every constraint name is known."""
    from cnncc.suggest import did_you_mean

    names = {a.name for a in spec.axes}
    holes = set().union(*(spec.placeholders(p) for p in spec.pipelines))
    for p in spec.pipelines:
        for h in sorted(spec.placeholders(p) - names):
            raise UsageError(f"{spec.path}: pipeline {p!r} has placeholder {{{h}}} but no axis {h!r} in [axes]"
                             f"{did_you_mean(h, names)}")
    known = sorted({k for b in bases.values() for k in _leaf_keys(b.params)})
    for a in spec.axes:
        if a.name in holes or any(a.name.split(".")[0] in b.params for b in bases.values()):
            continue
        if a.name in BUILTIN_NAMES:
            raise UsageError(f"{spec.path}: axis name {a.name!r} is reserved")
        raise UsageError(f"{spec.path}: axis {a.name!r} is no key of the targets "
                         f"({', '.join(sorted(bases))}) and no pipeline placeholder{did_you_mean(a.name, known)}")
    for c in spec.constraints:
        for n in sorted(c.names() - names - set(BUILTIN_NAMES)):
            raise UsageError(f"{spec.path}: constraint {c.text!r} reads {n!r}, which is no axis"
                             f"{did_you_mean(n, sorted(names) + list(BUILTIN_NAMES))}")


def _model_id(spec: SweepSpec, path: Path) -> str:
    try:
        return path.relative_to(spec.path.parent).as_posix()
    except ValueError:
        return path.as_posix()


def generate(spec: SweepSpec) -> tuple[list[Point], int]:
    """All points of ``spec`` in generation order, and how many combinations the constraints excluded.
    UsageError/TargetError (exit 2) for a bad sweep file or a target that does not load."""
    from cnncc import __version__
    from cnncc.report import sha256_file
    from cnncc.target import load_target

    bases = {cfg.title: load_target(cfg.name, list(cfg.overrides)) for cfg in spec.targets}
    check_names(spec, bases)
    shas = {m: sha256_file(m) for m in spec.models}
    axis_names = {a.name for a in spec.axes}
    resolved: dict[tuple, tuple[Any, str, tuple[str, int] | None]] = {}
    points: list[Point] = []
    excluded = 0
    for model in spec.models:
        mid = _model_id(spec, model)
        for cfg in spec.targets:
            base = bases[cfg.title]
            for tpl in spec.pipelines:
                holes = spec.placeholders(tpl)
                axes = [a for a in spec.axes if a.name in holes or a.name.split(".")[0] in base.params]
                vacuous = axis_names - {a.name for a in axes}
                taken = 0
                for combo in _combos(axes, spec, f"{cfg.title}:{tpl}"):
                    if spec.samples is not None and taken >= spec.samples:
                        break
                    values = dict(zip((a.name for a in axes), combo))
                    text = _fill(tpl, values) if tpl is not None else None
                    env = {**values, "model": model.stem, "target": base.name, "pipeline": text or ""}
                    if not all(c.holds(env, vacuous) for c in spec.constraints):
                        excluded += 1
                        continue
                    taken += 1
                    ov = tuple(cfg.overrides) + tuple((a.name, values[a.name]) for a in axes
                                                      if a.name not in holes)
                    rkey = (cfg.title, ov, text)
                    if rkey not in resolved:
                        resolved[rkey] = _resolve(cfg, ov, text, load_target)
                    target, pipeline, err = resolved[rkey]
                    parts: dict[str, Any] = {"model_sha256": shas[model], "pipeline": pipeline,
                                             "cnncc_version": __version__, "input_shapes": dict(spec.input_shapes)}
                    if err is None:
                        parts["target"] = target.to_dict()
                    else:
                        parts["target"] = {"name": cfg.name, "overrides": [list(x) for x in ov]}
                    points.append(Point(len(points), mid, model, shas[model], cfg,
                                        target.backend if target is not None else base.backend,
                                        tuple(values.items()), ov, pipeline, point_key(**parts), err, target))
                    if len(points) > MAX_POINTS:
                        raise UsageError(f"{spec.path}: more than {MAX_POINTS:,} points")
    return points, excluded


def _resolve(cfg: TargetConfig, ov: tuple, text: str | None, load_target) -> tuple[Any, str, tuple[str, int] | None]:
    """(Target or None, canonical pipeline text, error) of one configuration."""
    from cnncc.pipeline import parse_pipeline

    try:
        target = load_target(cfg.name, list(ov))
    except CnnccError as e:
        return None, text or "", (e.message, e.exit_code)
    raw = target.default_pipeline if text is None else text
    try:
        return target, str(parse_pipeline(raw)) if raw else "", None
    except CnnccError as e:
        return target, raw, (e.message, e.exit_code)

"""The sweep file (TOML, ``schema_version = 1``), schema-checked: unknown keys are refused with a did-you-mean.

::

    schema_version = 1
    name = "u65-what-if"                          # optional (default: the file's stem)
    models = ["models/*.onnx", "extra/net.onnx"]  # paths or globs, relative to this file
    targets = ["ethos-u65-256",                   # shipped name, TOML path, NAME@key=value@...,
               { name = "offload", set = { z3_certify = false } }]   # or a table with typed values
    pipelines = ["fold-bn,fuse-act",              # optional (default: each target's default pipeline);
                 "fold-bn,fuse-act,abconv{groups={g}}"]   # {axis} placeholders make pass options axes
    objectives = ["latency_ms", "peak_sram_bytes"]  # totals fields, minimised; "max:inferences_per_s"
    sampling = "grid"                             # or "random": `samples` configurations per target and
    samples = 50                                  # pipeline, drawn with `seed` (the same for every model)
    seed = 0
    constraints = ["arena_cache_size_bytes <= 524288"]   # see cnncc.sweep.constraints
    input_shapes = { input = "1x3x32x32" }        # optional: fix symbolic input shapes

    [axes]                                        # see cnncc.sweep.axes
    system = ["Ethos_U65_High_End", "Ethos_U65_Client_Server"]
    arena_cache_size_bytes = { log_range = [65536, 1048576], factor = 4 }
    g = [2, 4]

    [budgets.realtime]                            # budgets are filters: the best point meeting them
    latency_ms = 0.5                              # an upper limit on a totals field (ms, cycles, energy_uj,
    peak_sram_bytes = { max = 262144 }            # sram_bytes are accepted as in --budget-*); {min = x} too
    best = "peak_sram_bytes"                      # optional: the objective that ranks (default: the first)

    [execution]                                   # optional; the command line wins
    jobs = 4
    scheduler = "tcp://scheduler:8786"            # run on a Dask cluster

An axis applies to every target that has the key (its top-level name) and to every pipeline whose text holds
its ``{placeholder}``; an axis that applies nowhere is refused with the closest known key.
"""

from __future__ import annotations

import glob
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnncc.errors import UsageError
from cnncc.sweep.axes import Axis, parse_axis
from cnncc.sweep.configs import TargetConfig, label_of, parse_config
from cnncc.sweep.constraints import Constraint

SCHEMA_VERSION = 1
TOP_KEYS = ("schema_version", "name", "description", "models", "targets", "pipelines", "axes", "sampling",
            "samples", "seed", "constraints", "objectives", "budgets", "input_shapes", "execution")
EXECUTION_KEYS = ("jobs", "scheduler")
TARGET_KEYS = ("name", "set", "label")
#: short names accepted for totals fields (the ``--budget-*`` names among them)
ALIASES = {"ms": "latency_ms", "latency": "latency_ms", "energy": "energy_uj", "sram": "peak_sram_bytes",
           "sram_bytes": "peak_sram_bytes"}
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Objective:
    """A totals field to minimise (``goal="min"``) or maximise (``"max"``)."""

    field: str
    goal: str = "min"

    @property
    def label(self) -> str:
        return self.field if self.goal == "min" else f"max:{self.field}"


@dataclass(frozen=True)
class Budget:
    """A named filter: ``limits`` are (totals field, lower bound or None, upper bound or None); ``best`` ranks
    the points that pass."""

    name: str
    limits: tuple[tuple[str, float | None, float | None], ...]
    best: Objective

    def passes(self, totals: dict) -> bool:
        for f, lo, hi in self.limits:
            v = totals.get(f)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                return False
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                return False
        return True


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep file. Paths are resolved against the file's folder; ``models`` in declaration order
    (each glob sorted)."""

    path: Path
    name: str
    description: str
    models: tuple[Path, ...]
    targets: tuple[TargetConfig, ...]
    pipelines: tuple[str | None, ...]
    axes: tuple[Axis, ...]
    sampling: str
    samples: int | None
    seed: int
    constraints: tuple[Constraint, ...]
    objectives: tuple[Objective, ...]
    budgets: tuple[Budget, ...]
    input_shapes: tuple[tuple[str, str], ...]
    jobs: int | None
    scheduler: str | None

    def placeholders(self, pipeline: str | None) -> set[str]:
        return set(PLACEHOLDER.findall(pipeline or ""))


def _where(path: Path, key: str) -> str:
    return f"{path}: {key}"


def _check_keys(path: Path, table: dict, allowed: tuple[str, ...], where: str) -> None:
    from cnncc.suggest import did_you_mean

    for k in table:
        if k not in allowed:
            raise UsageError(f"{path}: unknown key {k!r} in {where}{did_you_mean(k, allowed)}; allowed: "
                             f"{', '.join(allowed)}")


def _str_list(path: Path, data: dict, key: str, required: bool = False) -> list:
    v = data.get(key)
    if v is None:
        if required:
            raise UsageError(f"{path}: {key} is required (a list)")
        return []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or (required and not v):
        raise UsageError(f"{_where(path, key)} must be a non-empty list, got {v!r}")
    return v


def _int(path: Path, data: dict, key: str, default: int | None, lo: int) -> int | None:
    v = data.get(key, default)
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < lo):
        raise UsageError(f"{_where(path, key)} must be an integer >= {lo}, got {v!r}")
    return v


def _models(path: Path, entries: list) -> tuple[Path, ...]:
    out: list[Path] = []
    for e in entries:
        if not isinstance(e, str) or not e:
            raise UsageError(f"{path}: models entries must be paths or globs, got {e!r}")
        pattern = e if Path(e).is_absolute() else str(path.parent / e)
        if glob.has_magic(e):
            found = sorted(Path(p) for p in glob.glob(pattern) if Path(p).is_file())
            if not found:
                raise UsageError(f"{path}: models glob {e!r} matches no file")
        else:
            found = [Path(pattern)]
            if not found[0].is_file():
                raise UsageError(f"{path}: model {e!r} not found (or not a regular file)")
        out.extend(p for p in found if p not in out)
    return tuple(out)


def _targets(path: Path, entries: list) -> tuple[TargetConfig, ...]:
    out: list[TargetConfig] = []
    for e in entries:
        if isinstance(e, str):
            cfg = parse_config(e)
        elif isinstance(e, dict):
            _check_keys(path, e, TARGET_KEYS, "a targets table")
            if not isinstance(e.get("name"), str) or not e["name"]:
                raise UsageError(f"{path}: a targets table needs name = \"<target>\"")
            sets = e.get("set", {})
            if not isinstance(sets, dict):
                raise UsageError(f"{path}: targets set must be a table of key = value")
            ov = tuple((k, _flat_value(v)) for k, v in _flatten(sets))
            label = e.get("label", label_of(e["name"], ov))
            if not isinstance(label, str) or not label:
                raise UsageError(f"{path}: targets label must be a non-empty string")
            cfg = TargetConfig(e["name"], ov, label)
        else:
            raise UsageError(f"{path}: targets entries are names, NAME@key=value strings or tables, got {e!r}")
        if not Path(cfg.name).is_absolute() and (cfg.name.endswith(".toml") or "/" in cfg.name):
            cfg = TargetConfig(str(path.parent / cfg.name), cfg.overrides, cfg.label)
        if any(c.title == cfg.title for c in out):
            raise UsageError(f"{path}: target {cfg.title!r} is listed twice")
        out.append(cfg)
    return tuple(out)


def _flatten(table: dict, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in table.items():
        if isinstance(v, dict):
            out.extend(_flatten(v, f"{prefix}{k}."))
        else:
            out.append((f"{prefix}{k}", v))
    return out


def _flat_value(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _objective(path: Path, text: Any) -> Objective:
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{path}: objectives entries are totals field names, got {text!r}")
    goal, _, field = text.strip().rpartition(":")
    goal = goal or "min"
    if goal not in ("min", "max") or not field:
        raise UsageError(f"{path}: objective {text!r}: write FIELD, min:FIELD or max:FIELD")
    return Objective(ALIASES.get(field, field), goal)


def _budgets(path: Path, table: Any, objectives: tuple[Objective, ...]) -> tuple[Budget, ...]:
    if not isinstance(table, dict):
        raise UsageError(f"{path}: budgets must be a table of [budgets.NAME] tables")
    out = []
    for name, body in table.items():
        if not isinstance(body, dict):
            raise UsageError(f"{path}: budgets.{name} must be a table of field = limit")
        limits: list[tuple[str, float | None, float | None]] = []
        best = objectives[0]
        for k, v in body.items():
            if k == "best":
                best = _objective(path, v)
                continue
            f = str(ALIASES.get(k, k))
            lo = hi = None
            if isinstance(v, dict):
                _check_keys(path, v, ("min", "max"), f"budgets.{name}.{k}")
                lo, hi = v.get("min"), v.get("max")
            else:
                hi = v
            for b in (lo, hi):
                if b is not None and (not isinstance(b, (int, float)) or isinstance(b, bool)
                                      or not math.isfinite(b)):
                    raise UsageError(f"{path}: budgets.{name}.{k}: limits must be numbers, got {b!r}")
            if lo is None and hi is None:
                raise UsageError(f"{path}: budgets.{name}.{k}: give a limit")
            limits.append((f, lo, hi))
        if not limits:
            raise UsageError(f"{path}: budgets.{name} sets no limit")
        out.append(Budget(name, tuple(sorted(limits, key=lambda x: x[0])), best))
    return tuple(out)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file. UsageError (exit 2) names what is wrong."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{p}: no such sweep file") from None
    except IsADirectoryError:
        raise UsageError(f"{p}: is a folder, not a sweep file") from None
    except OSError as e:
        raise UsageError(f"{p}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{p}: invalid TOML: {e}") from None
    _check_keys(p, data, TOP_KEYS, "the sweep file")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{p}: schema_version must be {SCHEMA_VERSION}, got {data.get('schema_version')!r}")
    for k in ("name", "description"):
        if k in data and not isinstance(data[k], str):
            raise UsageError(f"{_where(p, k)} must be a string")
    pipelines = _str_list(p, data, "pipelines") or [None]
    if not all(x is None or isinstance(x, str) for x in pipelines):
        raise UsageError(f"{p}: pipelines entries must be strings")
    axes_t = data.get("axes", {})
    if not isinstance(axes_t, dict):
        raise UsageError(f"{p}: [axes] must be a table")
    axes = tuple(parse_axis(k, v) for k, v in axes_t.items())
    sampling = data.get("sampling", "grid")
    if sampling not in ("grid", "random"):
        raise UsageError(f"{p}: sampling must be 'grid' or 'random', got {sampling!r}")
    samples = _int(p, data, "samples", None, 1)
    if sampling == "random" and samples is None:
        raise UsageError(f"{p}: sampling = 'random' needs samples = N")
    if sampling == "grid" and samples is not None:
        raise UsageError(f"{p}: samples goes with sampling = 'random'")
    objectives = tuple(_objective(p, o) for o in _str_list(p, data, "objectives") or ["latency_ms"])
    if len({o.field for o in objectives}) != len(objectives):
        raise UsageError(f"{p}: an objective is listed twice")
    shapes = data.get("input_shapes", {})
    if not isinstance(shapes, dict) or not all(isinstance(v, str) for v in shapes.values()):
        raise UsageError(f"{p}: input_shapes must be a table of input = \"1x3x224x224\"")
    ex = data.get("execution", {})
    if not isinstance(ex, dict):
        raise UsageError(f"{p}: [execution] must be a table")
    _check_keys(p, ex, EXECUTION_KEYS, "[execution]")
    sched = ex.get("scheduler")
    if sched is not None and (not isinstance(sched, str) or not sched):
        raise UsageError(f"{p}: execution.scheduler must be an address such as tcp://host:8786")
    return SweepSpec(
        path=p, name=str(data.get("name", p.stem)), description=str(data.get("description", "")),
        models=_models(p, _str_list(p, data, "models", required=True)),
        targets=_targets(p, _str_list(p, data, "targets", required=True)),
        pipelines=tuple(pipelines), axes=axes, sampling=sampling, samples=samples,
        seed=_int(p, data, "seed", 0, 0) or 0,
        constraints=tuple(Constraint.parse(c) for c in _str_list(p, data, "constraints")),
        objectives=objectives, budgets=_budgets(p, data.get("budgets", {}), objectives),
        input_shapes=tuple(sorted(shapes.items())), jobs=_int(p, ex, "jobs", None, 1), scheduler=sched)

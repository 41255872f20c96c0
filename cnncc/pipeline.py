"""The pass manager: pipeline strings, their canonical printing, and running passes with verification.

A pipeline string is ``name{key=value key2=v1,v2},name2``: passes separated by commas, options in braces
separated by spaces, option names spelt with dashes (the pass dataclass field with underscores), list values
comma-separated, ``auto`` for "choose automatically". ``str(parse_pipeline(s)) == s`` for canonical ``s``:
options are printed in declaration order, only those given explicitly.
"""

from __future__ import annotations

import sys
import time
import typing
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field, fields
from types import NoneType, UnionType
from typing import Any

from cnncc.errors import IRVerifyError, PipelineError

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


# ------------------------------------------------------------------------------------------- option values
def option_kind(tp) -> str:
    """The option value kind of a field annotation: int, float, bool, str, int?, names."""
    if tp in (int, float, bool, str):
        return tp.__name__
    args = typing.get_args(tp)
    if (typing.get_origin(tp) in (UnionType, typing.Union)) and set(args) == {int, NoneType}:
        return "int?"
    if typing.get_origin(tp) is tuple and args[:1] == (str,):
        return "names"
    raise TypeError(f"unsupported pass option type {tp!r}")  # a bug in a pass declaration


def format_value(kind: str, v: Any) -> str:
    """Canonical text of an option value."""
    if v is None:
        return "auto"
    if kind == "bool":
        return "true" if v else "false"
    if kind == "float":
        return repr(float(v))
    if kind == "names":
        return ",".join(v)
    return str(v)


def parse_value(pass_name: str, key: str, kind: str, text: str, choices: tuple[str, ...] | None) -> Any:
    def bad(expected: str):
        raise PipelineError(f"pass {pass_name!r}: option {key}={text!r}: expected {expected}")

    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        bad("true or false")
    if kind in ("int", "int?"):
        if kind == "int?" and text == "auto":
            return None
        try:
            v = int(text.replace("_", ""))
        except ValueError:
            bad("an integer" + (" or auto" if kind == "int?" else ""))
        if v < 0:
            bad("a non-negative integer")
        return v
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            bad("a number")
    if kind == "names":
        names = tuple(x.strip() for x in text.split(","))
        if not all(names):
            bad("a comma-separated list of names")
        return names
    if choices and text not in choices:
        bad("one of " + ", ".join(choices))
    if not text:
        bad("a value")
    return text


def pass_options(cls) -> list[tuple[str, str, str, Any]]:
    """(option name with dashes, field name, kind, default) for every option of a pass class."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):
        default = f.default if f.default is not MISSING else (
            f.default_factory() if f.default_factory is not MISSING else None)
        out.append((f.name.replace("_", "-"), f.name, option_kind(hints[f.name]), default))
    return out


# ------------------------------------------------------------------------------------------- pipeline model
@dataclass(frozen=True)
class PassEntry:
    """One pass in a pipeline: its registered name, the configured pass object and the options given."""

    name: str
    pass_: Any
    explicit: tuple[str, ...] = ()   # field names given in the text, in declaration order

    def __str__(self) -> str:
        if not self.explicit:
            return self.name
        kinds = {fname: kind for _, fname, kind, _ in pass_options(type(self.pass_))}
        opts = " ".join(f"{k.replace('_', '-')}={format_value(kinds[k], getattr(self.pass_, k))}"
                        for k in self.explicit)
        return f"{self.name}{{{opts}}}"


@dataclass(frozen=True)
class Pipeline:
    """An ordered list of configured passes; ``str()`` gives the canonical pipeline string."""

    entries: tuple[PassEntry, ...] = ()

    @property
    def passes(self) -> list[Any]:
        return [e.pass_ for e in self.entries]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def __str__(self) -> str:
        return ",".join(str(e) for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @staticmethod
    def of(*passes) -> Pipeline:
        """A pipeline of pass objects; options that differ from their defaults count as given."""
        entries = []
        for p in passes:
            explicit = tuple(fname for _, fname, _, d in pass_options(type(p)) if getattr(p, fname) != d)
            entries.append(PassEntry(p.NAME, p, explicit))
        return Pipeline(tuple(entries))


def _split_top(text: str) -> list[str]:
    """Split on commas outside braces."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
            if depth > 1:
                raise PipelineError(f"nested '{{' in pipeline {text!r}")
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise PipelineError(f"unbalanced '}}' in pipeline {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise PipelineError(f"unclosed '{{' in pipeline {text!r}")
    parts.append("".join(cur))
    return parts


def make_pass(name: str, options: dict[str, str] | None = None) -> PassEntry:
    """Configure the pass ``name`` from option texts (dashed names). Raises PipelineError."""
    from cnncc.passes import get, names

    cls = get(name)
    if cls is None:
        from cnncc.suggest import did_you_mean

        raise PipelineError(f"unknown pass {name!r}{did_you_mean(name, names())}; valid passes: "
                            f"{', '.join(sorted(names()))}")
    opts = {o[0]: o for o in pass_options(cls)}
    given: dict[str, Any] = {}
    for key, text in (options or {}).items():
        if key not in opts:
            from cnncc.suggest import did_you_mean

            valid = ", ".join(opts) or "(none)"
            raise PipelineError(f"pass {name!r} has no option {key!r}{did_you_mean(key, opts)}; valid options: "
                                f"{valid}")
        _, fname, kind, _ = opts[key]
        given[fname] = parse_value(name, key, kind, text, cls.CHOICES.get(fname))
    p = cls(**given)
    p.validate()
    order = [o[1] for o in opts.values()]
    return PassEntry(name, p, tuple(f for f in order if f in given))


def parse_pipeline(text: str) -> Pipeline:
    """Parse a pipeline string. Raises PipelineError naming the valid passes/options on a mistake."""
    text = text.strip()
    if not text:
        return Pipeline()
    entries = []
    for part in _split_top(text):
        part = part.strip()
        if not part:
            raise PipelineError(f"empty pass name in pipeline {text!r}")
        if "{" in part:
            if not part.endswith("}"):
                raise PipelineError(f"text after '}}' in {part!r}")
            name, body = part[:-1].split("{", 1)
            name = name.strip()
            options: dict[str, str] = {}
            for item in body.split():
                if "=" not in item:
                    raise PipelineError(f"pass {name!r}: option {item!r} must be key=value")
                k, v = item.split("=", 1)
                if k in options:
                    raise PipelineError(f"pass {name!r}: option {k!r} given twice")
                options[k] = v
        else:
            name, options = part, {}
        entries.append(make_pass(name, options))
    return Pipeline(tuple(entries))


# ------------------------------------------------------------------------------------------- running
@dataclass
class PipelineResult:
    """The rewritten graph and what the passes reported. ``times_s`` is wall-clock (keep out of stable
    JSON: name keys ``*_time_s`` when copying it into a report)."""

    graph: Any
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    times_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict)


def _stderr(msg: str) -> None:
    sys.stderr.write(msg if msg.endswith("\n") else msg + "\n")


def run_pipeline(graph, pipeline: Pipeline | str, *, target=None,
                 print_ir_after: None | str | Iterable[str] = None, time_passes: bool = False,
                 log: Callable[[str], None] | None = None) -> PipelineResult:
    """Run every pass of ``pipeline`` on ``graph``, verifying the graph after each.

    ``print_ir_after``: None, ``"all"`` or pass names whose output IR is written to ``log`` (default
    stderr); ``time_passes`` logs seconds per pass. An IRVerifyError after a pass is a bug in that pass and
    is re-raised as a plain RuntimeError naming it (the CLI reports it as internal, exit 70)."""
    from cnncc.passes import names
    from cnncc.passes.base import PassContext

    if isinstance(pipeline, str):
        pipeline = parse_pipeline(pipeline)
    log = log or _stderr
    if print_ir_after is None:
        wanted: set[str] = set()
    elif print_ir_after == "all":
        wanted = set(pipeline.names)
    else:
        wanted = {print_ir_after} if isinstance(print_ir_after, str) else set(print_ir_after)
        unknown = wanted - set(names())
        if unknown:
            raise PipelineError(f"--print-ir-after: unknown pass(es) {', '.join(sorted(unknown))}; "
                                f"valid passes: {', '.join(sorted(names()))}")
    res = PipelineResult(graph)
    for entry in pipeline.entries:
        ctx = PassContext(target=target)
        t0 = time.perf_counter()
        g = entry.pass_.run(res.graph, ctx)
        dt = time.perf_counter() - t0
        try:
            g.verify()
        except IRVerifyError as e:  # pragma: no cover - a pass bug
            raise RuntimeError(f"internal error: graph invalid after pass {entry.name!r}: {e}") from e
        res.graph = g
        counters = res.counters.setdefault(entry.name, {})
        for k, v in ctx.counters.items():
            counters[k] = counters.get(k, 0) + v
        res.times_s[entry.name] = res.times_s.get(entry.name, 0.0) + dt
        res.notes.extend(n for n in ctx.notes if n not in res.notes)
        for k, v in ctx.sections.items():
            if isinstance(v, list) and isinstance(res.sections.get(k), list):
                res.sections[k] = res.sections[k] + v
            else:
                res.sections[k] = v
        if entry.name in wanted:
            log(f"// ----- IR after {entry} -----\n{g.dump()}")
    if time_passes:
        lines = [f"{name:<20} {t * 1000:10.3f} ms" for name, t in res.times_s.items()]
        lines.append(f"{'total':<20} {sum(res.times_s.values()) * 1000:10.3f} ms")
        log("// ----- pass timing -----\n" + "\n".join(lines))
    return res

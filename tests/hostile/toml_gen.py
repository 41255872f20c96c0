"""A small TOML writer for generated values (hypothesis strategies write adversarial TOML documents with it)."""

from __future__ import annotations

import math

from hypothesis import strategies as st


def value(v) -> str:
    """One TOML value: strings (escaped), integers, floats incl. nan/inf, booleans, arrays, inline tables."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in v) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "_-" for c in k) and k.isascii() else value(k)


def document(top: dict, tables: dict[str, list[dict]] | None = None, single: dict[str, dict] | None = None) -> str:
    """Top-level ``key = value`` lines, then ``[[name]]`` arrays of tables and ``[name]`` tables."""
    lines = [f"{key(k)} = {value(v)}" for k, v in top.items()]
    for name, entries in (tables or {}).items():
        for e in entries:
            lines.append(f"\n[[{name}]]")
            lines += [f"{key(k)} = {value(v)}" for k, v in e.items()]
    for name, table in (single or {}).items():
        lines.append(f"\n[{name}]")
        lines += [f"{key(k)} = {value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


scalars = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(min_size=1, max_size=6), inner,
                                                                       max_size=3)), max_leaves=6)

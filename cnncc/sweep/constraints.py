"""Sweep constraints: small boolean expressions over a point's axis values, checked before it is compiled.

``constraints = ["arena_cache_size_bytes <= 262144", "target != 'offload' or model == 'cgra_baseline'"]``

Names are the axis names of the sweep (``systems.X.core_clock_hz`` style dotted names work too), plus
``model`` (the model file's stem), ``target`` (the target's name) and ``pipeline`` (the pipeline text). A
constraint that reads an axis which does not apply to a point (a key its target does not have) holds there.
Allowed: numbers, strings, ``True``/``False``/``None``, lists, ``+ - * / // % **``, comparisons (chained
too), ``in``/``not in``, ``and``/``or``/``not``, ``x if c else y`` and the functions ``min``, ``max``, ``abs``,
``len``. Nothing else is evaluated (no attribute access, no calls of other functions), so a sweep file cannot run code.
A point is kept when every constraint is true.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnncc.errors import UsageError

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
        ast.NotIn: lambda a, b: a not in b}
_FUNCS = {"min": min, "max": max, "abs": abs, "len": len}
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


class _Eval:
    def __init__(self, text: str, env: Mapping[str, Any]):
        self.text, self.env = text, env

    def __call__(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.env:
                from cnncc.suggest import did_you_mean

                known = sorted(k.replace("__dot__", ".") for k in self.env)
                name = node.id.replace("__dot__", ".")
                raise UsageError(f"constraint {self.text!r}: unknown name {name!r}{did_you_mean(name, known)}; "
                                 f"names: {', '.join(known)}")
            return self.env[node.id]
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self(e) for e in node.elts]
        if isinstance(node, ast.BoolOp):
            vals = (self(v) for v in node.values)
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
            v = self(node.operand)
            return (not v) if isinstance(node.op, ast.Not) else (-v if isinstance(node.op, ast.USub) else +v)
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            return _BIN[type(node.op)](self(node.left), self(node.right))
        if isinstance(node, ast.Compare):
            left = self(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = self(right_node)
                if type(op) not in _CMP or not _CMP[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self(node.body) if self(node.test) else self(node.orelse)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS \
                and not node.keywords:
            fn: Any = _FUNCS[node.func.id]
            return fn(*(self(a) for a in node.args))
        raise UsageError(f"constraint {self.text!r}: {type(node).__name__} is not allowed in a constraint")


_NODES = (ast.Expression, ast.Name, ast.Load, ast.List, ast.Tuple, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp,
          ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Compare, ast.IfExp, *_BIN, *_CMP)


def _allowed(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, str, bool, type(None)))
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords
    return isinstance(node, _NODES)


@dataclass(frozen=True)
class Constraint:
    """One constraint: its text and its parsed (checked) expression. Dotted names are rewritten to
    identifiers before parsing (``a.b`` -> ``a__dot__b``)."""

    text: str
    tree: Any

    @classmethod
    def parse(cls, text: str) -> Constraint:
        if not isinstance(text, str) or not text.strip():
            raise UsageError(f"a constraint must be a non-empty string, got {text!r}")
        try:
            tree = ast.parse(_DOTTED.sub(lambda m: m.group(0).replace(".", "__dot__"), text.strip()),
                             mode="eval")
        except SyntaxError as e:
            raise UsageError(f"constraint {text!r}: invalid expression ({e.msg})") from None
        for node in ast.walk(tree):
            if not _allowed(node):
                what = f"calling {ast.unparse(node.func)!r}" if isinstance(node, ast.Call) else type(node).__name__
                raise UsageError(f"constraint {text!r}: {what} is not allowed in a constraint (allowed: "
                                 f"arithmetic, comparisons, and/or/not, if-else, {', '.join(_FUNCS)})")
        return cls(text, tree)

    def names(self) -> set[str]:
        """The names the expression reads (dotted names restored)."""
        return {n.id.replace("__dot__", ".") for n in ast.walk(self.tree) if isinstance(n, ast.Name)
                and n.id not in _FUNCS}

    def holds(self, env: Mapping[str, Any], vacuous: set[str] | frozenset[str] = frozenset()) -> bool:
        """True when the constraint holds for ``env`` (name -> value), or when it reads one of the names in
        ``vacuous`` (axes that do not apply to this point). UsageError on an unknown name or an operation on
        incompatible values (e.g. ``'a' < 3``)."""
        if vacuous and self.names() & set(vacuous):
            return True
        flat = {k.replace(".", "__dot__"): v for k, v in env.items()}
        try:
            return bool(_Eval(self.text, flat)(self.tree))
        except UsageError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as e:
            raise UsageError(f"constraint {self.text!r}: {e} (values: "
                             f"{', '.join(f'{k}={v!r}' for k, v in sorted(env.items()))})") from None

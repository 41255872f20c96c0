"""The base of the IR op records: the registry, :class:`Op` and the activations (see :mod:`cnncc.ir.ops`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

from cnncc.errors import InvalidModelError
from cnncc.ir.loopnest import LoopNest
from cnncc.ir.types import TensorType

OPS: dict[str, type[Op]] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names


def register(cls):
    OPS[cls.kind] = cls
    return cls


def _fail(msg: str):
    raise InvalidModelError(msg)


@dataclass(frozen=True, eq=False, repr=False)
class Op:
    """Base of all attribute records."""

    kind: ClassVar[str] = "?"

    # Equality, hash and repr over the fields, written once here instead of generated per record class
    # (``eq=False, repr=False`` on every op): the ~40 records import ~3x faster (process start-up).
    def _values(self) -> tuple:
        return tuple(getattr(self, n) for n in _field_names(type(self)))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in _field_names(type(self)))
        return f"{type(self).__qualname__}({args})"

    def infer(self, ins: list[TensorType]) -> list[TensorType]:
        raise NotImplementedError(f"{type(self).__name__}.infer")  # every registered op overrides it

    def loop_nest(self, ins: list[TensorType], outs: list[TensorType], is_weight: tuple[bool, ...]
                  ) -> LoopNest | None:
        """The op's (K, C, OY, OX, FY, FX, groups) loop nest from its input and output types (``is_weight``:
        which inputs are weights), or None for ops without one. The one place that says what an op computes as
        loops: MACs, intensities, tiling, the cost models and the z3 scheduler all read it."""
        del ins, outs, is_weight
        return None

    def attrs(self) -> dict:
        """Attributes as a plain dict (field name -> value), in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def attrs_text(self) -> str:
        parts = []
        for k, v in self.attrs().items():
            if isinstance(v, Op):
                v = v.kind + (f"<{v.attrs_text()}>" if v.attrs() else "")
            elif isinstance(v, tuple):
                v = "(" + ",".join(str(x) for x in v) + ")"
            elif isinstance(v, float):
                v = f"{v:g}"
            parts.append(f"{k}={v}")
        return " ".join(parts)


# ---------------------------------------------------------------------------------------------- activations
@dataclass(frozen=True, eq=False, repr=False)
class Activation(Op):
    """Element-wise unary function; can stand alone or be fused into a producing layer (``act=``)."""

    def infer(self, ins):
        return [ins[0]]


@register
@dataclass(frozen=True, eq=False, repr=False)
class Relu(Activation):
    kind: ClassVar[str] = "Relu"


@register
@dataclass(frozen=True, eq=False, repr=False)
class Clip(Activation):
    kind: ClassVar[str] = "Clip"
    lo: float = -math.inf
    hi: float = math.inf


@register
@dataclass(frozen=True, eq=False, repr=False)
class Sigmoid(Activation):
    kind: ClassVar[str] = "Sigmoid"


@register
@dataclass(frozen=True, eq=False, repr=False)
class Tanh(Activation):
    kind: ClassVar[str] = "Tanh"


@register
@dataclass(frozen=True, eq=False, repr=False)
class HardSigmoid(Activation):
    kind: ClassVar[str] = "HardSigmoid"
    alpha: float = 0.2
    beta: float = 0.5


@register
@dataclass(frozen=True, eq=False, repr=False)
class HardSwish(Activation):
    kind: ClassVar[str] = "HardSwish"


@register
@dataclass(frozen=True, eq=False, repr=False)
class LeakyRelu(Activation):
    kind: ClassVar[str] = "LeakyRelu"
    alpha: float = 0.01


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dims = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0} - {1}
        if len(dims) > 1:
            _fail(f"shapes {shapes} do not broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)

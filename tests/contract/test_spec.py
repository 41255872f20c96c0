"""Typed target specs (cnncc/spec.py): keys, types, defaults and ranges come from the fields."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncc.errors import TargetError
from cnncc.spec import MAX_INT, FrozenMap, TargetSpec, param


@dataclass(frozen=True)
class Mem(TargetSpec):
    clock_scale: float = param(1.0, doc="memory clock / core clock", min=0.0, exclusive_min=True)
    burst_bytes: int = param(32, doc="burst length", unit="bytes", min=1)


@dataclass(frozen=True)
class Demo(TargetSpec):
    clock_hz: int = param(100_000_000, doc="core clock", unit="Hz", min=1)
    energy_pj: float = param(43.0, doc="access energy", unit="pJ", min=0.0)
    mappings: tuple[str, ...] = param(("a", "b"), doc="mappings", choices=("a", "b", "c"), nonempty=True)
    enabled: bool = param(True, doc="a flag")
    sram: Mem = param(Mem(), doc="nested record")
    systems: FrozenMap[str, Mem] = param(FrozenMap(), doc="named records")

    def validate(self) -> None:
        if self.clock_hz % 2:
            raise TargetError("params.clock_hz must be even")


def test_defaults_and_nested():
    s = Demo.from_params({"sram": {"burst_bytes": 64}, "systems": {"x": {"clock_scale": 0.5}}})
    assert s.clock_hz == 100_000_000 and s.sram.burst_bytes == 64 and s.sram.clock_scale == 1.0
    assert s.systems["x"].clock_scale == 0.5 and isinstance(s.mappings, tuple)
    assert Demo.from_params(s.to_params()) == s
    assert hash(Demo.from_params(s.to_params())) == hash(s)


@pytest.mark.parametrize("params,msg", [
    ({"clock_hz": True}, "must be int"),
    ({"clock_hz": "100"}, "must be int"),
    ({"clock_hz": 0}, ">= 1"),
    ({"clock_hz": 3}, "even"),
    ({"clock_hz": 2**60}, "too large"),
    ({"energy_pj": float("nan")}, "finite"),
    ({"energy_pj": float("inf")}, "finite"),
    ({"energy_pj": -1.0}, ">= 0"),
    ({"mappings": []}, "not be empty"),
    ({"mappings": ["z"]}, "not one of"),
    ({"mappings": "a"}, "list of str"),
    ({"sram": 5}, "table"),
    ({"sram": {"clock_scale": 0}}, "> 0"),
    ({"sram": {"burst": 1}}, "unknown target key"),
    ({"systems": {"x": {"clock_scale": -1}}}, "params.systems.x.clock_scale"),
    ({"clock_hzz": 2}, "did you mean 'clock_hz'"),
])
def test_refused(params, msg):
    with pytest.raises(TargetError, match=msg.replace("(", r"\(")):
        Demo.from_params(params)


def test_int_accepted_for_float_not_bool():
    assert Demo.from_params({"energy_pj": 5}).energy_pj == 5.0
    with pytest.raises(TargetError):
        Demo.from_params({"energy_pj": False})


def test_describe_lists_nested_keys():
    s = Demo.from_params({"systems": {"hi": {"burst_bytes": 8}}})
    rows = {r["key"]: r for r in s.describe()}
    assert rows["clock_hz"]["unit"] == "Hz" and rows["clock_hz"]["type"] == "int"
    assert rows["sram.burst_bytes"]["value"] == 32
    assert rows["systems.hi.burst_bytes"]["value"] == 8
    assert rows["mappings"]["type"] == "list of str"


def test_replace_checks():
    s = Demo()
    assert s.replace(clock_hz=10).clock_hz == 10
    with pytest.raises(TargetError):
        s.replace(clock_hz=-2)
    with pytest.raises(TargetError):
        s.replace(nope=1)


_values = st.one_of(st.integers(-2**62, 2**62), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.text(max_size=3), st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=3))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["clock_hz", "energy_pj", "mappings", "enabled", "bogus"]), _values,
                       max_size=4))
def test_any_params_accepted_and_round_trip_or_refused(params):
    """Whatever a TOML table holds: either a valid spec that round-trips, or one TargetError (nothing else)."""
    try:
        s = Demo.from_params(params)
    except TargetError:
        return
    assert 1 <= s.clock_hz <= MAX_INT and s.clock_hz % 2 == 0
    assert math.isfinite(s.energy_pj) and s.energy_pj >= 0
    assert s.mappings and set(s.mappings) <= {"a", "b", "c"}
    assert Demo.from_params(s.to_params()) == s

"""Hand-written strategies, evaluated by the same simulator as the optimised ones (those with reuse by the
closed form of :mod:`regular`, which the tests check equal to the simulator on every regular strategy).

* ``no_reuse``: output-stationary tiles, but every step reloads all its tiles (no reuse between steps);
* ``output_stationary``: fixed tiles (up to 8x8 pixels x 16 channels), c innermost so outputs never spill;
* ``weight_stationary``: weight tiles (up to 16x16 channels) fixed while y, x run inside.
Tile sizes start at those caps (the largest tile size of the space below) and shrink until the strategy fits.
"""

from __future__ import annotations

from cnncc.backends.offload.formalism import Regular, Tiling
from cnncc.backends.offload.model import Accel
from cnncc.backends.offload.problem import DIMS, Problem
from cnncc.backends.offload.regular import fits

CAPS = {"no_reuse": (8, 8, 16, 64), "output_stationary": (8, 8, 16, 64), "weight_stationary": (4, 4, 16, 16)}
ORDER = {"no_reuse": ("y", "x", "k", "c"), "output_stationary": ("y", "x", "k", "c"),
         "weight_stationary": ("k", "c", "y", "x")}


def _largest(p: Problem, d: str, cap: int) -> int:
    return max(t for t in p.candidates(d) if t <= cap)


def hand(p: Problem, acc: Accel, name: str) -> Regular | None:
    """The hand strategy ``name`` shrunk until it fits, or None if even 1x1x1x1 tiles do not fit."""
    caps = dict(zip(DIMS, CAPS[name]))
    while True:
        t = {d: _largest(p, d, caps[d]) for d in DIMS}
        s = Regular(Tiling(t["y"], t["x"], t["k"], t["c"]), ORDER[name], frozenset(), reuse=name != "no_reuse")
        if fits(p, acc, s):
            return s
        big = [d for d in ("c", "k", "x", "y") if t[d] > 1]
        if not big:
            return None
        d = max(big, key=lambda d: t[d])
        caps[d] = t[d] - 1

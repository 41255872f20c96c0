"""The tile working-set bound is exact: for every axis the largest output extent and the largest clipped input
extent over *all* tiles equal what ``ConvGeom`` computes from its few sampled pieces (brute force here)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncc.ir import Graph, Layer
from cnncc.ir import ops as O
from cnncc.ir.types import tensor_type
from cnncc.passes.tiling import ConvGeom, spatial_chunks


def _geom(c, k, h, w, kernel, strides, dilations, pads, groups):
    import numpy as np

    wt = np.zeros((k, c // groups, *kernel), np.float32)
    g = Graph.build("t", {"x": tensor_type((1, c, h, w))}, ["y"],
                    [Layer("conv", O.Conv(kernel, strides, dilations, pads, groups), ("x", "w"), ("y",))], {"w": wt})
    return ConvGeom.of(g, g.layers[0], 4)


def _brute(geom: ConvGeom, t: int, axis: int) -> tuple[int, int]:
    valid, n = (geom.y_valid, geom.OY) if axis == 0 else (geom.x_valid, geom.OX)
    span = geom.rows if axis == 0 else geom.cols
    pieces = spatial_chunks(n, t, valid)
    return max(b - a for a, b in pieces), max(span(a, b)[1] - span(a, b)[0] for a, b in pieces)


def test_found_case_interior_piece_counted():
    """Found by hypothesis: c=4, k=2, h=4, w=7, kernel 4x7, pads (2,0,1,0), groups=2 with one output row per
    tile: the third row's window reads all 4 input rows (452 B), the sampled pieces saw at most 3 (396 B)."""
    geom = _geom(4, 2, 4, 7, (4, 7), (1, 1), (1, 1), (2, 0, 1, 0), 2)
    assert geom._axis_max(1, geom.y_valid, geom.OY, 0) == _brute(geom, 1, 0) == (1, 4)
    assert geom.working_set((1, 1, 1, 2)) == 452


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.integers(1, 9), st.integers(1, 4), st.integers(1, 3), st.integers(0, 12),
       st.integers(0, 12), st.integers(1, 40))
def test_axis_bound_is_the_max_over_all_tiles(size, f, s, d, p0, p1, t):
    ek = d * (f - 1) + 1
    if size + p0 + p1 < ek:
        return
    geom = _geom(1, 1, size, 3, (f, 1), (s, 1), (d, 1), (p0, 0, p1, 0), 1)
    if geom.y_valid is None:
        return
    t = min(t, geom.OY)
    assert geom._axis_max(t, geom.y_valid, geom.OY, 0) == _brute(geom, t, 0)


@pytest.mark.parametrize("sram", [396, 452, 460])
def test_found_case_tiles_fit(sram):
    """The tile pass on the found conv: every tile it makes fits the capacity, or it refuses with exit 3."""
    import numpy as np

    from cnncc.errors import CapacityError
    from cnncc.pipeline import run_pipeline

    wt = np.ones((2, 2, 4, 7), np.float32)
    g = Graph.build("t", {"x": tensor_type((1, 4, 4, 7))}, ["y"],
                    [Layer("conv", O.Conv((4, 7), pads=(2, 0, 1, 0), groups=2), ("x", "w"), ("y",))], {"w": wt})
    try:
        res = run_pipeline(g, f"tile{{sram-bytes={sram}}}")
    except CapacityError:
        assert sram < 452
        return
    convs = [la for la in res.graph.layers if isinstance(la.op, O.Conv)]
    assert convs and all(ConvGeom.of(res.graph, la, 4).working_set(ConvGeom.of(res.graph, la, 4).full()) <= sram
                         for la in convs)

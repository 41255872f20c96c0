"""Fixtures of the sweep tests: small models written once per session, and a sweep file builder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_models(tmp_path_factory, make_samples_module) -> dict[str, Path]:
    """Two of the sample models (cgra_baseline, small_residual_concat) and two tiny seeded nets (depthwise,
    residual)."""
    import onnx

    ms = make_samples_module
    out = tmp_path_factory.mktemp("sweep_models")
    paths = {p.stem: p for p in ms.write_all(out, names=("cgra_baseline", "small_residual_concat"))}
    b = ms.Builder("tiny_dw", (1, 8, 16, 16), seed=7)
    x = b.conv("input", 16, 3, 1, name="c1")
    x = b.conv(x, 16, 3, 1, groups=16, name="dw")
    x = b.conv(x, 32, 1, 1, name="pw")
    onnx.save(b.model(b.head(x, 10)), out / "tiny_dw.onnx")
    b = ms.Builder("tiny_res", (1, 8, 8, 8), seed=8)
    y = b.conv("input", 8, 3, 1, name="a")
    y = b.conv(y, 8, 3, 1, act=None, name="b")
    x = b.act(b.add(y, "input", name="add"), "relu", "relu")
    onnx.save(b.model(b.head(b.conv(x, 16, 1, 1, name="pw"), 10)), out / "tiny_res.onnx")
    paths.update(tiny_dw=out / "tiny_dw.onnx", tiny_res=out / "tiny_res.onnx")
    return paths

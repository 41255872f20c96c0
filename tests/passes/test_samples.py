"""Every sample model: im2col, tile and fold-bn,fuse-act preserve outputs (onnxruntime on the written ONNX vs
onnxruntime on the original, max relative error <= 1e-4)."""

from __future__ import annotations

import pytest
from pass_util import check_pipeline

MODELS = ["mobilenetv1_cifar100", "resnet50_cifar100", "mobilenetv2_224", "small_residual_concat",
          "cgra_baseline"]
PIPELINES = {
    "fold-bn,fuse-act": None,
    "im2col": "convs-lowered",
    "fold-bn,fuse-act,im2col{layout=hwc}": "convs-lowered",
    "tile{sram-bytes=65536}": "layers-tiled",
}


@pytest.mark.parametrize("pipeline", list(PIPELINES))
@pytest.mark.parametrize("model", MODELS)
def test_sample_exact(sample_models, tmp_path, model, pipeline):
    counter = PIPELINES[pipeline]
    if model == "cgra_baseline":     # its one layer fits 64 KiB: use a smaller memory so it is tiled
        pipeline = pipeline.replace("65536", "8192")
    cmp, res = check_pipeline(sample_models[model], pipeline, tmp_path)
    assert cmp["max_rel_err"] <= 1e-4
    if counter:
        name = pipeline.split(",")[-1].split("{")[0]   # the last pass's counter
        assert res.counters[name][counter] > 0, res.counters
    else:
        assert res.counters["fold-bn"]["bns-folded"] > 0 or model == "cgra_baseline"

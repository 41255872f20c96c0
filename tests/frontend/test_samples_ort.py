"""Every sample model: the interpreter matches onnxruntime and the MAC totals match an independent count."""

import pytest
from fe_util import check_against_ort, independent_macs, random_feeds

from cnncc.frontend.onnx import load_onnx

SAMPLES = ["mobilenetv1_cifar100", "resnet50_cifar100", "mobilenetv2_224", "small_residual_concat",
           "cgra_baseline"]


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_matches_onnxruntime(sample_models, name):
    g = check_against_ort(sample_models[name])
    assert g.layers, name


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_macs_match_independent_count(sample_models, name):
    g = load_onnx(sample_models[name])
    assert g.total_macs == independent_macs(sample_models[name], random_feeds(g))


def test_cgra_baseline_macs_exact(sample_models):
    # 16x16x16 input, 3x3 kernel, no padding, 16 outputs: 14*14 outputs * 16 * 16 * 9
    g = load_onnx(sample_models["cgra_baseline"])
    assert g.total_macs == 14 * 14 * 16 * 16 * 9 == 451584

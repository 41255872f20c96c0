"""The shared ``sample_models`` fixture writes every sample model once."""

import onnx


def test_sample_models_fixture(sample_models):
    assert set(sample_models) == {"mobilenetv1_cifar100", "resnet50_cifar100", "mobilenetv2_224",
                                  "small_residual_concat", "cgra_baseline"}
    for path in sample_models.values():
        onnx.checker.check_model(onnx.load(str(path), load_external_data=False))

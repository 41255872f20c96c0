"""The integer interpreter against LiteRT on TFLite models cnncc's writer makes from seeded float networks,
and on the real int8 models `make samples` fetches (samples/thirdparty/, skipped when absent).

Measured (LiteRT 2.3.0): bit-exact against LiteRT's reference kernels (BUILTIN_REF) on every output and every
intermediate tensor of every model here; against the default optimised kernels (XNNPACK) outputs differ by up to
4 LSB (bench/quant_models.py reports it per model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("ai_edge_litert")

from litert_ref import compare  # noqa: E402
from tfl_nets import NETS  # noqa: E402

import cnncc  # noqa: E402
from cnncc.frontend.tflite.writer import write_tflite  # noqa: E402

THIRDPARTY = Path(__file__).resolve().parents[2] / "samples" / "thirdparty"


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("net", sorted(NETS))
def test_writer_models_bit_exact_vs_litert_reference(tmp_path, net, seed):
    path = tmp_path / f"{net}{seed}.tflite"
    write_tflite(NETS[net](seed), path)
    agree = compare(path, "BUILTIN_REF", seed=seed)
    assert agree.compared >= 8
    assert agree.outputs_lsb == 0, agree
    assert agree.tensors_lsb == 0, agree


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concat_through_views_needs_no_requantisation(tmp_path, seed):
    """A Concat whose inputs come through RESHAPE / TRANSPOSE views: the views' sources are quantised over the
    Concat's range, so the file has no QUANTIZE (views keep their input's quantisation in TFLite)."""
    from tflite import BuiltinOperator
    from tflite.Model import Model

    path = tmp_path / f"cat{seed}.tflite"
    write_tflite(NETS["cat"](seed), path)
    m = Model.GetRootAsModel(path.read_bytes(), 0)
    sg = m.Subgraphs(0)
    codes = [max(m.OperatorCodes(sg.Operators(i).OpcodeIndex()).BuiltinCode(),
                 m.OperatorCodes(sg.Operators(i).OpcodeIndex()).DeprecatedBuiltinCode())
             for i in range(sg.OperatorsLength())]
    assert BuiltinOperator.CONCATENATION in codes
    assert BuiltinOperator.QUANTIZE not in codes


def _real_models() -> list[Path]:
    manifest = THIRDPARTY / "MANIFEST.json"
    if not manifest.is_file():
        return []
    return [THIRDPARTY / m["file"] for m in json.loads(manifest.read_text())["models"] if m["file"].endswith(".tflite")]


@pytest.mark.skipif(not _real_models(), reason="samples/thirdparty/ not fetched (run `make samples` online)")
@pytest.mark.parametrize("path", _real_models(), ids=lambda p: p.stem)
def test_real_models_bit_exact_vs_litert_reference(path):
    from cnncc.ir.quant import is_quantized

    agree = compare(path, "BUILTIN_REF")
    if is_quantized(cnncc.load(path)):
        assert agree.outputs_lsb == 0, agree
        assert agree.tensors_lsb == 0, agree
    else:  # float models: relative to each tensor's largest magnitude
        assert agree.tensors_lsb <= 1e-5, agree

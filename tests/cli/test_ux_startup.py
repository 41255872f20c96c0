"""Start-up: reading a model imports neither ``onnx`` (ml_dtypes) nor protobuf, and ``cnncc targets`` imports
neither numpy nor a backend; the onnx-free tensor conversion agrees with ``onnx.numpy_helper`` on seeded random
tensors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from cnncc.frontend.onnx import proto

DTYPES = [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64,
          np.uint32, np.uint64, np.bool_]


def _modules_after(code: str) -> set[str]:
    r = subprocess.run([sys.executable, "-c", code + "\nimport sys; sys.stderr.write('MODULES ' + "
                        "' '.join(sorted(sys.modules)))"], capture_output=True, text=True, check=True)
    return set(r.stderr.rsplit("MODULES ", 1)[1].split())


def test_loading_a_model_does_not_import_onnx(sample_models):
    path = str(sample_models["cgra_baseline"])
    mods = _modules_after(f"from cnncc.frontend.onnx import load_onnx; load_onnx({path!r})")
    assert "onnx" not in mods and "ml_dtypes" not in mods
    assert not any(m.startswith(("google.protobuf", "onnx.")) for m in mods)  # wire.py decodes it: no protobuf


def test_targets_command_imports_no_numpy_nor_backend():
    mods = _modules_after("from cnncc.cli import main\ntry:\n    main(['targets', '-f', 'json'])\n"
                          "except SystemExit:\n    pass")
    assert "numpy" not in mods
    assert not any(m.startswith("cnncc.backends.") and m.endswith((".backend", ".network", ".search"))
                   for m in mods), sorted(m for m in mods if m.startswith("cnncc.backends"))


def test_compile_imports_only_the_passes_it_runs_and_no_pydantic(sample_models):
    """A JSON compile on Ethos-U imports the passes of its pipeline only, and nothing of pydantic (typer >= 0.29
    converts parameters through it: ~0.1 s per process), rich or the other backends' solvers."""
    path = str(sample_models["cgra_baseline"])
    mods = _modules_after(f"from cnncc.cli import main\ntry:\n    main(['compile', {path!r}, '--target', "
                          f"'ethos-u65-256', '-q', '-f', 'json'])\nexcept SystemExit:\n    pass")
    from cnncc.pipeline import parse_pipeline
    from cnncc.target import load_target

    names = parse_pipeline(load_target("ethos-u65-256").default_pipeline).names
    want = {f"cnncc.passes.{n.replace('-', '_')}" for n in names}
    got = {m for m in mods if m.startswith("cnncc.passes.") and m != "cnncc.passes.base"}
    assert got == want, (got, want)
    assert not any(m.split(".")[0] in ("pydantic", "rich", "z3", "onnxruntime", "torch") for m in mods)


def test_onnx_imported_later_shares_the_message_classes():
    assert proto.ModelProto is onnx.ModelProto  # onnx was imported by this test module: its classes are used
    code = ("from cnncc.frontend.onnx import proto; a = proto.ModelProto\nimport onnx\n"
            "assert onnx.ModelProto is a and onnx.TensorProto is proto.TensorProto")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("raw", [True, False], ids=["raw_data", "typed_fields"])
def test_to_array_matches_onnx_numpy_helper(raw):
    rng = np.random.default_rng(1234)
    for dt in DTYPES:
        for _ in range(4):
            shape = tuple(int(x) for x in rng.integers(0, 4, size=int(rng.integers(0, 4))))
            if dt == np.bool_:
                a = rng.integers(0, 2, size=shape).astype(dt)
            elif np.issubdtype(dt, np.integer):
                info = np.iinfo(dt)
                a = rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
            else:
                a = (rng.standard_normal(shape) * 100).astype(dt)
            t = numpy_helper.from_array(a, "t")
            if not raw:
                code = helper.np_dtype_to_tensor_dtype(a.dtype)
                t = helper.make_tensor("t", code, a.shape, a.flatten().tolist(), raw=False)
            want = numpy_helper.to_array(t)
            got = proto.to_array(t)
            assert got.dtype == want.dtype and got.shape == want.shape, (dt, shape)
            np.testing.assert_array_equal(got, want)


def test_exotic_dtypes_fall_back_to_onnx():
    t = helper.make_tensor("b", TensorProto.BFLOAT16, [3], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(proto.to_array(t).astype(np.float32), numpy_helper.to_array(t).astype(np.float32))


def test_attribute_values_match_onnx_helper():
    node = helper.make_node("X", [], ["y"], f=1.5, i=3, s="abc", fs=[1.0, 2.5], is_=[1, 2], ss=["a", "b"],
                            t=numpy_helper.from_array(np.arange(3, dtype=np.int64), "t"))
    for a in node.attribute:
        got, want = proto.get_attribute_value(a), helper.get_attribute_value(a)
        assert got == want or (hasattr(got, "SerializeToString") and got.SerializeToString() ==
                               want.SerializeToString())


def test_all_tensors_match_onnx_external_data_helper():
    from onnx import external_data_helper as edh

    inner = helper.make_graph([helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(
        np.ones(2, np.float32), "ct"))], "body", [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [2])],
        [numpy_helper.from_array(np.zeros(1, np.float32), "ini")])
    outer = helper.make_graph([helper.make_node("If", ["cond"], ["c"], then_branch=inner, else_branch=inner)],
                              "g", [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [2])],
                              [numpy_helper.from_array(np.zeros(3, np.float32), "w")])
    model = helper.make_model(outer)
    assert sorted(t.name for t in proto._get_all_tensors(model)) == sorted(t.name for t in edh._get_all_tensors(model))


def _blas_threads_after_a_command(env_extra: dict[str, str]) -> str | None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
                                                             "OMP_NUM_THREADS")}
    env.update(env_extra)
    code = ("import os\nfrom cnncc.cli import main\ntry:\n    main(['targets', '-f', 'json'])\nexcept SystemExit:\n"
            "    pass\nimport sys\nsys.stderr.write('BLAS ' + repr(os.environ.get('OPENBLAS_NUM_THREADS')))")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return eval(r.stderr.rsplit("BLAS ", 1)[1])  # noqa: S307 - our own repr


def test_cli_runs_blas_on_one_thread_unless_the_user_chose():
    assert _blas_threads_after_a_command({}) == "1"
    assert _blas_threads_after_a_command({"OMP_NUM_THREADS": "4"}) is None       # the user's choice stands
    assert _blas_threads_after_a_command({"OPENBLAS_NUM_THREADS": "3"}) == "3"

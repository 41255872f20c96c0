"""Closed-form plan costing (``ic4cost``, ``wpcost``) equals building the plan and predicting it, on seeded random
layers (small banks, repeated weights, zero biases, groups, strides); quantised layers check bit-exactly against
the integer interpreter."""

from pathlib import Path

import numpy as np
import pytest

from cnncc.backends.openedgecgra import ic4cost, wpcost
from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra import search as S
from cnncc.backends.openedgecgra.kernels.common import ConvProblem, NotApplicable
from cnncc.backends.openedgecgra.layer import ConvLayer
from cnncc.backends.openedgecgra.spec import CgraSpec

ROOT = Path(__file__).resolve().parents[2]


def _random_layer(rng):
    C, K = int(rng.choice([1, 2, 3, 4, 5, 8, 13])), int(rng.choice([1, 3, 4, 5, 8, 12]))
    G, F, St = int(rng.choice([1, 1, 2, 3])), int(rng.choice([1, 2, 3])), int(rng.choice([1, 1, 2]))
    O = int(rng.integers(1, 8))
    IY = (O - 1) * St + F
    W = rng.integers(-2, 3, (K * G, C, F, F))                     # few values: equal immediates are common
    bias = None if rng.random() < 0.3 else rng.integers(-1, 2, K * G)
    cl = ConvLayer("l", ConvProblem(C, K, IY, IY, O, O, F, F, St, St), G, (0, 0, 0, 0), (C * G, IY, IY), W, bias,
                   None, "conv", False)
    bank = int(rng.choice([256, 1024, 32768]))
    return cl, (524288 if bank == 32768 else 16 * bank), bank


def _row(fn, prm):
    try:
        return fn()
    except NotApplicable as e:
        return ("not applicable", str(e))


@pytest.mark.parametrize("mapping,mod", [("cnncc-ic4", ic4cost), ("conv-wp", wpcost)])
def test_closed_form_equals_plan_and_prediction(mapping, mod):
    rng = np.random.default_rng(20260)
    prm = CgraSpec()
    applicable = 0
    for _ in range(25):
        cl, sram, bank = _random_layer(rng)

        def slow(cl=cl, sram=sram, bank=bank):
            plan = P.make_plan(mapping, cl, sram, bank)
            return S.cost_plan(plan, P.predict(plan), prm)

        def fast(cl=cl, sram=sram, bank=bank):
            summ, st = mod.cost(cl, sram, bank)
            return S.cost_plan(summ, st, prm)

        a, b = _row(slow, prm), _row(fast, prm)
        assert a == b, (cl.prob, cl.groups, bank)
        applicable += isinstance(a, dict)
    assert applicable >= 10


def test_closed_form_prediction_equals_full_simulation():
    rng = np.random.default_rng(7)
    for mapping, mod in (("cnncc-ic4", ic4cost), ("conv-wp", wpcost)):
        done = 0
        while done < 3:
            cl, sram, bank = _random_layer(rng)
            try:
                _, st = mod.cost(cl, sram, bank)
            except NotApplicable:
                continue
            _, full = P.run(P.make_plan(mapping, cl, sram, bank), np.ones(cl.in_shape, np.int64))
            assert st.cycles == full.cycles and np.array_equal(st.events, full.events)
            done += 1


def _quantised_model(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from cnncc.driver import load_model
    from cnncc.frontend.tflite.reader import load_tflite
    from cnncc.frontend.tflite.writer import write_tflite

    rng = np.random.default_rng(3)
    nodes, inits = [], []
    for name, x, cin, cout, k, st, pad, grp in [("c1", "x", 3, 8, 3, 1, 1, 1), ("c2", "r1", 8, 8, 3, 2, 1, 8),
                                                ("c3", "r2", 8, 12, 1, 1, 0, 1)]:
        inits += [numpy_helper.from_array(rng.normal(0, 0.3, (cout, cin // grp, k, k)).astype(np.float32),
                                          name + "_w"),
                  numpy_helper.from_array(rng.normal(0, 2.0, (cout,)).astype(np.float32), name + "_b")]
        nodes += [helper.make_node("Conv", [x, name + "_w", name + "_b"], [name], kernel_shape=[k, k],
                                   strides=[st, st], pads=[pad] * 4, group=grp),
                  helper.make_node("Relu", [name], ["r" + name[1]])]
    inits += [numpy_helper.from_array(rng.normal(0, 0.3, (10, 12)).astype(np.float32), "fw"),
              numpy_helper.from_array(rng.normal(0, 0.5, (10,)).astype(np.float32), "fb")]
    nodes += [helper.make_node("GlobalAveragePool", ["r3"], ["gp"]), helper.make_node("Flatten", ["gp"], ["fl"]),
              helper.make_node("Gemm", ["fl", "fw", "fb"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "q", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "f.onnx")
    write_tflite(load_model(tmp_path / "f.onnx"), tmp_path / "q.tflite")
    return load_tflite(tmp_path / "q.tflite")


def _checked(report):
    return {row["name"]: row["check"] for row in report.layers if "check" in row}


def test_quantised_check_is_bit_exact_against_the_integer_interpreter(tmp_path):
    from cnncc.backends import CompileOptions
    from cnncc.driver import compile_model

    g = _quantised_model(tmp_path)
    checks = _checked(compile_model(g, "cgra", options=CompileOptions(check=True)))
    assert len(checks) == 4
    for name, c in checks.items():
        assert c["quantised_bit_exact"] is True and c["bit_exact"] is True and c["prediction_exact"], (name, c)


def test_requantisation_detects_a_wrong_accumulator(tmp_path):
    """The requantised comparison is not vacuous: an accumulator off by one scale step changes the output."""
    from cnncc.backends.openedgecgra import costing
    from cnncc.backends.openedgecgra.layer import from_chw

    g = _quantised_model(tmp_path)
    layer = next(lr for lr in g.layers if lr.kind == "Conv")
    data = costing.check_data(g, layer, 1)
    acc = costing.to_chw_out(g, layer, data.ref)
    good = from_chw(g, layer, costing.requantise(g, layer, acc))
    assert np.array_equal(good, data.quant.ref)
    bad = from_chw(g, layer, costing.requantise(g, layer, acc + 10_000))
    assert not np.array_equal(bad, data.quant.ref)


@pytest.mark.parametrize("name", ["okay_nabu", "hey_jarvis"])
def test_thirdparty_tflite_compiles_and_checks(name, tmp_path):
    path = ROOT / "samples" / "thirdparty" / f"{name}.tflite"
    if not path.exists():
        pytest.skip(f"{path} is absent (make samples)")
    from cnncc.backends import CompileOptions
    from cnncc.driver import compile_model

    r = compile_model(path, "cgra", options=CompileOptions(check=True), out_dir=tmp_path / "out")
    checks = _checked(r)
    done = [c for c in checks.values() if c.get("bit_exact") is not None]
    assert done and all(c["bit_exact"] and c["quantised_bit_exact"] for c in done)
    assert all(c.get("skipped") for c in checks.values() if c.get("bit_exact") is None)
    assert (tmp_path / "out" / "cgra" / "network.json").exists()

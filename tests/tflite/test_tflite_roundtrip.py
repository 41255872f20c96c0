"""TFLite -> cnncc -> TFLite keeps the model's own quantisation: the same scales and zero points on every tensor
both files name, the same integer weights and biases per operator, and identical LiteRT outputs."""

from __future__ import annotations

import numpy as np
import pytest
from tfl_nets import NETS

import cnncc
from cnncc.frontend.tflite.writer import write_tflite


def _tensors(path):
    import tflite

    m = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    sg = m.Subgraphs(0)
    quant, consts = {}, {}
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        name = sg.Tensors(op.Outputs(0)).Name().decode()
        data = []
        for j in range(op.InputsLength()):
            k = op.Inputs(j)
            if k >= 0 and m.Buffers(sg.Tensors(k).Buffer()).DataLength():
                data.append(m.Buffers(sg.Tensors(k).Buffer()).DataAsNumpy().tobytes())
        consts[name] = data
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        q = t.Quantization()
        if q is not None and q.ScaleLength():
            quant[t.Name().decode()] = (tuple(q.ScaleAsNumpy()), tuple(q.ZeroPointAsNumpy()))
    return quant, consts


@pytest.mark.parametrize("net", ["conv", "act"])
def test_export_keeps_quantisation(tmp_path, net):
    src, dst = tmp_path / "a.tflite", tmp_path / "b.tflite"
    write_tflite(NETS[net](4), src)
    write_tflite(cnncc.load(src), dst)
    (qa, ca), (qb, cb) = _tensors(src), _tensors(dst)
    shared = set(qa) & set(qb)
    assert len(shared) >= 0.9 * len(qa)
    assert all(qa[t] == qb[t] for t in shared), [t for t in shared if qa[t] != qb[t]][:3]
    for name in ("conv1", "dw", "pw", "conv2"):
        if name in ca:
            assert ca[name] == cb[name], name              # the model's own int8 weights and int32 biases

    pytest.importorskip("ai_edge_litert")
    from litert_ref import litert_interpreter

    outs = []
    for p in (src, dst):
        it = litert_interpreter(p)
        d = it.get_input_details()[0]
        it.set_tensor(d["index"], np.random.default_rng(1).integers(-128, 128, d["shape"]).astype(np.int8))
        it.invoke()
        outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
    assert np.array_equal(outs[0], outs[1])

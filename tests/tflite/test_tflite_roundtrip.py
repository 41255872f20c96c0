"""TFLite -> cnncc -> TFLite keeps the model's own quantisation: the same scales and zero points on every tensor
both files name, the same integer weights and biases per operator, and identical LiteRT outputs — on the writer's
own models and on the trained streaming wake-word models."""

from __future__ import annotations

from pathlib import Path

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


THIRDPARTY = Path(__file__).resolve().parents[2] / "samples" / "thirdparty"
STREAMING = ("alexa", "hey_jarvis", "hey_mycroft", "okay_nabu")


def _state_pairs(path) -> dict[str, str]:
    """A streaming TFLite model's variables as (READ_VARIABLE output -> ASSIGN_VARIABLE value) tensor names: in
    cnncc's graph (and its export) the graph input carrying a state and the output carrying its next value."""
    import tflite

    m = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    sg = m.Subgraphs(0)
    names = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}
    read, assign = {}, {}
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        kind = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        if kind == "READ_VARIABLE":
            read[op.Inputs(0)] = sg.Tensors(op.Outputs(0)).Name().decode()
        elif kind == "ASSIGN_VARIABLE":
            assign[op.Inputs(0)] = sg.Tensors(op.Inputs(1)).Name().decode()
    return {read[h]: assign[h] for h in read}


@pytest.mark.skipif(not all((THIRDPARTY / f"{m}.tflite").is_file() for m in STREAMING),
                    reason="samples/thirdparty/ not fetched (run `make samples` online)")
@pytest.mark.parametrize("name", STREAMING)
def test_streaming_model_export_runs_as_the_original(tmp_path, name):
    """A trained streaming wake-word model (variables read and assigned each step) read by cnncc and exported
    again: LiteRT on the export — the states fed back from its outputs, starting from the variables' initial
    values — gives the original's output values on every one of 12 steps of seeded input (bit-exact after
    dequantisation: the export leaves out the host's final uint8 QUANTIZE)."""
    pytest.importorskip("ai_edge_litert")
    from litert_ref import litert_interpreter

    from cnncc.frontend.tflite.reader import variable_inits

    src, dst = THIRDPARTY / f"{name}.tflite", tmp_path / f"{name}.tflite"
    write_tflite(cnncc.load(src), dst)
    pairs = _state_pairs(src)
    assert pairs
    a, b = litert_interpreter(src), litert_interpreter(dst)
    ain = a.get_input_details()[0]
    bins = {d["name"]: d for d in b.get_input_details()}
    bouts = {d["name"]: d for d in b.get_output_details()}
    assert set(pairs) <= set(bins) and set(pairs.values()) <= set(bouts)
    state = {k: (np.transpose(v, (0, 2, 3, 1)) if v.ndim == 4 else v) for k, v in variable_inits(src).items()}
    (main_in,) = set(bins) - set(pairs)
    (main_out,) = set(bouts) - set(pairs.values())
    rng = np.random.default_rng(0)

    def real(it, d):
        s, z = d["quantization"]
        return (it.get_tensor(d["index"]).astype(np.int64) - z) * s

    for _ in range(12):
        x = rng.integers(-128, 128, ain["shape"]).astype(ain["dtype"])
        a.set_tensor(ain["index"], x)
        a.invoke()
        b.set_tensor(bins[main_in]["index"], x)
        for k in pairs:
            b.set_tensor(bins[k]["index"], state[k].astype(bins[k]["dtype"]))
        b.invoke()
        assert np.array_equal(real(a, a.get_output_details()[0]), real(b, bouts[main_out]))
        state = {k: b.get_tensor(bouts[v]["index"]) for k, v in pairs.items()}

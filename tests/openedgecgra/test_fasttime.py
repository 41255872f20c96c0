"""Static timing (``fasttime``: loop acceleration) equals full simulation: per launch against the scalar simulator
on every mapping of random layer shapes (small SRAM banks, so buffers straddle banks and skipped loops meet bank
conflicts), per plan (``predict`` == ``run``), and the closed-form bound of the search never exceeds the exact
cost."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncc.backends.openedgecgra import fasttime, sim
from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra import search as S
from cnncc.backends.openedgecgra.kernels.common import ConvProblem, NotApplicable
from cnncc.backends.openedgecgra.layer import ConvLayer
from cnncc.backends.openedgecgra.sim_kernel import SimError
from cnncc.backends.openedgecgra.sim_scalar import run_one
from cnncc.backends.openedgecgra.spec import CgraSpec


def _layer(C, K, O, F, S_, groups, bias, pad, seed):
    rng = np.random.default_rng(seed)
    I = (O - 1) * S_ + F
    prob = ConvProblem(C, K, I, I, O, O, F, F, S_, S_)
    W = rng.integers(-8, 9, (K * groups, C, F, F))
    b = rng.integers(-8, 9, K * groups) if bias else None
    pads = (pad, pad, pad, pad) if pad and I > 2 * pad else (0, 0, 0, 0)
    return ConvLayer("l", prob, groups, pads, (C * groups, I - 2 * pads[0], I - 2 * pads[1]), W, b, None, "conv",
                     False)


layers = st.builds(_layer, C=st.integers(1, 12), K=st.integers(1, 20), O=st.integers(1, 7),
                   F=st.sampled_from([1, 2, 3, 5]), S_=st.integers(1, 2), groups=st.sampled_from([1, 1, 3]),
                   bias=st.booleans(), pad=st.integers(0, 1),
                   seed=st.integers(0, 99))


@settings(max_examples=12, deadline=None)
@given(cl=layers, m=st.sampled_from(P.MAPPINGS), bank=st.sampled_from([256, 1024, 32768]))
def test_static_timing_equals_scalar_simulation_per_launch(cl, m, bank):
    try:
        plan = P.make_plan(m, cl, 524288, bank)
    except NotApplicable:
        return
    mem = plan.image.materialise()
    rng = np.random.default_rng(0)
    idx = range(len(plan.batches)) if len(plan.batches) <= 12 else sorted(rng.choice(len(plan.batches), 12, False))
    for i in idx:
        b = plan.batches[i]
        P._apply_pre(mem, plan.pre.get(i))
        k, lc = plan.kernels[b.kernel], b.launches[0]
        counts, extra = fasttime.time_launch(k, mem, lc.rptr, lc.wptr, plan.image.bank_words, sim.MAX_STEPS)
        c2, cyc, stall, idle = run_one(k, mem.copy(), lc.rptr, lc.wptr, plan.image.bank_words, sim.MAX_STEPS)
        assert counts == c2
        assert int(np.dot(counts, k.latency)) + extra == cyc and 16 * extra == idle


@settings(max_examples=6, deadline=None)
@given(cl=layers, m=st.sampled_from(P.MAPPINGS), bank=st.sampled_from([1024, 32768]))
def test_prediction_equals_full_simulation_and_bounds_hold(cl, m, bank):
    try:
        plan = P.make_plan(m, cl, 524288, bank)
    except NotApplicable:
        return
    x = np.random.default_rng(1).integers(-8, 9, cl.in_shape)
    _, full = P.run(plan, x)
    pred = P.predict(plan)
    assert (pred.cycles, pred.instructions) == (full.cycles, full.instructions)
    assert np.array_equal(pred.events, full.events) and np.array_equal(pred.col_stall, full.col_stall)
    prm = CgraSpec(sram_bank_bytes=bank) if bank != 32768 else CgraSpec()
    row = S.cost_plan(plan, pred, prm)
    q = S.quick_bound(m, cl, prm).row
    lb = S.cost_plan(plan, P.lower_bound(plan), prm)
    assert q["cycles"] <= lb["cycles"] <= row["cycles"]
    assert q["energy_uj"] <= lb["energy_uj"] + 1e-9 and lb["energy_uj"] <= row["energy_uj"] + 1e-9


def test_bank_conflicts_inside_skipped_loops_are_counted():
    """Conv-OP on 64-word banks: the weight streams of the four columns and the input window cross bank
    boundaries inside the accelerated tap loops; the engine must count every conflicting iteration."""
    cl = _layer(6, 16, 3, 3, 1, 1, False, 0, 3)
    plan = P.make_plan("conv-op", cl, 524288, 256)
    mem = plan.image.materialise()
    total = 0
    for i, b in enumerate(plan.batches):
        P._apply_pre(mem, plan.pre.get(i))
        k, lc = plan.kernels[b.kernel], b.launches[0]
        counts, extra = fasttime.time_launch(k, mem, lc.rptr, lc.wptr, 64, sim.MAX_STEPS)
        assert int(np.dot(counts, k.latency)) + extra == run_one(k, mem.copy(), lc.rptr, lc.wptr, 64,
                                                                   sim.MAX_STEPS)[1]
        total += extra
    assert total > 0


@settings(max_examples=10, deadline=None)
@given(cl=layers, m=st.sampled_from(["cnncc-ic4", "conv-wp", "im2col-op"]), bank=st.sampled_from([256, 1024]),
       seed=st.integers(0, 99))
def test_read_pointer_shift_equals_scalar_simulation_of_the_moved_launch(cl, m, bank, seed):
    """``ReadShift``: a launch timed once, then its read pointers moved by random word offsets (so the streams
    cross bank boundaries elsewhere): the derived bank-conflict cycles equal simulating the moved launch."""
    try:
        plan = P.make_plan(m, cl, 524288, bank)
    except NotApplicable:
        return
    mem = plan.image.materialise()
    rng = np.random.default_rng(seed)
    b = plan.batches[int(rng.integers(len(plan.batches)))]
    k, lc = plan.kernels[b.kernel], b.launches[0]
    log: list = []
    try:
        counts, extra = fasttime.time_launch(k, mem, lc.rptr, lc.wptr, plan.image.bank_words, sim.MAX_STEPS, log)
    except fasttime.Unsupported:
        return
    rs = fasttime.ReadShift(k, log, extra, 4 * mem.shape[0], plan.image.bank_words)
    checked = 0
    for _ in range(4):
        shift = tuple(int(x) for x in 4 * rng.integers(-bank // 4, bank // 4, 4))
        moved = tuple(p + s for p, s in zip(lc.rptr, shift))
        e = rs.extra(shift)
        if e is None or min(moved) < 0:  # a pointer moved below address 0: no launch to compare with
            continue
        try:
            c2, cyc, _, idle = run_one(k, mem.copy(), moved, lc.wptr, plan.image.bank_words, sim.MAX_STEPS)
        except SimError as err:  # a stream moved past the end of memory: no launch to compare with either
            if "invalid byte address" not in str(err):
                raise
            continue
        assert counts == c2 and int(np.dot(counts, k.latency)) + e == cyc and 16 * e == idle
        checked += 1
    assert rs.extra((0,) * 4) == extra

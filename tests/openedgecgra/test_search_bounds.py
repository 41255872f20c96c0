"""Branch-and-bound search and batched prediction are exact: same choice as predicting everything, bounds
never above the predicted numbers, predictions equal to full simulation."""

import numpy as np
import pytest

from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra import search as S
from cnncc.backends.openedgecgra.kernels.common import ConvProblem
from cnncc.backends.openedgecgra.layer import ConvLayer
from cnncc.backends.openedgecgra.spec import CgraSpec


def _layer(C, K, O, F=3, groups=1, seed=1):
    rng = np.random.default_rng(seed)
    prob = ConvProblem(C, K, O + F - 1, O + F - 1, O, O, F, F)
    W = rng.integers(-8, 9, (K * groups, C, F, F))
    return ConvLayer("l", prob, groups, (0, 0, 0, 0), (C * groups, O + F - 1, O + F - 1), W, None, None,
                     "conv", False)


@pytest.mark.parametrize("cl", [_layer(8, 8, 6), _layer(1, 1, 6, groups=8), _layer(16, 20, 4, F=1)])
@pytest.mark.parametrize("objective", ["latency", "energy"])
def test_pruned_search_chooses_like_full_search(cl, objective):
    prm = CgraSpec(objective=objective)
    full, best_full = S.search(cl, prm, prune=False)
    pruned, best = S.search(cl, prm)
    assert best.row == best_full.row
    for a, b in zip(full, pruned):
        if b.row.get("pruned"):
            assert b.row["lower_bound_cycles"] <= a.row["cycles"]
            assert b.row["lower_bound_energy_uj"] <= a.row["energy_uj"] + 1e-9
            assert "cycles" not in b.row and "mac_per_cycle" not in b.row
        else:
            assert a.row == b.row


@pytest.mark.parametrize("m", P.MAPPINGS)
@pytest.mark.parametrize("C,groups", [(8, 1), (1, 6)])
def test_bound_below_prediction_equal_to_full_simulation(m, C, groups):
    cl = _layer(C, 8 if groups == 1 else 1, 5, groups=groups)
    plan = P.make_plan(m, cl, 524288, 32768)
    lb, pred = P.lower_bound(plan), P.predict(plan)
    _, full = P.run(plan, np.ones((C * groups, 7, 7), np.int64))
    assert pred.cycles == full.cycles and pred.instructions == full.instructions
    assert np.array_equal(pred.events, full.events) and np.array_equal(pred.col_stall, full.col_stall)
    assert lb.cycles <= pred.cycles and lb.instructions == pred.instructions
    assert lb.mem_accesses == pred.mem_accesses


def test_cross_layer_cache_reuse_is_exact():
    cl = _layer(8, 8, 5)
    plan = P.make_plan("conv-wp", cl, 524288, 32768)
    P._SIG_CACHE.clear()
    a = P.predict(plan)
    assert P._SIG_CACHE
    b = P.predict(plan)
    assert a.cycles == b.cycles and np.array_equal(a.events, b.events)


def test_control_and_timing_keys_shared_by_groups():
    """Depthwise cnncc-ic4: each group's kernels differ only in weights and output-plane address immediates
    (declared base addresses, whose banks the launch signature carries), so they share one control key and
    one timing key per chunk shape: the bound and the prediction need one launch per chunk shape and bank
    pattern."""
    from cnncc.backends.openedgecgra import timing

    plan = P.make_plan("cnncc-ic4", _layer(1, 1, 5, groups=6), 524288, 32768)
    ks = list(plan.kernels.values())
    per_group = len(ks) // 6
    assert per_group == 2 and len({timing.timing_key(k) for k in ks}) == per_group
    assert len({timing.control_key(k) for k in ks}) == per_group


def test_too_long_kernel_is_not_applicable():
    """A generator whose program exceeds the 32-instruction context memory makes the mapping not applicable
    (reported as the candidate's reason), never an internal error."""
    from cnncc.backends.openedgecgra.isa import MAX_INSTR
    from cnncc.backends.openedgecgra.kernels.common import Builder, NotApplicable

    b = Builder()
    for _ in range(MAX_INSTR + 1):
        b.new()
    with pytest.raises(NotApplicable, match="CGRA-instructions"):
        b.kernel("long")


@pytest.mark.parametrize("nk", [1, 3, 4, 5, 9, 16])
def test_stream_tap_loop_cycles_match_the_generated_kernels(nk):
    """``quick_bound``'s per-tap cycles of the OP/IP kernels equal the static latencies of the innermost loop
    (first back edge) of the kernels the generators emit."""
    from cnncc.backends.openedgecgra.kernels import stream

    prob = ConvProblem(3, nk, 6, 6, 4, 4, 3, 3)
    kernels = [stream.conv_op_kernel(prob, nk, 4, "op"), stream.im2col_op_kernel(27, 4096, nk, 4, "i2c")]
    if nk == 16:
        kernels.append(stream.im2col_ip_kernel(2, 4096, "ip"))
    for k in kernels:
        t, head = next((t, i.imm & 31) for t, step in enumerate(k.program) for i in step
                       if i.op == "BNE" and (i.imm & 31) <= t)
        assert t - head + 1 == 9
        assert int(k.latency[head:t + 1].sum()) == S.mac_body_cycles(nk)

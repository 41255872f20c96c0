"""Compare two ONNX models on onnxruntime with seeded random inputs (the ``--verify`` of ``cnncc opt``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnncc.errors import InvalidModelError, MismatchError

#: largest accepted max-abs-error relative to the reference output's scale (max |y|)
REL_TOL = 1e-4

_NP = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
       "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
       "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_}


def _session(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InvalidModelError(f"{path}: onnxruntime cannot load the model: {first}") from None


def random_feeds(session, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded inputs for every graph input: standard normal floats, zeros for integer inputs; symbolic
    dimensions become 1."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        dt = _NP.get(i.type, np.float32)
        if np.issubdtype(dt, np.floating):
            feeds[i.name] = rng.standard_normal(shape).astype(dt)
        else:
            feeds[i.name] = np.zeros(shape, dtype=dt)
    return feeds


def compare_models(orig_path: str | Path, new_path: str | Path, *, semantic: bool = True,
                   seed: int = 0) -> dict:
    """Run both models on the same seeded inputs and compare outputs position by position.

    Returns {"outputs": [{name, shape, new_shape, max_abs_err, max_rel_err}], "max_abs_err", "max_rel_err",
    "semantic", "seed", "tolerance"}; max_rel_err is max |a−b| / max |a| (the output's scale).
    Raises MismatchError when shapes differ, or, if ``semantic``, when max_rel_err > 1e-4."""
    a, b = _session(orig_path), _session(new_path)
    feeds = random_feeds(a, seed)
    names_b = {i.name for i in b.get_inputs()}
    if names_b != set(feeds):
        raise MismatchError(f"inputs differ: {sorted(feeds)} vs {sorted(names_b)}")
    ya, yb = a.run(None, feeds), b.run(None, feeds)
    if len(ya) != len(yb):
        raise MismatchError(f"output count differs: {len(ya)} vs {len(yb)}")
    rows, worst_abs, worst_rel = [], 0.0, 0.0
    for out, ra, rb in zip(a.get_outputs(), ya, yb):
        ra, rb = np.asarray(ra), np.asarray(rb)
        if ra.shape != rb.shape:
            raise MismatchError(f"output {out.name!r}: shape {list(ra.shape)} became {list(rb.shape)}")
        row = {"name": out.name, "shape": list(ra.shape), "new_shape": list(rb.shape)}
        if semantic:
            diff = np.abs(ra.astype(np.float64) - rb.astype(np.float64))
            abs_err = float(diff.max()) if diff.size else 0.0
            scale = float(np.abs(ra).max()) if ra.size else 0.0
            rel_err = abs_err / scale if scale > 0 else abs_err
            if not np.isfinite(abs_err):
                rel_err = abs_err = float("inf")
            row.update(max_abs_err=abs_err, max_rel_err=rel_err)
            worst_abs, worst_rel = max(worst_abs, abs_err), max(worst_rel, rel_err)
        rows.append(row)
    res = {"outputs": rows, "semantic": semantic, "seed": seed, "tolerance": REL_TOL if semantic else None,
           "max_abs_err": worst_abs if semantic else None, "max_rel_err": worst_rel if semantic else None}
    if semantic and not worst_rel <= REL_TOL:
        raise MismatchError(f"outputs differ: max relative error {worst_rel:.3g} > {REL_TOL:g} "
                            f"(max abs error {worst_abs:.3g})")
    return res

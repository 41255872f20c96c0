"""Compare two ONNX models on onnxruntime with seeded random inputs (the ``--verify`` of ``cnncc opt``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cnncc.errors import InvalidModelError, MismatchError, UnsupportedError

#: largest accepted max-abs-error relative to the reference output's scale (max |y|)
REL_TOL = 1e-4

_NP = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
       "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
       "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_}


#: most bytes --verify allocates for the inputs and outputs of one model (both models: twice this)
MAX_VERIFY_BYTES = 2 << 30


def _session(path):
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # errors only: its warnings would reach stderr
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InvalidModelError(f"{path}: onnxruntime cannot load the model: {first}") from None


def _shape(arg) -> list[int]:
    return [d if isinstance(d, int) and d > 0 else 1 for d in (arg.shape or [])]


def memory_needed(session) -> int:
    """Bytes of the seeded inputs (generated in float64) and the statically known outputs of one run."""
    total = 0
    for arg in list(session.get_inputs()) + list(session.get_outputs()):
        total += math.prod(_shape(arg)) * max(8, np.dtype(_NP.get(arg.type, np.float32)).itemsize)
    return total


def random_feeds(session, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded inputs for every graph input: standard normal floats, zeros for integer inputs; symbolic
    dimensions become 1. Refuses (exit 3) inputs and outputs over MAX_VERIFY_BYTES before allocating."""
    need = memory_needed(session)
    if need > MAX_VERIFY_BYTES:
        raise UnsupportedError(f"--verify would need {need} bytes for the model's inputs and outputs, over its "
                               f"limit of {MAX_VERIFY_BYTES} bytes")
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for i in session.get_inputs():
        shape = _shape(i)
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
    ya, yb = _run(a, orig_path, feeds), _run(b, new_path, feeds)
    if len(ya) != len(yb):
        raise MismatchError(f"output count differs: {len(ya)} vs {len(yb)}")
    rows, worst_abs, worst_rel = [], 0.0, 0.0
    for out, ra, rb in zip(a.get_outputs(), ya, yb):
        ra, rb = np.asarray(ra), np.asarray(rb)
        if ra.shape != rb.shape:
            raise MismatchError(f"output {out.name!r}: shape {list(ra.shape)} became {list(rb.shape)}")
        row = {"name": out.name, "shape": list(ra.shape), "new_shape": list(rb.shape)}
        if semantic:
            abs_err, scale = _errors(ra, rb)
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


def _run(session, path, feeds) -> list:
    """One run; onnxruntime failing on a model it loaded is the model's fault (exit 2), in one line."""
    try:
        return session.run(None, feeds)
    except MemoryError:
        raise UnsupportedError(f"{path}: onnxruntime ran out of memory running the model for --verify") from None
    except Exception as e:  # onnxruntime raises its own exception types
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InvalidModelError(f"{path}: onnxruntime cannot run the model: {first}") from None


def _errors(ra: np.ndarray, rb: np.ndarray) -> tuple[float, float]:
    """(max |a - b|, max |a|) over the finite positions; NaN where both are NaN and equal infinities count as
    equal, NaN or infinity on one side only is an infinite error."""
    a, b = ra.astype(np.float64), rb.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        diff = np.where(same, 0.0, np.abs(a - b))
        diff = np.where(np.isnan(diff), np.inf, diff)
        finite = np.abs(a[np.isfinite(a)])
    abs_err = float(diff.max()) if diff.size else 0.0
    return abs_err, float(finite.max()) if finite.size else 0.0

"""cnncc's encoded weight size (codec.py + weights.py) vs Vela 5.2.0, and the entropy estimate it replaces.

1. Seeded random layers (depth-first, part-kernel, depthwise, FC; 1 or 2 cores; uniform, gaussian, sparse,
   few-valued, laplace, pruned-block weights): cnncc's size vs Vela's own encoder (``ethosu.regor``'s MLW encoder
   via ctypes, on every per-core stream of the layer in Vela's read order).
2. The trained wake-word models (samples/thirdparty/*.tflite) compiled by Vela (``--verbose-schedule``): per op
   "Encoded Weights" vs cnncc's size for the op's reported OFM block depth, traversal and depth slices (ops Vela
   splits into several are skipped: they cannot be matched by OFM depth).
3. Speed: milliseconds per million weights.

    .venv/bin/python bench/weight_codec.py [--layers 120]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnncc.backends.ethos_u65.weights import (  # noqa: E402
    DEPTH_FIRST,
    DEPTHWISE,
    PAD_BYTES,
    PART_KERNEL,
    WeightCodes,
    encoded_ratio,
    padded_weights,
    stream_order,
)
from tests.ethos_u65.test_weight_codec import _values  # noqa: E402
from tests.ethos_u65.vela_mlw import LIB, vela_stream_bytes  # noqa: E402


def old_estimate(ohwi: np.ndarray, traversal: str, ublock: int) -> int:
    """The entropy estimate this model replaces (weights + 0.5 B per padded weight + 10 B/channel)."""
    o, kh, kw, i = ohwi.shape
    kind = "depthwise" if traversal == DEPTHWISE else "conv"
    pad = padded_weights(kind, o, i, (kh, kw), traversal == PART_KERNEL, ublock) - ohwi.size
    return int(np.ceil(ohwi.size * encoded_ratio(ohwi, 0) + PAD_BYTES * max(pad, 0))) + 10 * o


def vela_layer_bytes(ohwi: np.ndarray, traversal: str, block: int, cores: int) -> int:
    total = 0
    for core in range(min(cores, ohwi.shape[0])):
        part = ohwi[core::cores]
        total += -(-10 * part.shape[0] // 16) * 16
        total += vela_stream_bytes(stream_order(part, traversal, (block + cores - 1 - core) // cores, 8))
    return total


def shares(pairs: list[tuple[int, int]]) -> str:
    r = np.array([a / b for a, b in pairs])
    return (f"exact {np.mean(r == 1):.0%}, within ±1 % {np.mean(abs(r - 1) <= 0.01):.0%}, ±2 % "
            f"{np.mean(abs(r - 1) <= 0.02):.0%} (ratio {r.min():.3f} … {r.max():.3f})")


def random_layers(n: int) -> None:
    rng = np.random.default_rng(2026)
    new, old = [], []
    for k in range(n):
        traversal = (DEPTH_FIRST, PART_KERNEL, DEPTHWISE, DEPTH_FIRST)[k % 4]
        o = int(rng.choice([8, 16, 30, 48, 64, 96, 100, 128, 256]))
        i = 1 if traversal == DEPTHWISE else int(rng.choice([3, 8, 16, 24, 32, 40, 64, 128, 256]))
        kh = 1 if k % 4 == 3 else int(rng.choice([1, 3, 5]))
        ohwi = _values(rng, int(rng.integers(0, 6)), o * kh * kh * i).reshape(o, kh, kh, i)
        cores, block = int(rng.integers(1, 3)), int(rng.choice([16, 32, 64]))
        ref = vela_layer_bytes(ohwi, traversal, block, cores)
        new.append((sum(WeightCodes(ohwi).range_bytes(traversal, block, 8, cores)), ref))
        old.append((old_estimate(ohwi, traversal, 8), ref))
    print(f"random layers ({n}), vs Vela's encoder: cnncc {shares(new)}")
    print(f"                              old estimate {shares(old)}")


TRAV = {"DepthFirst": DEPTH_FIRST, "PartKernel": PART_KERNEL, "Depthwise": DEPTHWISE}


def vela_schedule(path: Path, accel: str, out: Path) -> list[dict]:
    cmd = [str(Path(sys.executable).parent / "vela"), str(path), "--accelerator-config", accel,
           "--verbose-schedule", "--output-dir", str(out)]
    text = subprocess.run(cmd, capture_output=True, text=True).stdout
    ops, cur = [], None
    for line in text.splitlines():
        if m := re.search(r"Operation (\w+)\s+- OFM ([\d, ]*)", line):
            cur = {"ofm": [int(x) for x in m.group(2).split(",") if x.strip()]}
            ops.append(cur)
        elif cur is not None and (m := re.search(r"OFM Block=\[([\d, ]+)\].*Traversal=(\w+)", line)):
            cur["block"], cur["trav"] = int(m.group(1).split(",")[-1]), TRAV.get(m.group(2))
        elif cur is not None and (m := re.search(r"Encoded Weights = (\d+)", line)):
            cur["enc"] = int(m.group(1))
        elif cur is not None and (m := re.search(r"Depth slices = \[([\d, ]+)\]", line)):
            cur["slices"] = tuple(int(x) for x in m.group(1).split(","))
    return [o for o in ops if "enc" in o and o.get("trav")]


def trained() -> None:
    paths = [p for p in sorted((ROOT / "samples" / "thirdparty").glob("*.tflite")) if "sine" not in p.name]
    if not paths:
        print("trained models: samples/thirdparty missing (make samples)")
        return
    new, old, skipped = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            weights = _one_model(path)
            for accel, cores in (("ethos-u65-256", 1), ("ethos-u65-512", 2)):
                for op in vela_schedule(path, accel, Path(tmp)):
                    if op.get("slices") and op["slices"][-1] != op["ofm"][-1]:
                        skipped += 1   # one part of an op Vela split along the OFM depth
                        continue
                    cands = [w for w in weights if w.shape[0] == op["ofm"][-1]
                             and (w.shape[3] == 1 and w.shape[0] > 1) == (op["trav"] == DEPTHWISE)]
                    sizes = {sum(WeightCodes(w).range_bytes(op["trav"], op["block"], 8, cores, op.get("slices")))
                             for w in cands}
                    if not sizes:
                        skipped += 1
                        continue
                    best = min(sizes, key=lambda s: abs(s - op["enc"]))
                    w = cands[0]
                    new.append((best, op["enc"]))
                    old.append((old_estimate(w, op["trav"], 8), op["enc"]))
    print(f"trained wake-word ops ({len(new)}; {skipped} split by Vela, skipped), vs Vela's Encoded Weights: "
          f"cnncc {shares(new)}")
    print(f"                              old estimate {shares(old)}")


def _one_model(path: Path) -> list[np.ndarray]:
    import tests.ethos_u65.test_weight_codec as t

    saved = t.ROOT
    try:
        tmp = Path(tempfile.mkdtemp())
        (tmp / "samples" / "thirdparty").mkdir(parents=True)
        (tmp / "samples" / "thirdparty" / path.name).symlink_to(path)
        t.ROOT = tmp
        return t._trained_weights()
    finally:
        t.ROOT = saved


def speed() -> None:
    """ms per million weights of the encoded size, with the fast parameter search (codec_search.py) and with the
    plain one it replaced (tests/ethos_u65/codec_reference.py), side by side on the same layers."""
    import cnncc.backends.ethos_u65.codec as codec
    from tests.ethos_u65.codec_reference import grc_slices

    rng = np.random.default_rng(1)
    gauss = np.clip(np.round(rng.normal(0, 25, (256, 3, 3, 256))), -127, 127).astype(np.int16)
    trained = np.clip(np.round(rng.normal(0, 1, (128, 3, 3, 128)) * rng.uniform(3, 50, (128, 1, 1, 1))),
                      -127, 127).astype(np.int16)
    sparse = np.where(rng.random((128, 3, 3, 128)) < 0.7, 0, gauss[:128, :, :, :128])
    fast = codec.search

    def plain(v: np.ndarray, bits: np.ndarray, cod: np.ndarray) -> list[tuple[int, int]]:
        return grc_slices(bits[:, v], cod[:, v])

    for name, ohwi in (("3×3 256->256 gaussian", gauss), ("3×3 128->128 per-channel scales", trained),
                       ("3×3 128->128 70 % zeros", sparse)):
        ms = []
        for search in (plain, fast):
            codec.search = search
            t0 = time.perf_counter()
            WeightCodes(ohwi).range_bytes(DEPTH_FIRST, 64, 8, 1)
            ms.append((time.perf_counter() - t0) * 1e3 / (ohwi.size / 1e6))
        codec.search = fast
        print(f"speed, {name} (depth-first): {ms[0]:.0f} ms per million weights before (plain search), "
              f"{ms[1]:.0f} after (fast search)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=120)
    args = ap.parse_args(argv)
    if LIB is None:
        print("needs ethos-u-vela (the bench extra)")
        return 1
    random_layers(args.layers)
    trained()
    speed()
    return 0


if __name__ == "__main__":
    sys.exit(main())

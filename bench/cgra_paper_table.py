"""cnncc's OpenEdgeCGRA numbers next to the CF'24 paper's (Carpentieri et al.).

1. The baseline layer (16x16x16 input, 3x3, 16 outputs, 14x14 output): latency, energy by part, MAC/cycle per
   mapping, plus the CPU-only run, side by side with the paper's table.
2. The sweep (output 16-64, C = K in 16-144, layers capped at 512 KiB of SRAM): MAC/cycle per mapping.

Usage: python bench/cgra_paper_table.py [--quick] [--full-sim]
(--full-sim also simulates every launch of the baseline and checks it against numpy and the prediction.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnncc.backends.openedgecgra import plan as P  # noqa: E402
from cnncc.backends.openedgecgra.kernels.common import ConvProblem, NotApplicable  # noqa: E402
from cnncc.backends.openedgecgra.layer import ConvLayer  # noqa: E402
from cnncc.backends.openedgecgra.search import cost_plan, cpu_conv_cost, cpu_only  # noqa: E402
from cnncc.backends.openedgecgra.spec import CgraSpec  # noqa: E402

DEFAULTS = CgraSpec()

# CF'24 table (memory, CPU, CGRA, total µJ, total ms) and MAC/cycle read off the paper's plot
PAPER = {"cpu": (43, 57, 0, 101, 63.4, None), "im2col-ip": (62, 14, 21, 96, 35.4, 0.18),
         "conv-op": (29, 0.093, 22, 52, 12.5, 0.325), "im2col-op": (28, 0.871, 21, 49, 12.4, 0.36),
         "conv-wp": (14, 0, 16, 30, 6.4, 0.59)}
CLOCK = DEFAULTS.clock_hz


def layer(C, K, O, seed=0):
    rng = np.random.default_rng(seed)
    prob = ConvProblem(C, K, O + 2, O + 2, O, O, 3, 3)
    W = rng.integers(-128, 128, (K, C, 3, 3))
    return ConvLayer("l", prob, 1, (0, 0, 0, 0), (C, O + 2, O + 2), W, None, None, "conv", False)


def cost(cl, mapping):
    try:
        plan = P.make_plan(mapping, cl, DEFAULTS.sram_bytes, DEFAULTS.sram_bank_bytes)
        row = cost_plan(plan, P.predict(plan), DEFAULTS)
        if row["sram_bytes"] > DEFAULTS.sram_bytes:
            raise NotApplicable(f"needs {row['sram_bytes']} bytes of SRAM")
        return row, plan
    except NotApplicable as e:
        return {"mapping": mapping, "reason": str(e)}, None


def _f(v, w=6, d=1):
    return f"{v:>{w}.{d}f}" if v is not None else " " * (w - 1) + "-"


def baseline(full_sim: bool):
    cl = layer(16, 16, 14)
    cpu = cpu_only(DEFAULTS, cpu_conv_cost(cl), cl.macs)
    rows, plans = {"cpu": cpu}, {}
    for m in P.MAPPINGS:
        rows[m], plans[m] = cost(cl, m)
    print("Baseline layer: C=K=16, 16x16 input, 3x3, 14x14 output, 451,584 MACs, 100 MHz")
    print(f"{'version':<11}| {'memory µJ':>13} | {'CPU µJ':>13} | {'CGRA µJ':>13} | {'total µJ':>13} | "
          f"{'latency ms':>13} | {'MAC/cycle':>13} | {'x CPU lat':>9} | {'x CPU energy':>12}")
    print("           |  cnncc  paper |  cnncc  paper |  cnncc  paper |  cnncc  paper |  cnncc  paper |"
          "  cnncc  paper |")
    for m in ("cpu",) + P.PAPER_MAPPINGS + ("cnncc-ic4",):
        r = rows[m]
        sp = r["energy_split_uj"]
        pp = PAPER.get(m, (None,) * 6)
        ms = r["cycles"] / CLOCK * 1e3
        mpc = None if m == "cpu" else r["mac_per_cycle"]
        print(f"{m:<11}| {_f(sp['memory'])} {_f(pp[0])} | {_f(sp['cpu'])} {_f(pp[1])} | {_f(sp['cgra'])} "
              f"{_f(pp[2])} | {_f(r['energy_uj'])} {_f(pp[3])} | {_f(ms, d=2)} {_f(pp[4], d=2)} | "
              f"{_f(mpc, d=3)} {_f(pp[5], d=3)} | {cpu['cycles'] / r['cycles']:>9.2f} | "
              f"{cpu['energy_uj'] / r['energy_uj']:>12.2f}")
    wp, ic = rows["conv-wp"], rows["cnncc-ic4"]
    lat, en = cpu["cycles"] / wp["cycles"], cpu["energy_uj"] / wp["energy_uj"]
    print(f"\nConv-WP vs paper: MAC/cycle {wp['mac_per_cycle']:.3f} vs 0.59 ({wp['mac_per_cycle'] / 0.59 - 1:+.1%});"
          f" latency ratio CPU/WP {lat:.2f} vs 9.9 ({lat / 9.9 - 1:+.1%}); energy ratio {en:.2f} vs 3.4 "
          f"({en / 3.4 - 1:+.1%})")
    print(f"cnncc-ic4: {ic['mac_per_cycle']:.3f} MAC/cycle = {ic['mac_per_cycle'] / wp['mac_per_cycle']:.2f}x "
          f"Conv-WP, {ic['mac_per_cycle'] / 0.665:.2f}x the paper's peak (0.665); PE utilisation "
          f"{ic['pe_utilisation']:.0%} (Conv-WP {wp['pe_utilisation']:.0%}); energy {ic['energy_uj']:.1f} µJ")
    if full_sim:
        from tests.openedgecgra.conftest import reference_conv

        x = np.random.default_rng(1).integers(-128, 128, (16, 16, 16))
        ref = reference_conv(x, cl.W, None, cl.prob, (0, 0, 0, 0))
        for m in P.MAPPINGS:
            t = time.perf_counter()
            y, st = P.run(plans[m], x)
            dt = time.perf_counter() - t
            print(f"full simulation {m:<10}: {st.launches:5d} launches, {st.cycles:9,d} CGRA cycles "
                  f"(predicted {rows[m]['cgra_cycles']:9,d}), bit-exact {np.array_equal(y, ref)}, "
                  f"sim_time_s {dt:.1f}")


def sweep(quick: bool):
    sizes = (16, 32, 64) if quick else (16, 32, 48, 64)
    chans = (16, 32, 64, 144) if quick else (16, 32, 48, 64, 96, 144)
    print("\nSweep (3x3, stride 1, C = K): MAC/cycle per mapping ('-' = not applicable / over 512 KiB)")
    print(f"{'out':>4} {'C=K':>4} | " + " | ".join(f"{m:>10}" for m in P.MAPPINGS) + " | best")
    for o in sizes:
        for c in chans:
            cl = layer(c, c, o)
            vals = {m: cost(cl, m)[0].get("mac_per_cycle") for m in P.MAPPINGS}
            ok = {m: v for m, v in vals.items() if v is not None}
            best = max(ok, key=ok.get) if ok else "-"
            print(f"{o:>4} {c:>4} | " + " | ".join(f"{v:>10.3f}" if v is not None else f"{'-':>10}"
                                                  for v in vals.values()) + f" | {best}")


def samples(models: list[str]):
    """Every applicable mapping of every CGRA layer of the sample models, fully simulated on seeded integer
    data (splitting layers that do not fit), against the reference interpreter."""
    from cnncc.backends.openedgecgra.costing import check_layer
    from cnncc.backends.openedgecgra.layer import conv_layer
    from cnncc.backends.openedgecgra.search import search
    from cnncc.driver import load_model, run_passes

    print("\nSample layers: every applicable mapping fully simulated vs the reference interpreter")
    for path in models:
        g = run_passes(load_model(path), "fold-bn,fuse-act").graph
        n_ok = n_all = 0
        for layer in g.layers:
            try:
                cl = conv_layer(g, layer)
            except NotApplicable:
                continue
            cands, _ = search(cl, DEFAULTS)
            for c in cands:
                if c.stats is None:
                    continue
                res = check_layer(g, layer, c.row["mapping"], DEFAULTS, DEFAULTS.check_seed, c.stats.cycles, c.split)
                n_all += 1
                n_ok += bool(res["bit_exact"]) and bool(res["prediction_exact"])
                if not (res["bit_exact"] and res["prediction_exact"]):
                    print(f"  MISMATCH {Path(path).name} {layer.name} {c.row['mapping']}: {res}")
        print(f"  {Path(path).name}: {n_ok}/{n_all} (layer, mapping) runs bit-exact with exact prediction")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full-sim", action="store_true")
    ap.add_argument("--samples", nargs="*", default=None,
                    help="sample models to check (default with the flag: cgra_baseline, small_residual_concat)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    baseline(a.full_sim)
    sweep(a.quick)
    if a.samples is not None:
        root = Path(__file__).resolve().parents[1] / "samples" / "models"
        samples(a.samples or [str(root / "cgra_baseline.onnx"), str(root / "small_residual_concat.onnx")])
    print(f"\nbench_time_s: {time.perf_counter() - t0:.1f}")

"""cnncc's Ethos-U65 model vs Arm Vela 5.2.0, per layer and per network.

For every sample model (samples/models/*.onnx, after the target's default pipeline) and three system
configurations, export the IR as int8 TFLite, compile it with Vela (``--verbose-performance``), match layers by
name (the exporter names each op's output tensor after its IR layer) and print the per-layer ratio cnncc/Vela,
the share of NPU layers within ±10 %, the network total ratio and the wall time of both tools.

    .venv/bin/python bench/vela_fidelity.py [--models a.onnx,b.onnx] [--systems X,Y] [--accel ethos-u65-256]
    .venv/bin/python bench/vela_fidelity.py --random 16 | --seeds 200-247 | --padded 100 | --pooled 40
                                            [--vela-cache DIR]

Needs the ``bench`` extra (``ethos-u-vela``). Exit 1 when Vela is missing.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("Ethos_U65_Client_Server", "Ethos_U65_High_End", "Ethos_U65_Mid_End")
MODE = "Dedicated_Sram_384KB"


def vela_ini() -> Path:
    import ethosu.vela

    return Path(ethosu.vela.__file__).parents[1] / "config_files" / "Arm" / "vela.ini"


#: folder where Vela's parsed results are kept between runs (``--vela-cache``; None: always run Vela)
VELA_CACHE: Path | None = None


def run_vela(tflite: Path, system: str, accel: str, mode: str = MODE, workdir: Path | None = None,
             ini: Path | None = None) -> dict:
    """Compile with Vela. Returns {"per": {layer: Op Cycles}, "rows": {layer: {NPU, SRAM AC, DRAM AC, ...}},
    "total": cycles, "sram_bytes": SRAM used, "wall_s": seconds}. ``ini``: a Vela configuration file naming
    ``system`` and ``mode`` (default: Vela's own Arm/vela.ini). With VELA_CACHE set, a result for the same file
    bytes, configuration file and configuration is read back instead of compiling again (Vela's output depends on
    nothing else)."""
    if VELA_CACHE is not None:
        import hashlib
        import json

        extra = b"" if ini is None else b"|" + Path(ini).read_bytes()
        key = hashlib.sha256(tflite.read_bytes() + f"|{system}|{accel}|{mode}".encode() + extra).hexdigest()[:32]
        hit = VELA_CACHE / f"{key}.json"
        if hit.is_file():
            got = json.loads(hit.read_text())
            if "seq" in got:  # results kept before the rows' sequence was recorded are compiled again
                return got
        res = _run_vela(tflite, system, accel, mode, workdir, ini)
        VELA_CACHE.mkdir(parents=True, exist_ok=True)
        hit.write_text(json.dumps(res))
        return res
    return _run_vela(tflite, system, accel, mode, workdir, ini)


def _run_vela(tflite: Path, system: str, accel: str, mode: str, workdir: Path | None,
              ini: Path | None = None) -> dict:
    out = (workdir or tflite.parent) / f"vela_{tflite.stem}_{system}_{accel}_{mode}"
    t0 = time.perf_counter()
    cmd = [str(Path(sys.executable).parent / "vela"), str(tflite), "--config", str(ini or vela_ini()),
           "--system-config", system, "--memory-mode", mode, "--accelerator-config", accel,
           "--verbose-performance", "--output-dir", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"vela failed on {tflite.name}: {(r.stderr or r.stdout).strip()[-500:]}")
    per: dict[str, float] = {}
    rows: dict[str, dict[str, float]] = {}
    seq: list[tuple[str, str, float]] = []  # every row in Vela's order: (name, original operator, op cycles)
    with open(out / f"{tflite.stem}_per-layer.csv") as f:
        for row in csv.DictReader(f):
            per[row["Name"]] = per.get(row["Name"], 0.0) + float(row["Op Cycles"])
            seq.append((row["Name"], row["Original Operator"], float(row["Op Cycles"])))
            acc = rows.setdefault(row["Name"], {"NPU": 0.0, "SRAM AC": 0.0, "DRAM AC": 0.0, "OffFlash AC": 0.0,
                                                "op": row["NNG Operator"]})
            for k in ("NPU", "SRAM AC", "DRAM AC", "OffFlash AC"):
                acc[k] += float(row[k])
    with open(next(out.glob(f"{tflite.stem}_summary_*.csv"))) as f:
        summ = next(csv.DictReader(f))
    return {"per": per, "rows": rows, "seq": seq, "total": float(summ["cycles_total"]),
            "sram_bytes": float(summ["sram_memory_used"]) * 1024, "wall_s": wall}


def ours(graph, target) -> tuple[list[dict], int, int | None]:
    """cnncc's rows (name, cycles, device, ...), total cycles and peak SRAM bytes for ``graph`` on ``target``."""
    from cnncc.driver import compile_model

    rep = compile_model(graph, target, pipeline="")
    return rep.layers, int(rep.totals["cycles"]), rep.totals.get("peak_sram_bytes")


def compare(graph, system: str, accel: str, workdir: Path, mode: str = MODE, target_name: str | None = None,
            path: Path | None = None, ini: Path | None = None) -> dict:
    """One graph under one system config + memory mode: per-layer pairs (name, cnncc, Vela), the within-10 %
    count, the total ratio, SRAM use of both, and diagnostics (``rows``: per layer both tools' NPU/AC cycles).
    ``target_name``: cnncc's target (name or TOML file; default ``accel``), ``ini``: Vela's configuration file."""
    from cnncc.frontend.tflite.writer import write_tflite
    from cnncc.target import load_target

    if path is None:
        path = workdir / f"{graph.name}.tflite"
        write_tflite(graph, path)
    target = load_target(target_name or accel, {"system": system, "memory_mode": mode})
    t0 = time.perf_counter()
    layers, total, peak = ours(graph, target)
    ours_wall = time.perf_counter() - t0
    v = run_vela(path, system, accel, mode, workdir, ini)
    vela: dict[str, float] = {}
    # Vela names a row after the op's output tensor (cnncc's exporter names it after the layer; a model read from
    # TFLite keeps its tensor names); its extra ops of a lowered layer are named "<output>_..."
    by_out = {x.outputs[0]: x.name for x in graph.layers}
    by_out.update({x.name: x.name for x in graph.layers})
    names = sorted(by_out, key=len, reverse=True)
    # Vela's copy of a graph input into SRAM ("input_buffer_") belongs to the layer cnncc costs it with
    copier = next((d["name"] for d in layers if d.get("input_copy_cycles")), None)
    layer_of = {x.name: x for x in graph.layers}
    seq = _named(v.get("seq") or [(n, "", c) for n, c in v["per"].items()])
    for vname, orig, cyc in seq:
        key = vname if vname in by_out else next((n for n in names if vname.startswith((n + "_", n + "/"))), None)
        if vname.startswith("input_buffer_") and copier is not None:
            key = copier
        owner = by_out[key] if key is not None else vname
        named = layer_of.get(owner) if vname == key else None  # a row carrying exactly a layer's tensor name
        if named is not None and orig and not _same_op(named.kind, orig) and not any(
                p is not None and _same_op(p.kind, orig) for p in map(graph.producer, named.inputs)):
            # an op of a lowered layer named after the layer's input (Vela's PRelu MINIMUM carries its IFM's name):
            # it belongs to the reader of that map whose original operator it is (not when the named layer's own
            # producer is of that operator: a fused activation's row is named after the activation)
            readers = [c for o in named.outputs for c in graph.consumers(o) if _same_op(c.kind, orig)]
            owner = readers[0].name if readers else owner
        if key is not None and vname[len(key):].startswith("_softmax_"):
            # Vela's Softmax lowering names its ops "<IFM name>_softmax_<k>": they belong to the Softmax layer
            sm = [c for c in graph.consumers(next(x.outputs[0] for x in graph.layers if x.name == owner))
                  if c.kind == "Softmax"]
            owner = sm[0].name if sm else owner
        vela[owner] = vela.get(owner, 0.0) + cyc
        if key is not None and vname != owner:
            v["rows"].setdefault(owner, v["rows"].get(vname))
    # Vela names an op that writes straight into a Concat's map after the Concat's output, and an op with a fused
    # activation after the activation's output: compare a Concat together with the layers producing its inputs,
    # and a fused activation with its producer (one unit named "<first layer>+")
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb, key=order.get)] = min(ra, rb, key=order.get)

    order = {x.name: k for k, x in enumerate(graph.layers)}
    gone = {d["name"] for d in layers if d.get("fused_into")}
    for layer in graph.layers:
        # producers write into the concatenated / padded map (not into a Pad a conv took as its own padding; into
        # the PAD the exporter writes for a conv's own padding, which Vela names "<conv>/pad")
        padded = layer.kind == "Pad" or f"{layer.name}/pad" in v["per"]
        if (layer.kind == "Concat" or padded) and layer.name not in gone:
            for t in layer.inputs[:1] if padded else layer.inputs:
                q = graph.producer(t)
                if q is not None:
                    union(layer.name, q.name)
    for d in layers:
        if d.get("fused_into"):
            union(d["name"], d["fused_into"])
    groups: dict[str, list[str]] = {}
    for x in graph.layers:
        groups.setdefault(find(x.name), []).append(x.name)
    unit = {n: r + "+" for r, ns in groups.items() if len(ns) > 1 for n in ns}
    acc: dict[str, list] = {}
    diag = {}
    for d in layers:
        key = unit.get(d["name"], d["name"])
        e = acc.setdefault(key, [0, 0.0, False])
        e[0] += d["cycles"]
        e[1] += vela.get(d["name"], 0.0)
        e[2] |= d["device"] == "npu"
        diag[d["name"]] = ({k: d.get(k) for k in ("npu_cycles", "sram_access_cycles", "dram_access_cycles",
                                                  "ofm_block", "device")}, v["rows"].get(d["name"]))
    pairs = [(k, c, x) for k, (c, x, npu) in acc.items() if npu and x > 0]
    within = sum(1 for _, c, x in pairs if abs(c / x - 1) <= 0.10)
    return {"graph": graph.name, "system": system, "accel": accel, "mode": mode, "pairs": pairs, "within": within,
            "layers": len(pairs), "ours_total": total, "vela_total": v["total"],
            "total_ratio": total / v["total"] if v["total"] else float("nan"),
            "ours_sram_bytes": peak, "vela_sram_bytes": v["sram_bytes"], "rows": diag,
            "ours_time_s": ours_wall, "vela_time_s": v["wall_s"]}


def _named(seq: list) -> list:
    """Vela's rows with its unnamed ones ("#<id>": an intermediate op of a lowered operator, e.g. the first ×2
    upscale of a ×4 Resize, a pass of a Transpose) named as the next named row of the unbroken run of rows of the
    same original operator (the lowering's last op, which writes the layer's output), else the previous one."""
    out = [list(r) for r in seq]

    def run(rows: list) -> str | None:  # the first named row of the unbroken run of rows of that operator
        for x in rows:
            if x[1] != orig:
                return None
            if not x[0].startswith("#"):
                return x[0]
        return None

    for i, r in enumerate(out):
        orig = r[1]
        if r[0].startswith("#") and orig:
            r[0] = run(out[i + 1:]) or run(out[i - 1::-1] if i else []) or r[0]
    return out


def _same_op(kind: str, original: str) -> bool:
    """Whether Vela's "Original Operator" (a TFLite operator name: Prelu, MaxPool, ...) is an IR layer kind."""
    return kind.replace("_", "").lower() == original.replace("_", "").lower()


def load_sample(path: Path, target_name: str = "ethos-u65-256"):
    from cnncc.driver import load_model, run_passes
    from cnncc.target import load_target

    g = load_model(path)
    t = load_target(target_name)
    return run_passes(g, t.default_pipeline, t).graph


#: (accelerator, system configuration, memory mode) of the random-network sweep
CONFIGS = (("ethos-u65-256", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB"),
           ("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram_384KB"),
           ("ethos-u65-256", "Ethos_U65_Client_Server", "Shared_Sram"),
           ("ethos-u65-256", "Ethos_U65_High_End", "Sram_Only"),
           ("ethos-u65-512", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB"),
           ("ethos-u65-512", "Ethos_U65_High_End", "Dedicated_Sram_384KB"),
           ("ethos-u65-512", "Ethos_U65_Client_Server", "Shared_Sram"),
           ("ethos-u65-512", "Ethos_U65_High_End", "Sram_Only"),
           ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram"))


def random_sweep(seeds, configs=CONFIGS, workdir: Path | None = None, verbose: bool = False,
                 padded: bool = False, pooled: bool = False) -> list[dict]:
    """Agreement on the seeded random networks (tests/ethos_u65/randnet.py; ``padded``: the Pad → conv networks of
    tests/ethos_u65/padnet.py; ``pooled``: the conv → padded pool networks of tests/ethos_u65/poolnet.py) per
    configuration: NPU layers within ±10 %, networks within ±5 %, and peak SRAM within ±10 % of Vela's; one dict
    per configuration. A configuration is (accelerator, system, memory mode), optionally followed by cnncc's
    target file and Vela's configuration file naming that system and mode."""
    sys.path.insert(0, str(ROOT))
    from cnncc.frontend.tflite.writer import write_tflite

    if padded:
        from tests.ethos_u65.padnet import padded_network as make
    elif pooled:
        from tests.ethos_u65.poolnet import pooled_network as make
    else:
        from tests.ethos_u65.randnet import random_network as make

    out = []
    with tempfile.TemporaryDirectory() as td:
        wd = workdir or Path(td)
        graphs = {s: make(s) for s in seeds}
        paths = {}
        for s, g in graphs.items():
            paths[s] = wd / f"{g.name}.tflite"
            write_tflite(g, paths[s])
        for accel, system, mode, *files in configs:
            target, ini = (list(files) + [None, None])[:2]
            agg = {"accel": accel, "system": system, "mode": mode, "within": 0, "layers": 0, "nets": 0,
                   "totals_ok": 0, "sram_ok": 0, "sram_n": 0, "ratios": [], "sram_ratios": []}
            for s, g in graphs.items():
                r = compare(g, system, accel, wd, mode, target_name=target, path=paths[s], ini=ini)
                agg["within"] += r["within"]
                agg["layers"] += r["layers"]
                agg["nets"] += 1
                agg["totals_ok"] += abs(r["total_ratio"] - 1) <= 0.05
                agg["ratios"].append(round(r["total_ratio"], 3))
                if r["vela_sram_bytes"] > 4096 and r["ours_sram_bytes"]:
                    agg["sram_n"] += 1
                    agg["sram_ok"] += abs(r["ours_sram_bytes"] / r["vela_sram_bytes"] - 1) <= 0.10
                    agg["sram_ratios"].append(round(r["ours_sram_bytes"] / r["vela_sram_bytes"], 3))
                if verbose:
                    bad = [(n, c, int(v)) for n, c, v in r["pairs"] if abs(c / v - 1) > 0.10]
                    print(f"  {g.name} {accel} {system} {mode}: {r['within']}/{r['layers']} "
                          f"total {r['total_ratio']:.3f} off: {bad}")
            out.append(agg)
    return out


def random_hw_sweep(hw_seeds, net_seeds, workdir: Path | None = None) -> list[dict]:
    """:func:`random_sweep` of the random networks ``net_seeds`` on seeded random hardware descriptions
    (tests/ethos_u65/randhw.py: a Vela configuration file and cnncc target TOMLs written at run time); each result
    also carries the description's seed and label."""
    sys.path.insert(0, str(ROOT))
    from tests.ethos_u65.randhw import random_hardware, write_files

    with tempfile.TemporaryDirectory() as td:
        wd = workdir or Path(td)
        hws = [random_hardware(s) for s in hw_seeds]
        ini, targets = write_files(hws, wd)
        configs = [(h.accel, h.system, h.mode, str(targets[h.seed]), ini) for h in hws]
        out = random_sweep(net_seeds, configs, wd)
    return [dict(r, seed=h.seed, label=h.label()) for r, h in zip(out, hws)]


#: the trained int8 wake-word models of samples/thirdparty (``make samples``)
KWS = ("alexa", "hey_jarvis", "hey_mycroft", "okay_nabu")


def kws_sram(configs=CONFIGS, workdir: Path | None = None) -> list[dict]:
    """Peak SRAM cnncc/Vela ("Total SRAM used") on the trained wake-word models (Vela on the original file, cnncc
    on the network its TFLite reader builds), one dict per configuration: {"config", "ratios": {model: ratio or
    None where Vela uses at most 4 KiB}}; models not fetched are left out."""
    import cnncc

    paths = {n: ROOT / "samples" / "thirdparty" / f"{n}.tflite" for n in KWS}
    paths = {n: p for n, p in paths.items() if p.is_file()}
    out = []
    with tempfile.TemporaryDirectory() as td:
        for accel, system, mode in configs:
            ratios: dict[str, float | None] = {}
            for name, path in paths.items():
                v = run_vela(path, system, accel, mode, workdir or Path(td))
                peak = cnncc.compile(path, target=accel, system=system, memory_mode=mode).totals["peak_sram_bytes"]
                ratios[name] = round(peak / v["sram_bytes"], 3) if v["sram_bytes"] > 4096 else None
            out.append({"config": (accel, system, mode), "ratios": ratios})
    return out


def parse_seeds(text: str) -> list[int]:
    """Seeds from 'A-B' (inclusive range) or a comma-separated list ('3,7,100-103' mixes both)."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="", help="comma-separated ONNX files (default: samples/models/*.onnx)")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--accel", default="ethos-u65-256")
    ap.add_argument("--random", type=int, default=0, help="also sweep N seeded random networks over CONFIGS")
    ap.add_argument("--seeds", default="", help="random-network seeds instead of 0..N-1: 'A-B' (inclusive) or 'a,b,c'")
    ap.add_argument("--padded", type=int, default=0,
                    help="sweep N seeded Pad -> conv networks (tests/ethos_u65/padnet.py; --seeds picks others)")
    ap.add_argument("--pooled", type=int, default=0,
                    help="sweep N seeded conv -> padded pool networks (tests/ethos_u65/poolnet.py)")
    ap.add_argument("--verbose", action="store_true", help="print every layer")
    ap.add_argument("--vela-cache", default="", help="keep Vela's results in this folder and reuse them")
    ap.add_argument("--kws", action="store_true", help="peak SRAM on the trained wake-word models over CONFIGS")
    ap.add_argument("--random-hw", type=int, default=0,
                    help="N seeded random hardware descriptions (tests/ethos_u65/randhw.py) with the random "
                         "networks of --seeds (default 200-211)")
    a = ap.parse_args(argv)
    global VELA_CACHE
    VELA_CACHE = Path(a.vela_cache) if a.vela_cache else None
    try:
        import ethosu  # noqa: F401
    except ImportError:
        print("Vela (ethos-u-vela) is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    if a.kws:
        ok = n = 0
        for r in kws_sram():
            cells = " ".join(f"{m} {x:.3f}" if x is not None else f"{m} —" for m, x in r["ratios"].items())
            ok += sum(1 for x in r["ratios"].values() if x is not None and abs(x - 1) <= 0.10)
            n += sum(1 for x in r["ratios"].values() if x is not None)
            print(f"{' '.join(r['config']):62s} peak SRAM cnncc/Vela: {cells}")
        print(f"peak SRAM within ±10%: {ok}/{n}")
        return 0
    if a.random_hw:
        ok = n = tok = tn = 0
        for r in random_hw_sweep(range(a.random_hw), parse_seeds(a.seeds or "200-211")):
            print(f"hw {r['seed']:3d} {r['label']:100s} NPU layers {r['within']}/{r['layers']}; totals within ±5%: "
                  f"{r['totals_ok']}/{r['nets']} ({min(r['ratios']):.3f} … {max(r['ratios']):.3f})", flush=True)
            ok, n, tok, tn = ok + r["within"], n + r["layers"], tok + r["totals_ok"], tn + r["nets"]
        print(f"ALL: NPU layers {ok}/{n} ({100 * ok / max(n, 1):.1f}%) within ±10%; totals {tok}/{tn} within ±5%")
        return 0
    if a.random or a.seeds or a.padded or a.pooled:
        seeds = parse_seeds(a.seeds) if a.seeds else range(a.padded or a.pooled or a.random)
        for r in random_sweep(seeds, verbose=a.verbose, padded=bool(a.padded), pooled=bool(a.pooled)):
            print(f"{r['accel']:14s} {r['system']:24s} {r['mode']:22s} NPU layers {r['within']}/{r['layers']} "
                  f"({100 * r['within'] / max(r['layers'], 1):.1f}%) within ±10%; totals within ±5%: "
                  f"{r['totals_ok']}/{r['nets']}; peak SRAM within ±10%: {r['sram_ok']}/{r['sram_n']} "
                  f"(cnncc/Vela {min(r['sram_ratios'], default=1):.3f} … {max(r['sram_ratios'], default=1):.3f})")
        return 0
    models = [Path(m) for m in a.models.split(",") if m] or sorted((ROOT / "samples" / "models").glob("*.onnx"))
    all_within = all_layers = 0
    with tempfile.TemporaryDirectory() as td:
        for m in models:
            g = load_sample(m, a.accel)
            for system in a.systems.split(","):
                r = compare(g, system, a.accel, Path(td))
                all_within += r["within"]
                all_layers += r["layers"]
                print(f"{r['graph']:24s} {system:24s} layers {r['layers']:3d}  within±10% "
                      f"{100 * r['within'] / max(r['layers'], 1):5.1f}%  total cnncc/Vela {r['total_ratio']:.3f}  "
                      f"(cnncc {r['ours_time_s'] * 1e3:.0f} ms, Vela {r['vela_time_s'] * 1e3:.0f} ms, "
                      f"speed-up {r['vela_time_s'] / max(r['ours_time_s'], 1e-9):.1f}x)")
                if a.verbose:
                    for name, c, v in r["pairs"]:
                        print(f"    {name:40s} {c:10d} {v:10.0f}  {c / v:6.3f}")
    print(f"ALL: {all_within}/{all_layers} NPU layers within ±10% ({100 * all_within / max(all_layers, 1):.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

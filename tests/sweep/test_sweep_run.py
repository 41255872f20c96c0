"""A sweep of >= 200 points (4 models x Ethos-U65 and offload parameters x ABConv groups) run three ways:
killed part-way as a `cnncc sweep -j 2` subprocess and resumed, and on a Dask cluster of separate processes.
The reports are byte-identical, the resumed run computed only the missing points, and points agree with a
plain compile."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cnncc
from cnncc.driver import compile_model
from cnncc.target import load_target

HERE = Path(__file__).resolve().parent

SWEEP = """schema_version = 1
name = "u65-offload"
models = [{models}]
targets = ["ethos-u65-256", {{ name = "offload", set = {{ z3_certify = false }} }}]
pipelines = ["fold-bn,fuse-act", "fold-bn,fuse-act,abconv{{groups={{g}}}}"]
objectives = ["latency_ms", "peak_sram_bytes"]
constraints = ["target != 'offload' or (model in ['cgra_baseline', 'tiny_dw'] and pipeline == 'fold-bn,fuse-act')"]

[axes]
system = ["Ethos_U65_High_End", "Ethos_U65_Client_Server"]
memory_mode = ["Sram_Only", "Shared_Sram", "Dedicated_Sram"]
arena_cache_size_bytes = {{ log_range = [262144, 1048576], factor = 2 }}
g = [2, 4]
onchip_bytes = {{ log_range = [16384, 262144], factor = 4 }}
dma_bytes_per_cycle = [8, 16]

[budgets.fast]
latency_ms = 0.02
best = "peak_sram_bytes"
"""


@pytest.fixture(scope="module")
def sweep_file(small_models, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sweep")
    p = d / "s.toml"
    p.write_text(SWEEP.format(models=", ".join(json.dumps(str(m)) for m in small_models.values())))
    return p


def _lines(path: Path) -> list[bytes]:
    try:
        return [x for x in path.read_bytes().split(b"\n") if x]
    except FileNotFoundError:
        return []


@pytest.fixture(scope="module")
def dask_address():
    pytest.importorskip("distributed")
    proc = subprocess.Popen([sys.executable, str(HERE / "dask_cluster.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        addr = proc.stdout.readline().strip()
        assert addr.startswith("tcp://"), addr
        yield addr
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_sweep_killed_resumed_and_on_dask_agree(sweep_file, dask_address, tmp_path):
    local, dask = tmp_path / "local", tmp_path / "dask"
    # 1. a local -j 2 sweep, killed (SIGKILL, the whole process group) once some points are written
    proc = subprocess.Popen([sys.executable, "-m", "cnncc.cli", "sweep", str(sweep_file), "-j", "2", "-o",
                             str(local), "-q", "-f", "json"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_lines(local / "results.jsonl")) < 25 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = (local / "results.jsonl").read_bytes()
    done_before = len(_lines(local / "results.jsonl"))
    assert done_before >= 25, proc.stderr.read().decode()

    # 2. the rerun finishes only the missing points
    messages: list[str] = []
    rep = cnncc.sweep(sweep_file, jobs=2, out_dir=local, log=messages.append)
    total = rep.totals["points"]
    assert total >= 200 and done_before < total
    assert any(f"{done_before} already done, {total - done_before} to run" in m for m in messages), messages
    after = (local / "results.jsonl").read_bytes()
    assert after.startswith(before)  # nothing recomputed or rewritten
    keys = [json.loads(x)["key"] for x in _lines(local / "results.jsonl")]
    assert len(keys) == total == len(set(keys))
    assert rep.totals["finished"] == total and rep.totals["ok"] >= 200

    # 3. the same sweep on a Dask cluster (scheduler and workers in other processes): identical outputs
    rep_dask = cnncc.sweep(sweep_file, scheduler=dask_address, out_dir=dask)
    assert (dask / "sweep.json").read_bytes() == (local / "sweep.json").read_bytes()
    assert (dask / "results.csv").read_bytes() == (local / "results.csv").read_bytes()
    assert rep_dask.to_json(stable=True) == rep.to_json(stable=True)

    # 4. points agree with a plain compile of the same configuration (a seeded sample)
    rows = json.loads((local / "sweep.json").read_text())["layers"]
    models = {Path(m).stem: Path(m) for m in (json.loads(sweep_file.read_text().split("models = ")[1]
                                                          .split("\n")[0]))}
    for row in random.Random(0).sample(rows, 6):
        overrides = dict(row["axes"])
        pipeline = row["pipeline"]
        overrides.pop("g", None)
        name = "offload" if row["target"].startswith("offload") else row["target"]
        if name == "offload":
            overrides["z3_certify"] = False
        try:
            want = compile_model(models[Path(row["model"]).stem], load_target(name, overrides),
                                 pipeline).to_dict(stable=True)["totals"]
        except Exception as e:  # noqa: BLE001 - the sweep records the same failure (70: not a CnnccError)
            assert row["status"] == "failed"
            assert row["exit_code"] == (e.exit_code if isinstance(e, cnncc.errors.CnnccError) else 70)
            continue
        assert row["status"] == "ok" and row["totals"] == want

    # the Pareto front of each model is the set of non-dominated ok points
    for model, front in rep.sections["pareto"].items():
        pts = [(r["index"], (r["totals"]["latency_ms"], r["totals"]["peak_sram_bytes"])) for r in rows
               if r["model"] == model and r["status"] == "ok"]
        brute = [i for i, v in pts if not any(all(a <= b for a, b in zip(w, v)) and w != v for _, w in pts)]
        assert front == brute

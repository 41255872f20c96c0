"""The generated C host program runs end to end: built natively against the CGRA stub (a functional model behind
the register interface) it loads each part's image and context memory, runs the launch plan and matches the
expected outputs; built for the cv32e20 host with the RISC-V cross compiler (skipped with the reason when the
compiler is missing)."""

import shutil
import subprocess

import numpy as np
import pytest

from cnncc.driver import compile_model
from cnncc.ir import Graph, Layer, tensor_type
from cnncc.ir import ops as O

MAPPINGS = ("conv-wp", "conv-op", "im2col-ip", "im2col-op", "cnncc-ic4")


def _graph(seed: int) -> Graph:
    rng = np.random.default_rng(seed)
    w = {"w1": rng.normal(size=(6, 3, 3, 3)).astype(np.float32), "b1": rng.normal(size=(6,)).astype(np.float32),
         "wd": rng.normal(size=(6, 1, 3, 3)).astype(np.float32),
         "w2": rng.normal(size=(5, 54)).astype(np.float32), "b2": rng.normal(size=(5,)).astype(np.float32)}
    return Graph.build("t", {"x": tensor_type((1, 3, 7, 7))}, ["y"], [
        Layer("c1", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1), act=O.Relu()), ("x", "w1", "b1"), ("a",)),
        Layer("dw", O.Conv(kernel=(3, 3), strides=(2, 2), groups=6, act=O.Clip(lo=-3.0, hi=20.0)), ("a", "wd"),
              ("b",)),
        Layer("f", O.Flatten(), ("b",), ("c",)),
        Layer("fc", O.Gemm(trans_b=True), ("c", "w2", "b2"), ("y",)),
    ], weights=w)


def _build_and_run(src, cc: str, extra=()) -> str:
    files = sorted(str(p) for p in src.glob("*.c"))
    exe = src / "prog"
    subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-DCNNCC_STUB", "-o", str(exe), *files, *extra], check=True,
                   capture_output=True, text=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=120).stdout


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no native C compiler (gcc) on this machine")
@pytest.mark.parametrize("mapping", MAPPINGS)
def test_generated_program_runs_natively_and_matches(tmp_path, mapping):
    g = _graph(3)
    rep = compile_model(g, "cgra", overrides={"mappings": [mapping]}, out_dir=tmp_path)
    cgra_layers = [r["name"] for r in rep.layers if r["device"] == "cgra" and "part" not in r]
    assert cgra_layers
    out = _build_and_run(tmp_path / "cgra" / "src", "gcc")
    assert out.strip().endswith("PASS"), out
    for name in cgra_layers:
        assert f"layer {name}: ok" in out


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no native C compiler (gcc) on this machine")
def test_split_layer_program_matches(tmp_path):
    rng = np.random.default_rng(2)
    g = Graph.build("big", {"x": tensor_type((1, 16, 20, 20))}, ["y"], [
        Layer("c", O.Conv(kernel=(3, 3), pads=(1, 1, 1, 1)), ("x", "w"), ("y",))],
        weights={"w": rng.integers(-8, 9, (24, 16, 3, 3)).astype(np.float32)})
    compile_model(g, "cgra", overrides={"sram_bytes": 65536}, out_dir=tmp_path)
    assert (tmp_path / "cgra" / "c" / "part1" / "plan.json").exists()
    out = _build_and_run(tmp_path / "cgra" / "src", "gcc", ["-DCNNCC_STUB_SRAM_BYTES=65536"])
    assert out.strip().endswith("PASS"), out


def test_generated_program_builds_for_cv32e20(tmp_path):
    cc = shutil.which("riscv64-unknown-elf-gcc")
    if cc is None:
        pytest.skip("riscv64-unknown-elf-gcc missing (Debian: apt-get install gcc-riscv64-unknown-elf "
                    "picolibc-riscv64-unknown-elf)")
    compile_model(_graph(4), "cgra", out_dir=tmp_path)
    src = tmp_path / "cgra" / "src"
    files = [str(p) for p in sorted(src.glob("*.c")) if p.name != "cgra_stub.c"]
    r = subprocess.run([cc, "-march=rv32imc", "-mabi=ilp32", "-O2", "-std=c99", "--specs=picolibc.specs", "-c",
                        *files], cwd=src, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert len(list(src.glob("*.o"))) == len(files)

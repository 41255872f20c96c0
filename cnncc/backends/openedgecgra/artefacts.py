"""``-o DIR`` artefacts of one CGRA layer: kernels (CSV assembly, ``out.sat``, binary and hex words, kernel
word), the host launch plan (JSON) and the data-memory image (``memory.csv``, byte address of each word)."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

from cnncc.backends.openedgecgra import asm, isa
from cnncc.report import atomic_write


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def write_layer(out_dir: Path, layer_name: str, plan) -> Path:
    d = out_dir / "cgra" / _safe(layer_name)
    kd = d / "kernels"
    for name, k in sorted(plan.kernels.items()):
        base = _safe(name)
        atomic_write(kd / f"{base}.csv", asm.to_csv(k.program))
        atomic_write(kd / f"{base}.out.sat", asm.to_sat(k.program))
        words = asm.assemble(k.program)
        atomic_write(kd / f"{base}.bin", b"".join(struct.pack("<I", w) for step in words for w in step))
        atomic_write(kd / f"{base}.hex", "".join(f"{w:08X}\n" for step in words for w in step))
    launches = [{"kernel": b.kernel, "kernel_word": f"0x{isa.kernel_word(plan.kernels[b.kernel].n_instr):04X}",
                 "read_ptr": list(lc.rptr), "write_ptr": list(lc.wptr), "host_pre": _pre(plan.pre.get(i))}
                for i, b in enumerate(plan.batches) for lc in b.launches]
    hw = plan.host
    doc = {"mapping": plan.mapping, "launches": launches,
           "host_work": {k: getattr(hw, k) for k in ("launches", "reconfigs", "reconfig_words", "param_stores",
                                                      "copy_words", "zero_words", "post_words")},
           "output_planes": plan.image.planes.get("out", []), "input_planes": plan.image.planes.get("in", []),
           "regions": {n: {"byte_address": r.addr, "words": r.words} for n, r in sorted(plan.image.regions.items())}}
    atomic_write(d / "plan.json", json.dumps(doc, indent=1, sort_keys=True) + "\n")
    mem = plan.image.materialise()
    nz = mem.nonzero()[0]
    atomic_write(d / "memory.csv", "Address,Data\n" + "".join(f"{4 * i},{int(mem[i])}\n" for i in nz))
    return d


def _pre(job):
    if job is None:
        return None
    if job[0] == "words":
        return {"param_words": [{"byte_address": a, "value": v} for a, v in job[1]]}
    if job[0] == "im2col":
        return {"im2col": {"group": job[1], "y": job[2], "x": job[3], "buffer_byte_address": 4 * job[4]}}
    return {"param_word": {"byte_address": 28, "value": job[1]}}

"""``-o DIR`` artefacts (returned as bytes by relative path; the driver writes them): per CGRA layer (and part)
the kernels, the complete SRAM image before the first launch, the context-memory image with kernel IDs and
reconfiguration points, the launch plan with every pointer and host step, the seeded input and the expected
output; for the network a C host program (``main.c`` + one ``layer_*.c`` per layer + the runtime), a native
CGRA stub, a Makefile and a README documenting the layout. All data comes from ``check_data`` with the seed
``--check`` uses, so a run is reproducible from the report."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import numpy as np

from cnncc.backends.openedgecgra import asm, context, isa
from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra.c_runtime import HEADER, RUNTIME, STUB
from cnncc.backends.openedgecgra.costing import check_data
from cnncc.backends.openedgecgra.layer import conv_layer, to_chw
from cnncc.backends.openedgecgra.spec import CgraSpec
from cnncc.ir import ops as O

HOST_BIAS = ("conv-op", "im2col-op", "im2col-ip")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _cid(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _i32(a) -> bytes:
    return np.asarray(a, np.int64).astype("<i4").tobytes()


def _carr(ctype: str, name: str, vals) -> str:
    vals = [int(v) for v in vals] or [0]
    body = ",".join(str(v) if ctype != "uint32_t" else f"{v & 0xFFFFFFFF}u" for v in vals)
    return f"static const {ctype} {name}[{len(vals)}] = {{{body}}};\n"


def _ctable(ctype: str, name: str, items: list[str], empty: str) -> str:
    return f"static const {ctype} {name}[{max(1, len(items))}] = {{{','.join(items) or empty}}};\n"


def _regions(plan: P.Plan) -> list:
    """Disjoint regions of the image (plane aliases inside a stripe dropped), by address."""
    regs = sorted(plan.image.regions.values(), key=lambda r: (r.base, -r.words))
    out, end = [], -1
    for r in regs:
        if r.base + r.words <= end:
            continue
        out.append(r)
        end = r.base + r.words
    return out


def _imem_steps(plan: P.Plan, ctx: context.ContextPlan) -> tuple[list, list]:
    """Per launch, the context/kernel-memory writes before it: [(bank, index, word)], bank 0xFFFF = KMEM."""
    words = {n: asm.assemble(k.program) for n, k in plan.kernels.items()}
    content: dict[str, str] = {}
    per = []
    for st in ctx.steps:
        t = ctx.template_of[st.kernel]
        slot = t if ctx.resident else "imem0"
        s0, n = ctx.starts[t], plan.kernels[st.kernel].n_instr
        w = []
        if st.load or st.patch:
            old = words.get(content.get(slot, ""))
            for r in range(isa.ROWS):
                for c in range(isa.COLS):
                    for i in range(n):
                        new = words[st.kernel][i][r * isa.COLS + c]
                        if st.load or old is None or old[i][r * isa.COLS + c] != new:
                            w.append((r, s0 + c * n + i, new))
            content[slot] = st.kernel
        elif slot not in content:
            content[slot] = st.kernel
        w += [(0xFFFF, kid, word) for kid, word in st.kmem]
        per.append(w)
    imem0 = np.zeros((isa.ROWS, context.CMEM_BANK_WORDS), np.int64)
    used = 0
    if ctx.resident:
        firsts: dict[str, str] = {}
        for st in ctx.steps:
            firsts.setdefault(ctx.template_of[st.kernel], st.kernel)
        for t, k in firsts.items():
            n = plan.kernels[k].n_instr
            for r, bank in enumerate(isa.context_image(plan.kernels[k].program)):
                imem0[r, ctx.starts[t]:ctx.starts[t] + 4 * n] = bank
            used = max(used, ctx.starts[t] + 4 * n)
    return per, [imem0, used]


def _part(plan: P.Plan, x_part: np.ndarray, tag: str, where: tuple | None, prev_id: int) -> tuple[dict, str, dict]:
    """(files of the part folder, the C definitions of the part, the part's plan.json document); ``prev_id``:
    the kernel ID the program launched last (the part's first launch uses another one)."""
    ctx = context.plan_context(plan.kernels, [b.kernel for b in plan.batches], prev_id)
    assert ctx.reconfigs == plan.context.reconfigs and ctx.imem_words == plan.context.imem_words
    mem, _ = P.initial_memory(plan, x_part)
    regs = _regions(plan)
    image = np.concatenate([mem[r.base:r.base + r.words] for r in regs]) if regs else np.zeros(0, np.int64)
    offs = np.cumsum([0] + [r.words for r in regs])
    imem_per, (imem0, used) = _imem_steps(plan, ctx)
    kmem0 = [0] * context.KMEM_DEPTH
    for kid, word in ctx.setup_kmem:
        kmem0[kid] = word
    cl, p = plan.layer, plan.layer.prob
    launches: list = []
    imem_flat: list = []
    params: list = []
    c_launch = []
    for i, (b, st) in enumerate(zip(plan.batches, ctx.steps)):
        lc = b.launches[0]
        job = plan.pre.get(i)
        pre: dict[str, Any] | None = None
        kind, pw, gyx = 0, [], (0, 0, 0)
        if job is not None and job[0] == "words":
            kind, pw = 1, list(job[1])
            pre = {"param_words": [{"byte_address": a, "value": int(v)} for a, v in pw]}
        elif job is not None and job[0] == "param":
            kind, pw = 1, [(28, int(job[1]))]
            pre = {"param_words": [{"byte_address": 28, "value": int(job[1])}]}
        elif job is not None and job[0] == "im2col":
            kind, gyx = 2, job[1:4]
            pre = {"im2col": {"group": job[1], "y": job[2], "x": job[3], "buffer_byte_address": 4 * job[4]}}
        ws = imem_per[i]
        kword = isa.kernel_word(plan.kernels[b.kernel].n_instr, ctx.starts[ctx.template_of[b.kernel]])
        launches.append({"kernel": b.kernel, "kernel_id": st.kernel_id, "reconfigure": st.reconfigure,
                         "kernel_word": f"0x{kword:04X}",
                         "read_ptr": list(lc.rptr), "write_ptr": list(lc.wptr),
                         "imem_writes": len([w for w in ws if w[0] != 0xFFFF]),
                         "kmem_writes": [{"kernel_id": k, "word": f"0x{w:04X}"} for b_, k, w in ws if b_ == 0xFFFF],
                         "host_pre": pre})
        rp, wp = ",".join(f"{v}u" for v in lc.rptr), ",".join(f"{v}u" for v in lc.wptr)
        c_launch.append(f"{{{st.kernel_id},{int(st.reconfigure)},{kind},{{{rp}}},{{{wp}}},{len(imem_flat)},{len(ws)},"
                        f"{len(params)},{len(pw)},{gyx[0]},{gyx[1]},{gyx[2]}}}")
        imem_flat += ws
        params += pw
    out_hwc = plan.image.regions["out_hwc"].addr if "out_hwc" in plan.image.regions else 0
    planes = [] if out_hwc else plan.image.planes["out"]
    bias = cl.bias if (cl.bias is not None and plan.mapping in HOST_BIAS) else None
    k0, _, y0, _ = (where[0], where[1], where[2], where[3]) if where else (0, cl.K, 0, p.OY)
    in_addr = plan.image.regions["in"].addr if "in" in plan.image.regions else 0
    im2col = plan.image.regions["im2col"].addr if "im2col" in plan.image.regions else 0
    geom = ",".join(str(v) for v in (p.C, p.K, p.IY, p.IX, p.OY, p.OX, p.FY, p.FX, p.SY, p.SX, p.DY, p.DX,
                                      cl.groups))
    fields = [f"{{{geom}}}", f"{tag}_image", f"{tag}_regions", str(len(regs)), f"{tag}_imem0", str(used),
              f"{tag}_kmem0", f"{tag}_launches", str(len(c_launch)), f"{tag}_imem", f"{tag}_params", f"{in_addr}u",
              f"{im2col}u", f"{out_hwc}u", f"{tag}_planes", "0" if bias is None else f"{tag}_bias", str(k0),
              str(k0 + cl.K), str(y0), str(y0 + p.OY)]
    c = [_carr("int32_t", f"{tag}_image", image),
         _ctable("cnncc_region_t", f"{tag}_regions", [f"{{{r.addr}u,{r.words}u,{int(o)}u}}"
                                                      for r, o in zip(regs, offs)], "{0,0,0}"),
         _carr("uint32_t", f"{tag}_imem0", imem0.ravel()), _carr("uint32_t", f"{tag}_kmem0", kmem0),
         _ctable("cnncc_launch_t", f"{tag}_launches", c_launch, ""),
         _ctable("cnncc_imem_t", f"{tag}_imem", [f"{{{b},{i},{w}u}}" for b, i, w in imem_flat], "{0,0,0}"),
         _ctable("cnncc_word_t", f"{tag}_params", [f"{{{a}u,{int(v)}}}" for a, v in params], "{0,0}"),
         _carr("uint32_t", f"{tag}_planes", planes), _carr("int32_t", f"{tag}_bias", [] if bias is None else bias),
         f"static const cnncc_part_t {tag} = {{{', '.join(fields)}}};\n"]
    doc = {"mapping": plan.mapping, "geometry": {k: getattr(p, k) for k in ("C", "K", "IY", "IX", "OY", "OX", "FY",
                                                                           "FX", "SY", "SX", "DY", "DX")},
           "groups": cl.groups, "output_origin": {"k": k0, "y": y0},
           "memory_image": [{"name": r.name, "byte_address": r.addr, "words": r.words, "offset_words": int(o)}
                            for r, o in zip(regs, offs)],
           "input_byte_address": in_addr, "im2col_byte_address": im2col,
           "output": ({"layout": "HWC", "byte_address": out_hwc} if out_hwc else
                      {"layout": "CHW planes", "plane_byte_addresses": planes}),
           "host_post": (["hwc-to-chw"] if out_hwc else []) + (["bias-add"] if bias is not None else []),
           "host_bias": None if bias is None else [int(v) for v in bias],
           "context": {"resident": ctx.resident, "imem_words_per_bank_at_start": used,
                       "templates": {t: {"start_word": s} for t, s in sorted(ctx.starts.items())},
                       "kmem_at_start": [{"kernel_id": k, "word": f"0x{w:04X}"} for k, w in ctx.setup_kmem],
                       "reconfigurations": ctx.reconfigs},
           "launches": launches}
    files = {"memory.bin": _i32(image), "cmem.hex": "".join(f"{int(w) & 0xFFFFFFFF:08X}\n" for w in imem0.ravel())
             + "".join(f"{w:08X}\n" for w in kmem0)}
    for name, k in sorted(plan.kernels.items()):
        files[f"kernels/{_safe(name)}.csv"] = asm.to_csv(k.program)
        files[f"kernels/{_safe(name)}.out.sat"] = asm.to_sat(k.program)
    files["plan.json"] = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    return files, "".join(c), doc


def _act(act) -> tuple[int, int, int]:
    if act is None:
        return 0, 0, 0
    if isinstance(act, O.Relu):
        return 1, 0, 0
    lo = -2**31 if act.lo == -np.inf else int(np.ceil(act.lo))
    hi = 2**31 - 1 if act.hi == np.inf else int(np.floor(act.hi))
    return 2, lo, hi


def cgra_order(graph, layer, y: np.ndarray, K: int) -> np.ndarray:
    """The layer's output (its own shape) in the CGRA's (K, OY, OX) order (inverse of ``layer.from_chw``)."""
    op = layer.op
    if isinstance(op, O.Conv) or (isinstance(op, O.MatMul) and graph.is_weight(layer.inputs[0])):
        return np.asarray(y).reshape(K, -1)
    return np.asarray(y).reshape(-1, K).T


def layer_artefacts(graph, layer, best_row: dict, split, spec: CgraSpec, seed: int,
                    last: list[int]) -> tuple[dict, str, str]:
    """(files under the layer folder, the layer's C source, its C function name); ``last[0]``: the kernel ID the
    program launched last (updated)."""
    from cnncc.backends.openedgecgra import split as S

    data = check_data(graph, layer, seed)
    cl = conv_layer(graph, layer, weights=data.weights)
    if cl.requant:                 # quantised: the images hold the int32 accumulators the CGRA leaves (the
        cl = replace(cl, act=None)  # host's requantisation, with the activation's clamp, comes after them)
    xc = np.asarray(to_chw(graph, layer, data.x), np.int64)
    mapping = best_row["mapping"]
    parts = [(cl, None, xc)] if split is None else \
        [(replace(pt, act=None), where, S.padded_input(cl, xc)[where[4]:where[5], where[6]:where[6] + pt.prob.IY])
         for pt, where in S.split(cl, *split)]
    files: dict[str, Any] = {}
    fn = f"cnncc_layer_{_cid(layer.name)}"
    src = ['#include "cnncc_cgra.h"\n']
    tags = []
    for j, (pt, where, xpart) in enumerate(parts):
        plan = P.make_plan(mapping, pt, spec.sram_bytes, spec.sram_bank_bytes)
        tag = f"{fn}_p{j}"
        pf, c, doc = _part(plan, xpart, tag, where, last[0])
        last[0] = doc["launches"][-1]["kernel_id"]
        pre = "" if split is None else f"part{j}/"
        files.update({pre + k: v for k, v in pf.items()})
        src.append(c)
        tags.append(tag)
    expected = cgra_order(graph, layer, data.ref, cl.K)
    n = int(expected.size)
    act, lo, hi = _act(cl.act)
    files["expected.bin"] = _i32(expected)
    files["input.bin"] = _i32(data.x)
    src.append(_carr("int32_t", f"{fn}_expected", expected.ravel()))
    src.append(f"static int32_t {fn}_out[{n}];\n")
    src.append(f"uint32_t {fn}(void) {{\n" + "".join(
        f"    cnncc_run_part(&{t}, {fn}_out, {cl.prob.OY}, {cl.prob.OX});\n" for t in tags)
        + f"    return cnncc_finish({fn}_out, {fn}_expected, {n}u, {act}, {lo}, {hi});\n}}\n")
    return files, "".join(src), fn


def network_artefacts(graph, chosen: list, spec: CgraSpec, seed: int) -> dict[str, bytes]:
    """Every artefact of the network (relative path -> bytes)."""
    from cnncc.backends.openedgecgra.readme import README

    out: dict[str, Any] = {}
    fns, layers = [], []
    last = [0]
    for layer, choice in chosen:
        d = f"cgra/{_safe(layer.name)}"
        files, src, fn = layer_artefacts(graph, layer, choice.best.row, choice.best.split, spec, seed,
                                            last)
        out.update({f"{d}/{k}": v for k, v in files.items()})
        out[f"cgra/src/layer_{_cid(layer.name)}.c"] = src
        fns.append((layer.name, fn))
        layers.append({"name": layer.name, "folder": d, "mapping": choice.best.row["mapping"],
                       "parts": 1 if choice.best.split is None else len(
                           [k for k in files if k.endswith("plan.json")]),
                       "c_function": fn})
    main = ['#include <stdio.h>\n#include "cnncc_cgra.h"\n'] + [f"uint32_t {fn}(void);\n" for _, fn in fns]
    main.append("int main(void) {\n    uint32_t bad = 0, b;\n")
    for name, fn in fns:
        label = name.replace('"', "'").replace("%", "%%")
        main.append(f'    b = {fn}();\n    bad += b;\n    printf("layer {label}: %s\\n", b ? "MISMATCH" : "ok");\n')
    main.append('    printf("%s\\n", bad ? "FAIL" : "PASS");\n    return bad != 0;\n}\n')
    out["cgra/src/main.c"] = "".join(main)
    out["cgra/src/cnncc_cgra.h"] = HEADER
    out["cgra/src/cnncc_cgra.c"] = RUNTIME
    out["cgra/src/cgra_stub.c"] = STUB
    out["cgra/src/Makefile"] = MAKEFILE
    out["cgra/network.json"] = json.dumps({"seed": seed, "sram_bytes": spec.sram_bytes,
                                           "sram_bank_bytes": spec.sram_bank_bytes, "layers": layers},
                                          indent=1, sort_keys=True) + "\n"
    out["cgra/README.md"] = README
    return {k: (v.encode() if isinstance(v, str) else v) for k, v in sorted(out.items())}


MAKEFILE = """# cnncc: build the generated host program (see ../README.md)
SRC = main.c cnncc_cgra.c $(wildcard layer_*.c)
native: $(SRC) cgra_stub.c
\t$(CC) -O1 -std=c99 -DCNNCC_STUB -o cnncc_native $(SRC) cgra_stub.c
riscv: $(SRC)
\triscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32 -O2 -specs=picolibc.specs -c $(SRC)
"""

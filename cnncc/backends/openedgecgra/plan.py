"""Host launch plans: memory placement, kernels, launch sequence and host work of one layer per mapping, plus
the functional run (full simulation) and the fast prediction (one simulated launch per timing signature)."""

from __future__ import annotations

import numpy as np

from cnncc.backends.openedgecgra import sim, timing
from cnncc.backends.openedgecgra.context import plan_context
from cnncc.backends.openedgecgra.kernels import ic4, stream, wp
from cnncc.backends.openedgecgra.kernels.common import Batch, HostWork, MemImage, NotApplicable, Plan
from cnncc.backends.openedgecgra.layer import ConvLayer, apply_act

PAPER_MAPPINGS = ("conv-wp", "conv-op", "im2col-ip", "im2col-op")
MAPPINGS = PAPER_MAPPINGS + (ic4.NAME,)


def _padded(cl: ConvLayer, x: np.ndarray) -> np.ndarray:
    t, l, b, r = cl.pads
    return np.pad(x, ((0, 0), (t, b), (l, r)))


def _im2col_col(xp: np.ndarray, cl: ConvLayer, g: int, y: int, x: int) -> np.ndarray:
    """HWC-ordered patch (fy, fx, c) of group g at output (y, x) from the padded input."""
    p = cl.prob
    ys = y * p.SY + np.arange(p.FY) * p.DY
    xs = x * p.SX + np.arange(p.FX) * p.DX
    patch = xp[g * p.C:(g + 1) * p.C][:, ys][:, :, xs]      # C, FY, FX
    return patch.transpose(1, 2, 0).ravel()


def make_plan(mapping: str, cl: ConvLayer, sram_bytes: int, bank_bytes: int) -> Plan:
    """Raises NotApplicable when the mapping cannot run the layer."""
    p, G = cl.prob, cl.groups
    img = MemImage(sram_bytes, bank_bytes)
    bw = img.bank_words
    host = HostWork()
    plane_in, plane_out = p.IY * p.IX, p.OY * p.OX
    # padding the input (a host copy into the padded buffer) is costed between layers (``layout.py``)
    kernels: dict = {}
    seq: list = []
    sigs: list = []
    pre: dict = {}
    op_like = mapping in ("conv-op", "im2col-op")
    if op_like:    # OP kernels store the 16 outputs of a position side by side (HWC); the CPU converts to CHW
        hwc = img.alloc("out_hwc", cl.K * plane_out)
        host.copy_words += cl.K * plane_out
    else:
        out = img.alloc_planes("out", cl.K, plane_out)
    host_bias = cl.bias is not None and (mapping in ("conv-op", "im2col-op", "im2col-ip")
                                         or (mapping == ic4.NAME and not ic4.bias_fits(cl.bias)))
    if host_bias:
        host.post_words += cl.K * plane_out
    if cl.act is not None and not cl.requant:
        host.post_words += cl.K * plane_out
    if mapping == ic4.NAME:
        inp = img.alloc_planes("in", cl.C, plane_in)
        for g in range(G):
            bias = None if host_bias or cl.bias is None else cl.bias[g * p.K:(g + 1) * p.K]
            k, s, sg = ic4.plan(p, cl.W[g * p.K:(g + 1) * p.K], bias, inp[g * p.C:(g + 1) * p.C],
                                out[g * p.K:(g + 1) * p.K], f"g{g}", bw)
            kernels.update(k)
            seq += s
            sigs += sg
    elif mapping == "conv-wp":
        inp = img.alloc_planes("in", cl.C, plane_in)
        wr = img.alloc("w", cl.W.size, cl.W)
        host.zero_words += cl.K * plane_out
        for g in range(G):
            k, s, sg, prm = wp.plan(p, wr.addr + 4 * g * p.K * p.taps, inp[g * p.C:(g + 1) * p.C],
                                    out[g * p.K:(g + 1) * p.K], f"g{g}", bw)
            kernels.update(k)
            for lc, words in zip(s, prm):
                seq.append(lc)
                host.param_stores += len(words)
                pre[len(seq) - 1] = ("words", words)
            sigs += sg
    elif mapping in ("im2col-op", "conv-op"):
        R = p.taps
        inr = img.alloc("in", cl.C * plane_in)
        inp = [inr.addr + 4 * plane_in * c for c in range(cl.C)]
        if mapping == "im2col-op":
            buf = img.alloc("im2col", R)
        for g in range(G):
            W2 = cl.W[g * p.K:(g + 1) * p.K].transpose(0, 2, 3, 1).reshape(p.K, R) if mapping == "im2col-op" \
                else cl.W[g * p.K:(g + 1) * p.K].reshape(p.K, R)
            for k0 in range(0, p.K, 16):
                nk = min(16, p.K - k0)
                streams = stream.op_weight_streams(W2, k0, nk)
                cols = [img.alloc(f"w.g{g}.k{k0}.c{c}", s.size, s) for c, s in enumerate(streams)]
                name = f"g{g}.{mapping}.k{k0}"
                ob = [hwc.addr + 4 * (g * p.K + k0 + c) for c in range(4)]
                pb = 16
                if mapping == "im2col-op":
                    kernels[name] = stream.im2col_op_kernel(R, buf.addr, nk, pb, name)
                else:
                    kernels[name] = stream.conv_op_kernel(p, nk, pb, name)
                for y in range(p.OY):
                    for x in range(p.OX):
                        pos = y * p.OX + x
                        lc = sim.Launch(tuple(c.addr for c in cols),
                                        tuple(ob[c] + 4 * pos * cl.K for c in range(4)))
                        seq.append((name, lc))
                        extra = (buf.addr,) if mapping == "im2col-op" else \
                            (inp[g * p.C] + 4 * (y * p.SY * p.IX + x * p.SX),)
                        sigs.append(((name,), lc.rptr + lc.wptr + extra))
                        if mapping == "im2col-op":
                            host.copy_words += R
                            pre[len(seq) - 1] = ("im2col", g, y, x, buf.base)
                        else:
                            host.param_stores += 1
                            pre[len(seq) - 1] = ("param", inp[g * p.C] + 4 * (y * p.SY * p.IX + x * p.SX))
    elif mapping == "im2col-ip":
        R = p.taps
        n = -(-R // 16)
        img.alloc("in", cl.C * plane_in)
        buf = img.alloc("im2col", 16 * n)
        for g in range(G):
            W2 = cl.W[g * p.K:(g + 1) * p.K].transpose(0, 2, 3, 1).reshape(p.K, R)
            name = f"g{g}.im2col-ip"
            kernels[name] = stream.im2col_ip_kernel(n, buf.addr, name)
            cols_k = []
            for k in range(p.K):
                streams = stream.ip_weight_streams(W2[k], n)
                cols_k.append([img.alloc(f"w.g{g}.k{k}.c{c}", s.size, s) for c, s in enumerate(streams)])
            for y in range(p.OY):
                for x in range(p.OX):
                    for k in range(p.K):
                        o = out[g * p.K + k] + 4 * (y * p.OX + x)
                        lc = sim.Launch(tuple(c.addr for c in cols_k[k]), (64, o, 64, 64))
                        seq.append((name, lc))
                        sigs.append(((name,), lc.rptr + lc.wptr + (buf.addr,)))
                        host.copy_words += R
                        pre[len(seq) - 1] = ("im2col", g, y, x, buf.base)
    else:
        raise NotApplicable(f"unknown mapping {mapping!r}")
    host.launches = len(seq)
    templates, patch = _templates(kernels)
    ctx = plan_context(kernels, [name for name, _ in seq])
    host.reconfigs = ctx.reconfigs
    host.config_cycles = ctx.config_cycles({n: k.n_instr for n, k in kernels.items()})
    host.imem_words = ctx.imem_words
    host.kmem_writes = ctx.kmem_writes
    batches = [Batch(name, [lc]) for name, lc in seq]
    plan = Plan(mapping, kernels, batches, img, host, "out", (cl.K, p.OY, p.OX))
    plan.raw_sigs = sigs          # canonicalised on first use (``signatures``): bounds do not need them
    plan.pre = pre
    plan.kernel_words = sum(k.n_instr * 16 for k in templates.values()) + sum(patch.values())
    plan.layer = cl
    plan.context = ctx
    plan.host_bias = host_bias
    return plan


def _canonical(sigs: list, img: MemImage) -> list:
    """Timing signatures. A launch is (shape key, base byte addresses of everything it accesses). An address
    inside a buffer that lies within one SRAM bank is replaced by its bank, numbered by first occurrence in the
    launch (its accesses all hit that bank, so only which buffers share a bank matters); an address inside a
    buffer spanning banks is kept as is. Launches with equal signatures have equal timing (exact)."""
    import bisect

    from cnncc.backends.openedgecgra.kernels.common import GUARD_WORDS

    bw = 4 * img.bank_words
    spans = sorted((r.addr, r.addr + 4 * (r.words + GUARD_WORDS)) for r in img.regions.values()
                   if r.addr // bw != (r.addr + 4 * (r.words + GUARD_WORDS) - 1) // bw)
    starts = [a for a, _ in spans]

    def spanning(a: int) -> bool:
        i = bisect.bisect_right(starts, a) - 1
        return i >= 0 and a < spans[i][1]

    out = []
    for key, addrs in sigs:
        label: dict = {}
        # address 16: the counters and parameter words every kernel may touch (bank 0)
        out.append((key, tuple(("raw", a) if spanning(a) else label.setdefault(a // bw, len(label))
                               for a in (16,) + tuple(addrs))))
    return out


def _imms(kernel) -> tuple:
    imms = getattr(kernel, "_imms", None)
    if imms is None:
        imms = kernel._imms = tuple(i.imm for step in kernel.program for i in step)
    return imms


def _templates(kernels: dict) -> tuple[dict, dict]:
    """Kernels that differ only in immediates share a template in SRAM; the CPU patches the differing words
    (precomputed at compile time) before configuring. Returns (template per shape, patched words per kernel)."""
    templates: dict = {}
    patch: dict = {}
    for name, k in kernels.items():
        t = templates.setdefault(timing.shape(k), k)      # same shape: instructions differ only in immediates
        patch[name] = 0 if t is k else sum(a != b for a, b in zip(_imms(t), _imms(k)))
    return {n: k for n, k in ((f"t{i}", k) for i, k in enumerate(templates.values()))}, patch


def run(plan: Plan, x_chw: np.ndarray | None = None) -> tuple[np.ndarray | None, sim.Stats]:
    """Full simulation of every launch. With ``x_chw`` (integer, unpadded) returns the layer output (K, OY, OX)
    as the host leaves it (bias and activation applied where the host does them)."""
    cl, p = plan.layer, plan.layer.prob
    img = plan.image
    mem, xp = initial_memory(plan, x_chw)
    total = sim.Stats()
    for i, b in enumerate(plan.batches):
        job = plan.pre.get(i)
        if job is not None and job[0] == "words":
            for a, v in job[1]:
                mem[a // 4] = v
        elif job is not None and xp is not None:
            if job[0] == "im2col":
                _, g, y, x, base = job
                col = _im2col_col(xp, cl, g, y, x)
                mem[base:base + col.size] = col
            else:
                mem[7] = job[1]
        elif job is not None and job[0] == "param":
            mem[7] = job[1]
        total.add(sim.run(plan.kernels[b.kernel], mem, b.launches, bank_words=img.bank_words))
    if x_chw is None:
        return None, total
    if "out_hwc" in img.regions:
        r = img.regions["out_hwc"]
        y = mem[r.base:r.base + r.words].reshape(p.OY * p.OX, cl.K).T.reshape(plan.out_shape)
    else:
        y = img.read_planes(mem, "out", p.OY * p.OX).reshape(plan.out_shape)
    if plan.host_bias:
        y = sim.wrap32(y + cl.bias.reshape(-1, 1, 1))
    return apply_act(cl.act, y), total


def initial_memory(plan: Plan, x_chw: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The SRAM words before the first launch (the plan's buffers, the padded input placed, conv-wp outputs
    preloaded with the bias) and the padded input."""
    cl, p = plan.layer, plan.layer.prob
    mem = plan.image.materialise()
    img = plan.image
    xp = None
    if x_chw is not None:
        xp = _padded(cl, np.asarray(x_chw, np.int64))
        if "in" in img.planes:
            for c, a in enumerate(img.planes["in"]):
                mem[a // 4:a // 4 + p.IY * p.IX] = xp[c].ravel()
        elif "in" in img.regions:
            r = img.regions["in"]
            mem[r.base:r.base + xp.size] = xp.ravel()
        if plan.mapping == "conv-wp":
            for k, a in enumerate(img.planes["out"]):
                mem[a // 4:a // 4 + p.OY * p.OX] = 0 if cl.bias is None else int(cl.bias[k])
    return mem, xp


def signatures(plan: Plan) -> list:
    """Canonical timing signature of every launch (computed once per plan)."""
    if plan.sigs is None:
        plan.sigs = _canonical(plan.raw_sigs, plan.image)
    return plan.sigs


#: single-launch counters shared across layers: (layer shape, mapping, SRAM geometry, timing key, signature,
#: parameter words) -> Stats. Same timing key on the same layout with the same signature and parameters means
#: the same timing (as within a plan).
_SIG_CACHE: dict = {}
_SIG_CACHE_MAX = 200_000


def _apply_pre(mem: np.ndarray, job) -> None:
    for a, v in _param_words(job):
        mem[a // 4] = v


def _param_words(job) -> tuple:
    """(byte address, value) words the host writes before a launch that can steer it (its parameters)."""
    if job is not None and job[0] == "param":
        return ((28, job[1]),)
    if job is not None and job[0] == "words":
        return tuple(job[1])
    return ()


def predict(plan: Plan) -> sim.Stats:
    """Counters of the whole plan from one statically timed launch (``sim.timed``, exact) per distinct timing
    signature (kernel timing key, SRAM banks touched, parameter words); signatures timed for an identical layer
    shape before (``_SIG_CACHE``) are reused. Exact when control flow does not depend on data, which holds for
    every generator (``--check`` simulates every launch and compares)."""
    cl = plan.layer
    scope = (cl.prob, cl.groups, cl.pads, plan.mapping, plan.image.bank_words, plan.image.n_banks)
    seen: dict = {}          # signature key -> [first launch index, count]
    for i, (b, sig) in enumerate(zip(plan.batches, signatures(plan))):
        key = (timing.timing_key(plan.kernels[b.kernel]), sig, _param_words(plan.pre.get(i)))
        hit = seen.get(key)
        if hit is None:
            seen[key] = [i, 1]
        else:
            hit[1] += 1
    items = []
    mem = None
    for key, (i, n) in seen.items():
        st = _SIG_CACHE.get((scope, key))
        if st is None:
            if mem is None:
                mem = plan.image.materialise()
            _apply_pre(mem, plan.pre.get(i))
            b = plan.batches[i]
            st = sim.timed(plan.kernels[b.kernel], mem, b.launches[0], plan.image.bank_words)
            if len(_SIG_CACHE) >= _SIG_CACHE_MAX:
                _SIG_CACHE.clear()
            _SIG_CACHE[(scope, key)] = st
        items.append((st, n))
    return _scaled_sum(items, plan.launch_count())


def _scaled_sum(items, launches: int) -> sim.Stats:
    """Sum of n copies of each single-launch Stats (launch_cycles left empty: only totals are needed)."""
    total = sim.Stats()
    for st, n in items:
        total.cycles += st.cycles * n
        total.instructions += st.instructions * n
        total.col_active += st.col_active * n
        total.col_stall += st.col_stall * n
        total.events += st.events * n
    total.launches = launches
    return total


def lower_bound(plan: Plan) -> sim.Stats:
    """Counters of the plan with every bank conflict ignored: one simulated launch per kernel control key
    (``timing.control_key``: kernels differing only in immediates that cannot reach a branch, such as addresses
    and weights, share it) gives the instruction counts, each instruction is charged its static latency.
    Every counter is exact except cycles, stall cycles and idle PE-cycles, which can only be larger in the
    real run (an instruction lasts max(static latency, busiest bank + 1)), so costs derived from it are lower
    bounds of the predicted ones."""
    mem = None
    per_kernel: dict = {}
    first: dict = {}
    for i, b in enumerate(plan.batches):          # launches per kernel name, first launch of each
        f = first.get(b.kernel)
        if f is None:
            first[b.kernel] = [i, len(b.launches)]
        else:
            f[1] += len(b.launches)
    for name, (i, n) in first.items():
        k = plan.kernels[name]
        tk = timing.control_key(k)
        if tk in per_kernel:
            per_kernel[tk][1] += n
            continue
        if mem is None:
            mem = plan.image.materialise()
        _apply_pre(mem, plan.pre.get(i))
        lc = plan.batches[i].launches[0]
        counts, _ = sim.timed_counts(k, mem, lc, plan.image.bank_words)
        per_kernel[tk] = [sim.counts_stats(k, counts, 0), n]
    return _scaled_sum(per_kernel.values(), plan.launch_count())

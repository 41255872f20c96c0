"""Exact cost of a ``cnncc-ic4`` plan without building one kernel per launch.

``plan.make_plan`` builds one verified kernel per (chunk, output-channel group) launch — thousands per layer —
only for the search to read a few numbers off them: the timing key and signature of each launch, the template
and patched words of the context plan and the template/patch words kept in SRAM. All of these are functions of a
small *descriptor* of the launch and of its immediates:

* the **template key** (run lengths per column, first chunk or not, channels in the group, which biases are
  non-zero in the first chunk) fixes the program shape (``timing.shape``); one representative kernel per key is
  built and verified, and keys are checked to map to distinct shapes;
* the **variable immediates** of a kernel of a given key are exactly its weights (row-major over (row, column,
  slot)), the high and low parts of the four output-plane addresses, the address deltas of its chunk and its
  non-zero biases; every other immediate is a layer constant. Rows of these vectors, one per launch, give the
  patched words (immediates differing from the previous kernel in the IMEM slot) and the SRAM patch words
  (differing from the template) by numpy comparisons;
* a launch's **timing class** (template key, deltas, banks of its read pointers and output planes) fixes its
  timing key and canonical signature; one launch per class is timed (``sim.timed``, shared with
  ``plan.predict``'s cache) and scaled by the class size.

Every launch has its own kernel, so every launch reconfigures, and the context plan's counters have the closed
forms below (``_context``). The result equals ``search.cost_plan(make_plan(...), predict(...))`` exactly
(``tests/openedgecgra/test_ic4cost.py``); when an assumption does not hold (a weight or bias immediate could
reach timing, two keys share a shape) :class:`Fallback` is raised and the caller builds the full plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnncc.backends.openedgecgra import context as CX
from cnncc.backends.openedgecgra import isa, sim, timing
from cnncc.backends.openedgecgra.kernels import ic4
from cnncc.backends.openedgecgra.kernels.common import GUARD_WORDS, HostWork, MemImage, fits, need
from cnncc.backends.openedgecgra.layer import ConvLayer

#: single-launch counters per (layer scope, timing class): a class (template key, chunk deltas, canonical banks)
#: fixes the timing key and signature, so it times the same in every layer of the same shape
_CLASS_CACHE: dict = {}


class Fallback(Exception):
    """The closed form does not apply to this layer; build the full plan instead."""


@dataclass(frozen=True)
class Summary:
    """What ``search.cost_plan`` reads off a plan (``kernels`` only for its count)."""

    mapping: str
    kernels: range
    host: HostWork
    image: MemImage
    kernel_words: int
    layer: ConvLayer


def _tok(a: int, extent: int, bw: int) -> Any:
    """The bank of byte address ``a`` when the access range [a, a + extent) lies in one bank (every access
    through the pointer hits that bank), else ("raw", a)."""
    return a // bw if a // bw == (a + extent - 1) // bw else ("raw", a)


def _canon(toks: tuple) -> tuple:
    label: dict = {}
    return tuple(t if isinstance(t, tuple) else label.setdefault(t, len(label)) for t in toks)


def _ints(a: np.ndarray) -> np.ndarray:
    """``int(v)`` of every element (truncation toward zero), as int64."""
    a = np.asarray(a)
    return a.astype(np.int64) if a.dtype.kind in "iub" else np.trunc(a).astype(np.int64)


def _fit(a: np.ndarray) -> bool:
    return bool(a.size == 0 or (a.min() >= isa.IMM_MIN and a.max() <= isa.IMM_MAX))


class _Group:
    """One conv group's chunks, weights and output planes."""

    def __init__(self, cl: ConvLayer, g: int, inp: list[int], out: list[int], bw: int):
        p = cl.prob
        self.W = cl.W[g * p.K:(g + 1) * p.K]
        self.Wf = _ints(self.W).reshape(p.K, -1)
        need(_fit(self.Wf), "weights do not fit the 13-bit immediate")
        self.bias = None if cl.bias is None or not ic4.bias_fits(cl.bias) else cl.bias[g * p.K:(g + 1) * p.K]
        self.bi = None if self.bias is None else _ints(self.bias).ravel()
        need(self.bi is None or _fit(self.bi), "bias does not fit the 13-bit immediate")
        self.inp, self.out = inp, out
        self.chunks = ic4.column_runs(p, inp)
        A = np.array(out, np.int64)
        self.hi, self.lo = A >> 12, A & 0xFFF
        ext = 4 * (p.OY * p.OX + GUARD_WORDS)
        self.otok = [tuple(_tok(out[k], ext, bw) for k in range(k0, min(p.K, k0 + 4))) for k0 in range(0, p.K, 4)]
        K4 = p.K // 4 * 4
        self.hi4, self.lo4 = self.hi[:K4].reshape(-1, 4), self.lo[:K4].reshape(-1, 4)
        self.ocount: dict = {}                 # bank tokens of a full group -> [groups, first group index]
        for gi in range(K4 // 4):
            hit = self.ocount.get(self.otok[gi])
            if hit is None:
                self.ocount[self.otok[gi]] = [1, gi]
            else:
                hit[0] += 1


def _tap_index(p, c: int, i: int) -> int:
    """Flat [C, FY, FX] index of column c's i-th tap (channel c + 4·(i // taps), then fy, fx)."""
    q, r = divmod(i, p.FY * p.FX)
    return (c + 4 * q) * p.FY * p.FX + r


def cost(cl: ConvLayer, sram_bytes: int, bank_bytes: int) -> tuple[Summary, sim.Stats]:
    """(plan summary, predicted counters) of the cnncc-ic4 plan of ``cl``, equal to building and predicting it.
    Raises NotApplicable where ``make_plan`` does, :class:`Fallback` where the closed form does not apply."""
    p, G = cl.prob, cl.groups
    img = MemImage(sram_bytes, bank_bytes)
    host = HostWork()
    plane_in, plane_out = p.IY * p.IX, p.OY * p.OX
    out = img.alloc_planes("out", cl.K, plane_out)
    if cl.bias is not None and not ic4.bias_fits(cl.bias):
        host.post_words += cl.K * plane_out        # added by the host (with the requantisation, if any)
    if cl.act is not None and not cl.requant:
        host.post_words += cl.K * plane_out
    inp = img.alloc_planes("in", cl.C, plane_in)
    jump = 4 * (p.SY * p.IX - p.SX * p.OX)
    need(fits(jump), "row jump exceeds imm13")
    bw = 4 * img.bank_words
    segs: list = []              # (template key, rows of variable immediates) in launch order
    classes: dict = {}                                   # timing class -> [count, (group, chunk, k0)]
    reps: dict = {}                                      # template key -> (group, chunk, k0)
    K4 = p.K // 4 * 4
    n4 = K4 // 4
    groups = []
    for g in range(G):
        gr = _Group(cl, g, inp[g * p.C:(g + 1) * p.C], out[g * p.K:(g + 1) * p.K], bw)
        groups.append(gr)
        pos = [0] * isa.COLS
        for j, run in enumerate(gr.chunks):
            lens = tuple(len(x) for x in run)
            idx = [_tap_index(p, c, pos[c] + t) for c in range(isa.COLS) for t in range(lens[c])]
            d = tuple((run[c][t + 1] - run[c][t]) if t + 1 < lens[c] else 4 * p.SX - (run[c][t] - run[c][0])
                      for c in range(isa.COLS) for t in range(lens[c]))
            rptr = tuple(run[c][0] if run[c] else 64 for c in range(isa.COLS))
            rtok = tuple(_tok(run[c][0], run[c][-1] - run[c][0] + 4 * (plane_in + GUARD_WORDS), bw) if run[c]
                         else 0 for c in range(isa.COLS))
            Wj = gr.Wf[:, idx]
            darr = np.array(d, np.int64)
            first = j == 0
            if first:
                for k0 in range(0, p.K, 4):
                    nk = min(4, p.K - k0)
                    ks = slice(k0, k0 + nk)
                    mask = () if gr.bi is None else tuple(bool(v) for v in gr.bi[ks])
                    key = (lens, True, nk, mask)
                    row = [Wj[ks].ravel(), gr.hi[ks], gr.lo[ks], darr]
                    if mask:
                        assert gr.bi is not None
                        row.append(gr.bi[ks][np.array(mask, bool)])
                    _push(segs, key, np.concatenate(row)[None, :])
                    reps.setdefault(key, (g, j, k0))
                    _count(classes, (key, d, rtok, gr.otok[k0 // 4]), 1, (g, j, k0, rptr))
            else:
                if n4:
                    key = (lens, False, 4, ())
                    S = Wj.shape[1]
                    rows = np.concatenate([Wj[:K4].reshape(n4, 4 * S), gr.hi4, gr.lo4,
                                           np.broadcast_to(darr, (n4, darr.size))], axis=1)
                    _push(segs, key, rows)
                    reps.setdefault(key, (g, j, 0))
                    for ot, (cnt, gi) in gr.ocount.items():
                        _count(classes, (key, d, rtok, ot), cnt, (g, j, 4 * gi, rptr))
                if K4 < p.K:
                    nk = p.K - K4
                    key = (lens, False, nk, ())
                    ks = slice(K4, p.K)
                    _push(segs, key, np.concatenate([Wj[ks].ravel(), gr.hi[ks], gr.lo[ks], darr])[None, :])
                    reps.setdefault(key, (g, j, K4))
                    _count(classes, (key, d, rtok, gr.otok[-1]), 1, (g, j, K4, rptr))
            for c in range(isa.COLS):
                pos[c] += lens[c]
    segs = [(key, parts[0] if len(parts) == 1 else np.concatenate(parts)) for key, parts in segs]
    kernels = {key: _kernel(cl, groups[g], j, k0) for key, (g, j, k0) in reps.items()}
    shapes = {timing.shape(k) for k in kernels.values()}
    if len(shapes) != len(kernels):
        raise Fallback("two template keys share a program shape")
    for k in kernels.values():
        rel = timing._relevant(k, False)
        if rel & k.data_imms:
            raise Fallback("a weight or bias immediate may reach timing")
    n_of = {key: k.n_instr for key, k in kernels.items()}
    L = sum(m.shape[0] for _, m in segs)
    host.launches = L
    _context(host, segs, n_of)
    kernel_words = _kernel_words(segs, n_of)
    stats = _timing(cl, img, classes, kernels, reps, groups, L)
    return Summary(ic4.NAME, range(L), host, img, kernel_words, cl), stats


def _separable(k) -> bool:
    """No instruction of ``k`` mixes a read-pointer access (LWD) with another memory access: then every
    instruction's bank conflicts depend on the input streams only or on the output planes only."""
    for step in k.program:
        ops = [i.op for i in step if i.op in isa.MEM_OPS]
        if "LWD" in ops and any(o != "LWD" for o in ops):
            return False
    return True


def _timing(cl: ConvLayer, img: MemImage, classes: dict, kernels: dict, reps: dict, groups: list,
            L: int) -> sim.Stats:
    """Counters of all launches from the timing classes (template key, chunk deltas, input-pointer bank tokens,
    output-plane bank tokens) -> [launches, (group, chunk, k0, read pointers)].

    Classes of one template key and deltas differ only in where the read pointers start and in the output-plane
    base immediates (the kernels' other immediates are weights and biases, which never reach timing; the
    output-address register of diagonal PE r is its plane's address plus 4 per pixel, and the address is all
    it feeds): one of them is timed with its event log and the others' bank-conflict cycles follow by moving
    its LWD addresses per column and its output accesses per PE (``fasttime.ReadShift``, exact). Where no
    instruction mixes the two (``_separable``), the conflicts of input and output accesses add up, so each
    distinct input and output token is derived once and a class costs E(r, o0) + E(r0, o) − E(r0, o0). Layers whose
    column runs or output planes straddle a bank boundary have one class per chunk or output group; this
    times one launch per (key, deltas) instead. Where the engine cannot follow
    a launch (``fasttime.Unsupported``) or a moved address would leave the memory, the class is timed itself."""
    from cnncc.backends.openedgecgra import fasttime
    from cnncc.backends.openedgecgra import plan as P

    scope = (cl.prob, cl.groups, cl.pads, ic4.NAME, img.bank_words, img.n_banks)
    memv: list = []

    def mem() -> np.ndarray:
        if not memv:
            memv.append(img.materialise())
        return memv[0]

    def kernel_of(key: tuple, rep: tuple):
        g, j, k0, _ = rep
        return kernels[key] if reps[key] == (g, j, k0) else _kernel(cl, groups[g], j, k0)

    def store(ck: tuple, hit: tuple) -> None:
        if len(_CLASS_CACHE) >= 100_000:
            _CLASS_CACHE.clear()
        _CLASS_CACHE[ck] = hit

    def planes(key: tuple, rep: tuple) -> list[int]:
        return groups[rep[0]].out[rep[2]:rep[2] + key[2]]

    fams: dict = {}
    for (key, d, rtok, otok), (n, rep) in classes.items():
        fams.setdefault((key, d), []).append((_canon((0,) + rtok + otok), n, rep, rtok, otok))
    items = []
    for (key, d), members in fams.items():
        missing = [m for m in members if (scope, key, d, m[0]) not in _CLASS_CACHE]
        if missing:
            missing.sort(key=lambda m: m[2][:3] != reps[key])        # the template's own launch first
            ck0, _, rep0, r0, o0 = missing[0]
            out0 = planes(key, rep0)
            k = kernel_of(key, rep0)
            log: list = []
            try:
                c0, e0 = fasttime.time_launch(k, mem(), rep0[3], sim.Launch(rep0[3]).wptr, img.bank_words,
                                              sim.MAX_STEPS, log)
                counts0 = np.array(c0, np.int64)
            except fasttime.Unsupported:
                log = []
            if not log:
                for ck, _, rep, *_ in missing:
                    store((scope, key, d, ck), sim.timed_counts(kernel_of(key, rep), mem(), sim.Launch(rep[3]),
                                                                img.bank_words))
            else:
                store((scope, key, d, ck0), (counts0, int(e0)))
                rs = fasttime.ReadShift(k, log, int(e0), 4 * mem().shape[0], img.bank_words) if missing[1:] else None

                def rsh(rep: tuple, rep0: tuple = rep0) -> tuple:
                    return tuple(a - b for a, b in zip(rep[3], rep0[3]))

                def osh(rep: tuple, key: tuple = key, out0: list = out0) -> tuple:
                    sh = [0] * isa.N_PE
                    for r, (a, b) in enumerate(zip(planes(key, rep), out0)):
                        sh[r * isa.COLS + r] = a - b
                    return tuple(sh)

                er: dict = {r0: int(e0)}
                eo: dict = {o0: int(e0)}
                n_r, n_o = len({m[3] for m in missing}), len({m[4] for m in missing})
                if rs is not None and n_r + n_o < len(missing) and _separable(k):   # E(r,o0) + E(r0,o) - E(r0,o0)
                    for _, _, rep, rt, ot in missing[1:]:
                        if rt not in er:
                            er[rt] = rs.extra(rsh(rep), None)
                        if ot not in eo:
                            eo[ot] = rs.extra(rsh(rep0), osh(rep))
                for ck, _, rep, rt, ot in missing[1:]:
                    assert rs is not None
                    a, b = er.get(rt), eo.get(ot)
                    e = a + b - int(e0) if a is not None and b is not None else rs.extra(rsh(rep), osh(rep))
                    hit = (counts0, e) if e is not None else \
                        sim.timed_counts(kernel_of(key, rep), mem(), sim.Launch(rep[3]), img.bank_words)
                    store((scope, key, d, ck), hit)
        for ck, n, *_ in members:
            counts, e = _CLASS_CACHE[(scope, key, d, ck)]
            items.append((sim.counts_stats(kernels[key], counts, e), n))
    return P._scaled_sum(items, L)


def _push(segs: list, key: tuple, rows: np.ndarray) -> None:
    if segs and segs[-1][0] == key:
        segs[-1][1].append(rows)
    else:
        segs.append((key, [rows]))


def _count(classes: dict, cls: tuple, n: int, rep: tuple) -> None:
    hit = classes.get(cls)
    if hit is None:
        classes[cls] = [n, rep]
    else:
        hit[0] += n


def _kernel(cl: ConvLayer, gr: _Group, j: int, k0: int, out_planes: list[int] | None = None):
    """The real kernel of chunk j, output channels k0.. of one group (as ``ic4.plan`` builds it), with the
    (step, pe) of its weight and bias immediates in ``data_imms``; ``out_planes`` (byte addresses, as many as
    channels) replaces the output-plane addresses (a timing-only kernel, see ``_timing``)."""
    p = cl.prob
    run = gr.chunks[j]
    pos = [sum(len(gr.chunks[i][c]) for i in range(j)) for c in range(isa.COLS)]
    ks = list(range(k0, min(p.K, k0 + 4)))
    w = [[[gr.Wf[k, _tap_index(p, c, pos[c] + t)] for t in range(len(run[c]))] for c in range(isa.COLS)]
         for k in ks]
    outs = [gr.out[kk] for kk in ks] if out_planes is None else out_planes
    k = ic4.build_kernel(p, run, w, None if gr.bias is None else gr.bias[ks], j == 0, outs, f"rep.c{j}.k{k0}")
    data = set()
    for t, step in enumerate(k.program):
        for pe, ins in enumerate(step):
            if ins.op == "SMUL" and ins.b == "IMM":
                data.add((t, pe))
    if j == 0 and gr.bias is not None:
        q1 = 3 + 3 * max(len(x) for x in run)
        for r in range(len(ks)):
            if k.program[q1][r * isa.COLS + r].b == "IMM":
                data.add((q1, r * isa.COLS + r))
    k.data_imms = frozenset(data)
    return k


def _context(host: HostWork, segs: list, n_of: dict) -> None:
    """Reconfigurations, configuration cycles, IMEM and KMEM words of ``context.plan_context`` for a sequence in
    which every launch has its own kernel (so every launch configures): templates resident when they all fit
    IMEM and KMEM (each loaded once, patched per launch), else one slot reloaded on every template change and
    patched otherwise; KMEM written when a kernel ID's word changes."""
    n_seq = np.concatenate([np.full(m.shape[0], n_of[key], np.int64) for key, m in segs])
    host.reconfigs = int(n_seq.size)
    host.config_cycles = int((4 * (n_seq + 1)).sum())
    tmpl = list(dict.fromkeys(key for key, _ in segs))
    resident = sum(4 * n_of[t] for t in tmpl) <= CX.CMEM_BANK_WORDS and 2 * len(tmpl) < CX.KMEM_DEPTH
    if resident:
        host.kmem_writes = 2 * len(tmpl)
        words = 16 * sum(n_of[t] for t in tmpl)
        for t in tmpl:
            rows = np.concatenate([m for key, m in segs if key == t])
            words += int((rows[1:] != rows[:-1]).sum())
        host.imem_words = words
        return
    words = 0
    prev = None
    for key, m in segs:
        if prev is not None and prev[0] == key:
            words += int((m[0] != prev[1][-1]).sum())
        else:
            words += 16 * n_of[key]
        words += int((m[1:] != m[:-1]).sum())
        prev = (key, m)
    host.imem_words = words
    w = n_seq                       # kernel words differ exactly when n differs (start 0, full column mask)
    host.kmem_writes = int(min(2, w.size) + (w[2:] != w[:-2]).sum())


def _kernel_words(segs: list, n_of: dict) -> int:
    """Template words (16 per instruction of each shape) + every kernel's immediates differing from its
    template's first kernel (``plan._templates``)."""
    first: dict = {}
    words = 0
    for key, m in segs:
        if key not in first:
            first[key] = m[0]
            words += 16 * n_of[key]
        words += int((m != first[key]).sum())
    return words

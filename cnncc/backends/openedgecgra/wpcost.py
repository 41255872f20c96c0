"""Exact cost of a ``conv-wp`` plan without one Python record per launch.

A Conv-WP plan launches one kernel per filter-tile shape (the same program in every group) once per (group,
input channel, output channel, tile): tens of thousands of launches for a depthwise layer, each of which
``plan.make_plan`` turns into a Launch, a parameter job and a signature, and ``plan.predict`` into a timed launch
whenever its parameter words (input-plane addresses) differ — i.e. nearly always. Here the launches stay numpy
index arrays:

* a launch's **timing class** is its tile and the canonical banks of every pointer it uses: the input plane
  (through the loader parameter words), the output plane (partial sums in, results out) and the three weight
  rows. A pointer whose whole access range — a plane plus ``GUARD_WORDS`` of prefetch, or a weight row of the
  tile's width — lies in one SRAM bank is replaced by that bank, numbered by first occurrence (the kernel's
  accesses through it all hit that bank); any other pointer keeps its raw address. Launches of one class
  execute the same instructions with the same bank conflicts, so one launch per class is timed
  (``sim.timed``) and scaled by the class size;
* the context plan is ``context.plan_context`` on the run-length-compressed kernel sequence (a launch of the
  kernel launched just before costs no configuration, IMEM or KMEM words), and the kernels of all groups
  share one object per tile shape (they are the same program).

The result equals ``search.cost_plan(make_plan(...), predict(...))`` (``tests/openedgecgra/test_ic4cost.py``)."""

from __future__ import annotations

import numpy as np

from cnncc.backends.openedgecgra import isa, sim
from cnncc.backends.openedgecgra import plan as P
from cnncc.backends.openedgecgra.context import plan_context
from cnncc.backends.openedgecgra.ic4cost import Summary
from cnncc.backends.openedgecgra.kernels import wp
from cnncc.backends.openedgecgra.kernels.common import GUARD_WORDS, HostWork, MemImage, need
from cnncc.backends.openedgecgra.layer import ConvLayer

#: single-launch counters per (layer scope, timing class), shared by layers of the same shape
_CLASS_CACHE: dict = {}
_NONE = -(1 << 60)          # "no pointer" in a token row


def _tok(a: np.ndarray, extent: int | np.ndarray, bw: int) -> np.ndarray:
    """Bank of each byte address whose range [a, a + extent) lies in one bank, else -(a + 1) (raw)."""
    a = np.asarray(a, np.int64)
    one = a // bw == (a + extent - 1) // bw
    return np.where(one, a // bw, -(a + 1))


def _canon(row: tuple) -> tuple:
    label: dict = {}
    return tuple(v if v < 0 else label.setdefault(v, len(label)) for v in row)


def cost(cl: ConvLayer, sram_bytes: int, bank_bytes: int) -> tuple[Summary, sim.Stats]:
    """(plan summary, predicted counters) of the Conv-WP plan of ``cl``, equal to building and predicting it.
    Raises NotApplicable where ``make_plan`` does."""
    p, G = cl.prob, cl.groups
    img = MemImage(sram_bytes, bank_bytes)
    host = HostWork()
    plane_in, plane_out = p.IY * p.IX, p.OY * p.OX
    out = img.alloc_planes("out", cl.K, plane_out)
    if cl.act is not None and not cl.requant:
        host.post_words += cl.K * plane_out
    inp = img.alloc_planes("in", cl.C, plane_in)
    wr = img.alloc("w", cl.W.size, cl.W)
    host.zero_words += cl.K * plane_out
    tiles = list(wp.tiles(p.FY, p.FX))
    for tile in tiles:
        need(p.SX <= tile[3], "stride larger than a filter tile")
    shapes = list(dict.fromkeys((fy_, fx_) for _, _, fy_, fx_ in tiles))
    built = {s: wp.build_kernel(p, s[0], s[1], f"wp.{s[0]}x{s[1]}") for s in shapes}
    kernels = {f"g{g}.wp.{fy_}x{fx_}": built[(fy_, fx_)] for g in range(G) for fy_, fx_ in shapes}
    T = len(tiles)
    L = G * p.C * p.K * T
    host.launches = L
    host.param_stores = G * p.C * p.K * sum(t[2] for t in tiles)
    if T == 1:
        seq = [f"g{g}.wp.{tiles[0][2]}x{tiles[0][3]}" for g in range(G)]
    else:
        seq = [f"g{g}.wp.{fy_}x{fx_}" for g in range(G) for _ in range(p.C * p.K) for _, _, fy_, fx_ in tiles]
    ctx = plan_context(kernels, seq)
    host.reconfigs = ctx.reconfigs
    host.config_cycles = ctx.config_cycles({n: k.n_instr for n, k in kernels.items()})
    host.imem_words = ctx.imem_words
    host.kmem_writes = ctx.kmem_writes
    templates, patch = P._templates(kernels)
    kernel_words = sum(k.n_instr * 16 for k in templates.values()) + sum(patch.values())
    # launch index arrays in plan order (g, ci, k, tile)
    bw = 4 * img.bank_words
    g_, ci_, k_, t_ = (a.ravel() for a in np.meshgrid(np.arange(G), np.arange(p.C), np.arange(p.K),
                                                          np.arange(T), indexing="ij"))
    inp_a, out_a = np.array(inp, np.int64), np.array(out, np.int64)
    in_base = inp_a[g_ * p.C + ci_]
    o = out_a[g_ * p.K + k_]
    in_t = _tok(in_base, 4 * (plane_in + GUARD_WORDS), bw)
    out_t = _tok(o, 4 * (plane_out + GUARD_WORDS), bw)
    fy0 = np.array([t[0] for t in tiles])[t_]
    fx0 = np.array([t[1] for t in tiles])[t_]
    fyn = np.array([t[2] for t in tiles])[t_]
    fxn = np.array([t[3] for t in tiles])[t_]
    wbase = wr.addr + 4 * g_ * p.K * p.taps + 4 * ((k_ * p.C + ci_) * p.FY * p.FX)
    cols = [t_, np.full(L, 0), in_t, out_t]
    for c in range(3):
        used = c < fyn
        rp = np.where(used, wbase + 4 * ((fy0 + c) * p.FX + fx0), 64)
        cols.append(np.where(used, _tok(rp, 4 * fxn, bw), 0))
        prm = in_base + 4 * ((fy0 + c) * p.DY * p.IX + fx0)
        cols.append(np.where(used, np.where(in_t >= 0, in_t, -(prm + 1)), _NONE))
    rows = np.stack(cols, axis=1)
    uniq, first, counts = np.unique(rows, axis=0, return_index=True, return_counts=True)
    classes: dict = {}
    for row, i, n in zip(uniq.tolist(), first.tolist(), counts.tolist()):
        cls = (row[0],) + _canon(tuple(row[1:]))
        hit = classes.get(cls)
        if hit is None:
            classes[cls] = [n, i]
        else:
            hit[0] += n
            hit[1] = min(hit[1], i)
    scope = (cl.prob, cl.groups, cl.pads, wp.NAME, img.bank_words, img.n_banks)
    memv: list = []

    def launch(i: int) -> tuple:
        """(tile index, Launch, parameter words, input plane) of launch i."""
        g, ci, k, ti = int(g_[i]), int(ci_[i]), int(k_[i]), int(t_[i])
        fy0i, fx0i, fyi, _ = tiles[ti]
        oi = out[g * p.K + k]
        base = wr.addr + 4 * g * p.K * p.taps + 4 * ((k * p.C + ci) * p.FY * p.FX)
        rpi = [base + 4 * ((fy0i + c) * p.FX + fx0i) if c < fyi else 64 for c in range(3)]
        prm = [inp[g * p.C + ci] + 4 * ((fy0i + c) * p.DY * p.IX + fx0i) for c in range(fyi)]
        return ti, sim.Launch((rpi[0], rpi[1], rpi[2], oi), (64, 64, 64, oi)), prm, inp[g * p.C + ci]

    def mem_for(prm: list[int]) -> np.ndarray:
        if not memv:
            memv.append(img.materialise())
        for c, v in enumerate(prm):
            memv[0][(wp.PARAM + 4 * c) // 4] = v
        return memv[0]

    def store(cls: tuple, st: sim.Stats) -> None:
        if len(_CLASS_CACHE) >= 100_000:
            _CLASS_CACHE.clear()
        _CLASS_CACHE[(scope, cls)] = st

    fams: dict = {}
    for cls, (_n, i) in classes.items():
        if (scope, cls) not in _CLASS_CACHE:
            fams.setdefault(cls[0], []).append((cls, i))
    for ti, members in fams.items():
        _shifted(members, launch, mem_for, store, built[tiles[ti][2:]], tiles[ti], img.bank_words)
    items = [(_CLASS_CACHE[(scope, cls)], n) for cls, (n, _) in classes.items()]
    stats = P._scaled_sum(items, L)
    return Summary(wp.NAME, range(len(kernels)), host, img, kernel_words, cl), stats


def _shifted(members: list, launch, mem_for, store, kernel, tile: tuple, bank_words: int) -> None:
    """Time the first class of one tile with its event log; the others' launches run the same program with the
    weight-row, partial-sum and output pointers and the input plane (through the parameter words, into the
    loaders' address registers, which only feed addresses) moved, so their bank-conflict cycles follow from
    the log (``fasttime.ReadShift``, exact); a class that cannot be derived so is timed itself."""
    from cnncc.backends.openedgecgra import fasttime

    _, FX = tile[2], tile[3]
    cls0, i0 = members[0]
    _, lc0, prm0, in0 = launch(i0)
    mem = mem_for(prm0)
    log: list = []
    try:
        c0, e0 = fasttime.time_launch(kernel, mem, lc0.rptr, lc0.wptr, bank_words, sim.MAX_STEPS, log)
    except fasttime.Unsupported:
        log = []
    if not log:
        for cls, i in members:
            _, lc, prm, _ = launch(i)
            store(cls, sim.timed(kernel, mem_for(prm), lc, bank_words))
        return
    counts0 = np.array(c0, np.int64)
    store(cls0, sim.counts_stats(kernel, counts0, int(e0)))
    rs = fasttime.ReadShift(kernel, log, int(e0), 4 * mem.shape[0], bank_words) if len(members) > 1 else None
    for cls, i in members[1:]:
        assert rs is not None
        _, lc, prm, inb = launch(i)
        pe_shift = [0] * isa.N_PE
        for c in range(tile[2]):
            pe_shift[FX * isa.COLS + c] = inb - in0         # loader PE (FX, c): input column addresses
        e = rs.extra(tuple(a - b for a, b in zip(lc.rptr, lc0.rptr)), tuple(pe_shift),
                     tuple(a - b for a, b in zip(lc.wptr, lc0.wptr)))
        store(cls, sim.counts_stats(kernel, counts0, e) if e is not None
              else sim.timed(kernel, mem_for(prm), lc, bank_words))

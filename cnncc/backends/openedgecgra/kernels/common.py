"""Shared pieces of the kernel generators: the conv problem record, a program builder, the data-memory image
and the host launch plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnncc.backends.openedgecgra.isa import COLS, IMM_MAX, IMM_MIN, MAX_INSTR, N_PE, NOP, ROWS, Instr
from cnncc.backends.openedgecgra.sim import Kernel, Launch

GUARD_WORDS = 64  # slack after each buffer: kernels may prefetch one row past the end


class NotApplicable(Exception):
    """This mapping cannot run this layer (the reason is reported in the candidate list)."""


@dataclass(frozen=True)
class ConvProblem:
    """One group of a convolution on an already padded CHW input (batch 1).

    C: input channels of the group, K: output channels of the group, IY/IX: padded input size,
    OY/OX: output size, FY/FX kernel, SY/SX strides, DY/DX dilations."""

    C: int
    K: int
    IY: int
    IX: int
    OY: int
    OX: int
    FY: int = 1
    FX: int = 1
    SY: int = 1
    SX: int = 1
    DY: int = 1
    DX: int = 1

    @property
    def taps(self) -> int:
        return self.C * self.FY * self.FX

    @property
    def macs(self) -> int:
        return self.K * self.taps * self.OY * self.OX

    def tap_offset(self, t: int) -> int:
        """Word offset of reduction tap t = (c, fy, fx) relative to the window origin."""
        c, r = divmod(t, self.FY * self.FX)
        fy, fx = divmod(r, self.FX)
        return c * self.IY * self.IX + fy * self.DY * self.IX + fx * self.DX


def fits(v: int) -> bool:
    return IMM_MIN <= v <= IMM_MAX


def need(cond: bool, why: str) -> None:
    if not cond:
        raise NotApplicable(why)


class Builder:
    """Accumulates CGRA-instructions; ``put(t, (row, col), instr)`` fills a slot, ``new()`` appends a step."""

    def __init__(self) -> None:
        self.steps: list[list[Instr]] = []

    def new(self) -> int:
        self.steps.append([NOP] * N_PE)
        return len(self.steps) - 1

    def put(self, t: int, rc: tuple[int, int], ins: Instr) -> None:
        pe = rc[0] * COLS + rc[1]
        if self.steps[t][pe] is not NOP:
            raise AssertionError(f"slot {t} {rc} used twice")
        self.steps[t][pe] = ins

    def all(self, t: int, ins: Instr, rows=range(ROWS), cols=range(COLS)) -> None:
        for r in rows:
            for c in cols:
                self.put(t, (r, c), ins)

    def kernel(self, name: str) -> Kernel:
        """The verified kernel; NotApplicable when the generated program exceeds the context memory."""
        need(len(self.steps) <= MAX_INSTR,
             f"kernel needs {len(self.steps)} CGRA-instructions (limit {MAX_INSTR})")
        return Kernel(self.steps, name)


@dataclass
class Region:
    name: str
    base: int      # word index
    words: int

    @property
    def addr(self) -> int:
        return 4 * self.base


class MemImage:
    """Word-addressed SRAM image of ``n_banks`` non-interleaved banks of ``bank_words`` words.

    ``alloc`` places a buffer inside one bank when it fits (the emptiest bank), else across whole free banks;
    ``alloc_planes`` spreads the planes of a CHW tensor over 4 banks (plane k in stripe k mod 4) so that the
    four column ports can stream four channels without bank conflicts."""

    def __init__(self, sram_bytes: int = 512 * 1024, bank_bytes: int = 32 * 1024):
        self.bank_words = bank_bytes // 4
        self.n_banks = max(1, sram_bytes // bank_bytes)
        self.used = [0] * self.n_banks
        self.used[0] = 16                       # keep address 0 unused (and low words for parameters)
        self.cap = [self.bank_words] * self.n_banks
        self.hi = self.n_banks * self.bank_words  # large buffers grow down from the top
        self.regions: dict[str, Region] = {}
        self.init: dict[str, np.ndarray] = {}
        self.planes: dict[str, list[int]] = {}  # tensor -> byte address of each plane

    def _place(self, words: int, avoid: frozenset[int] | set[int] = frozenset()) -> int:
        """Best fit: a buffer that fits in a bank goes to the fullest bank with room (keeping empty banks for
        large buffers), avoiding ``avoid`` when possible; larger buffers are placed contiguously from the top
        of memory down, across bank boundaries."""
        words += GUARD_WORDS
        bw = self.bank_words
        if words <= bw:
            fit = [b for b in range(self.n_banks) if self.cap[b] - self.used[b] >= words]
            cands = [b for b in fit if b not in avoid] or fit
            if cands:
                b = max(cands, key=lambda b: (self.used[b], -b))
                base = b * bw + self.used[b]
                self.used[b] += words
                return base
        start = self.hi - words
        if start >= 0:
            lo = start // bw
            hi_b = (self.hi - 1) // bw
            if self.used[lo] <= start - lo * bw and all(self.used[b] == 0 for b in range(lo + 1, hi_b + 1)):
                self.hi = start
                self.cap[lo] = min(self.cap[lo], start - lo * bw)
                for b in range(lo + 1, hi_b + 1):
                    self.cap[b] = 0
                return start
        raise NotApplicable(f"does not fit in {self.n_banks * bw * 4} bytes of SRAM")

    def alloc(self, name: str, words: int, data: np.ndarray | None = None, avoid=frozenset()) -> Region:
        r = Region(name, self._place(int(words), avoid), int(words))
        self.regions[name] = r
        if data is not None:
            self.init[name] = np.asarray(data, np.int64).ravel()
        return r

    def alloc_planes(self, name: str, n_planes: int, plane_words: int, data: np.ndarray | None = None) -> list[int]:
        """Allocate a CHW tensor as 4 stripes in distinct banks (plane k in stripe k mod 4; a stripe larger than
        a bank spans several). Returns the byte address of every plane."""
        addrs = [0] * n_planes
        taken: set[int] = set()
        for s in range(min(4, n_planes)):
            ks = list(range(s, n_planes, 4))
            r = self.alloc(f"{name}.s{s}", len(ks) * plane_words, avoid=taken)
            taken.add(r.base // self.bank_words)
            for i, k in enumerate(ks):
                addrs[k] = r.addr + 4 * i * plane_words
        if data is not None:
            for k in range(n_planes):
                self.init[f"{name}.p{k}"] = np.asarray(data[k], np.int64).ravel()
                self.regions[f"{name}.p{k}"] = Region(f"{name}.p{k}", addrs[k] // 4, plane_words)
        self.planes[name] = addrs
        return addrs

    @property
    def bytes(self) -> int:
        return 4 * self.n_banks * self.bank_words

    @property
    def used_bytes(self) -> int:
        return 4 * sum(self.used)

    def materialise(self) -> np.ndarray:
        mem = np.zeros(self.n_banks * self.bank_words, np.int64)
        for name, data in self.init.items():
            r = self.regions[name]
            mem[r.base:r.base + data.size] = data
        return mem

    def read_planes(self, mem: np.ndarray, name: str, plane_words: int) -> np.ndarray:
        return np.stack([mem[a // 4:a // 4 + plane_words] for a in self.planes[name]])


@dataclass
class Batch:
    """Launches of one kernel that touch disjoint outputs and may run in any order."""

    kernel: str
    launches: list[Launch]
    pre: object = None   # optional callable(mem): host data work that must precede these launches


@dataclass
class HostWork:
    """CPU work of the plan, in units the CPU model prices (see ``host.py``)."""

    launches: int = 0            # CGRA launches (pointer setup, start, interrupt)
    reconfigs: int = 0           # launches whose kernel ID differs from the previous one (the controller configures)
    config_cycles: int = 0       # CGRA cycles of those configurations, 4·(n+1) each (``context.config_cycles``)
    imem_words: int = 0          # instruction words the CPU writes into the context memory (loads and patches)
    kmem_writes: int = 0         # kernel words the CPU writes into the kernel memory
    param_stores: int = 0        # words the CPU writes into parameter blocks
    copy_words: int = 0          # words copied (padding, im2col buffers, layout changes)
    zero_words: int = 0          # words cleared (output buffers that start at zero)
    post_words: int = 0          # words post-processed (bias/activation the kernel does not do)


@dataclass
class Plan:
    """What a mapping produces for one layer."""

    mapping: str
    kernels: dict[str, Kernel]
    batches: list[Batch]
    image: MemImage
    host: HostWork
    out_region: str
    out_shape: tuple[int, int, int]  # (K, OY, OX), CHW in the out region
    notes: list[str] = field(default_factory=list)
    prepare: object = None           # callable(mem) run before the batches (host-side data work, functional)
    finish: object = None            # callable(mem) -> np.ndarray (K, OY, OX) after the batches
    raw_sigs: list = field(default_factory=list)    # (timing key, addresses) per launch (``plan.signatures``)
    sigs: list | None = None                        # canonical signatures, computed on first use
    pre: dict = field(default_factory=dict)         # launch index -> host job before it
    kernel_words: int = 0                           # instruction words kept in SRAM (templates + patches)
    layer: Any = None                               # the ConvLayer the plan runs
    context: Any = None                             # ``context.ContextPlan``: kernel IDs, reconfigurations
    host_bias: bool = False                         # the host adds the bias to the outputs

    def launch_count(self) -> int:
        return sum(len(b.launches) for b in self.batches)

"""Context memory, kernel IDs and reconfiguration points of a launch plan, and the RTL's launch/configuration
cycles (measured on the OpenEdgeCGRA RTL, ``shared/reference/openedgecgra.md``).

The RTL's context memory (IMEM) has one bank per PE row of ``CMEM_BANK_WORDS`` words; a kernel of n
instructions starting at bank word s occupies words s .. s+4n-1 of every bank (column 0's n words, then column
1's, ...). The kernel memory (KMEM) maps a kernel ID (1..KMEM_DEPTH-1; 0 = idle) to a kernel word
[column mask][start][n-1]. Writing KERNEL_ID starts a launch: when the ID differs from the last launched one
the controller first copies the kernel column by column into the PEs (``config_cycles(n)`` = 4·(n+1));
then the launch takes the simulated cycles + the first-fetch bubble + ``LAUNCH_CYCLES`` until the
end-of-kernel interrupt. The controller does not look at the IMEM contents: a kernel patched in place must be
launched under a different ID than the last one, or the PEs keep the old configuration.

Placement (what the generated host program does): kernels of one shape (they differ only in immediates) share
a *template* slot. When every template of the plan fits IMEM at once (and two IDs per template fit KMEM), all
are loaded once at the start of the plan and each slot alternates between its two IDs; otherwise one slot at
IMEM word 0 is reloaded whenever the template changes, alternating IDs 1 and 2. Switching to a kernel of the
slot's template patches only the instruction words whose immediates differ (precomputed words in SRAM)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnncc.backends.openedgecgra import isa, timing

CMEM_BANK_WORDS = 128      # words per IMEM bank (one bank per PE row)
KMEM_DEPTH = 16            # kernel IDs 1..15
LAUNCH_CYCLES = 14         # KERNEL_ID write -> end-of-kernel interrupt, besides execution (RTL, measured)
FETCH_BUBBLE = 1           # first instruction fetch of every launch (RTL, measured)


def config_cycles(n_instr: int) -> int:
    """Cycles the controller takes to configure an n-instruction kernel (n reads + 1 per column, 4 columns)."""
    return 4 * (n_instr + 1)


@dataclass(frozen=True)
class Step:
    """Host work before one launch: IMEM writes and KMEM writes, then the KERNEL_ID write."""

    kernel: str
    kernel_id: int
    reconfigure: bool                      # ID differs from the previous launch: the controller configures
    load: int = 0                          # IMEM words written for a full template load (16·n)
    patch: int = 0                         # IMEM words patched (differing immediates)
    kmem: tuple[tuple[int, int], ...] = ()  # (kernel ID, kernel word) KMEM writes


@dataclass
class ContextPlan:
    """Placement and per-launch steps of one plan; totals in the units the host and cost models need."""

    resident: bool
    starts: dict[str, int]                 # template key name -> IMEM start word
    template_of: dict[str, str]            # kernel name -> template name
    steps: list[Step] = field(default_factory=list)
    setup_load: int = 0                    # IMEM words written once at the start (resident templates)
    setup_kmem: tuple[tuple[int, int], ...] = ()

    @property
    def reconfigs(self) -> int:
        return sum(s.reconfigure for s in self.steps)

    def config_cycles(self, n_instr: dict[str, int]) -> int:
        return sum(config_cycles(n_instr[s.kernel]) for s in self.steps if s.reconfigure)

    @property
    def imem_words(self) -> int:
        """IMEM words the CPU writes (loads and patches)."""
        return self.setup_load + sum(s.load + s.patch for s in self.steps)

    @property
    def kmem_writes(self) -> int:
        return len(self.setup_kmem) + sum(len(s.kmem) for s in self.steps)


def _imms(kernel) -> tuple:
    imms = getattr(kernel, "_imms", None)
    if imms is None:
        imms = kernel._imms = tuple(i.imm for step in kernel.program for i in step)
    return imms


def plan_context(kernels: dict, seq: list[str], prev_id: int = 0) -> ContextPlan:
    """Context plan of the launch sequence ``seq`` (kernel names) over ``kernels`` (name -> Kernel). ``prev_id``:
    the kernel ID launched last before this plan (another layer's); the first launch always uses another ID, so
    it always configures (the PEs hold another layer's kernel). The reconfiguration points do not depend on it."""
    tmpl: dict[tuple, str] = {}
    template_of: dict[str, str] = {}
    for name in dict.fromkeys(seq):
        template_of[name] = tmpl.setdefault(timing.shape(kernels[name]), f"t{len(tmpl)}")
    first: dict[str, str] = {}
    for name in seq:
        first.setdefault(template_of[name], name)
    n_of = {t: kernels[k].n_instr for t, k in first.items()}
    resident = sum(4 * n for n in n_of.values()) <= CMEM_BANK_WORDS and 2 * len(n_of) < KMEM_DEPTH
    starts: dict[str, int] = {}
    ctx = ContextPlan(resident, starts, template_of)
    kmem: dict[int, int] = {}
    ids: dict[str, tuple[int, int]] = {}
    content: dict[str, str] = {}         # slot -> kernel name whose words are in IMEM
    slot_id: dict[str, int] = {}          # slot -> ID whose KMEM entry describes the slot's current content
    if resident:
        s0, setup = 0, []
        for i, (t, n) in enumerate(n_of.items()):
            starts[t] = s0
            ids[t] = (2 * i + 1, 2 * i + 2)
            word = isa.kernel_word(n, s0)
            setup += [(ids[t][0], word), (ids[t][1], word)]
            kmem[ids[t][0]] = kmem[ids[t][1]] = word
            content[t] = first[t]
            s0 += 4 * n
        ctx.setup_load = sum(16 * n for n in n_of.values())
        ctx.setup_kmem = tuple(setup)
    else:
        starts.update({t: 0 for t in n_of})
    last_id = prev_id
    for j, name in enumerate(seq):
        t = template_of[name]
        slot = t if resident else "imem0"
        pair = ids[t] if resident else (1, 2)
        load = patch = 0
        cur = content.get(slot)
        changed = cur != name
        if changed:
            if cur is None or template_of[cur] != t:
                load = 16 * kernels[name].n_instr
            else:
                kc, kn = kernels[cur], kernels[name]
                patch = 0 if kc is kn else sum(a != b for a, b in zip(_imms(kc), _imms(kn)))
            content[slot] = name
        kid = slot_id.get(slot, pair[0])
        if (changed or j == 0) and kid == last_id:
            kid = pair[1] if kid == pair[0] else pair[0]
        slot_id[slot] = kid
        word = isa.kernel_word(kernels[name].n_instr, starts[t])
        writes: tuple[tuple[int, int], ...] = ()
        if kmem.get(kid) != word:
            kmem[kid] = word
            writes = ((kid, word),)
        ctx.steps.append(Step(name, kid, kid != last_id, load, patch, writes))
        last_id = kid
    return ctx

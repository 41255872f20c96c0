"""Timing keys of kernels: which immediates can influence control flow or memory addresses.

A conservative, flow-insensitive dataflow analysis over the program: a location (a PE's ROUT or register) is
*relevant* when its value can reach a branch operand, an LWI/SWI address or a select flag; an instruction whose
output is relevant makes its sources (and its immediate) relevant. When any load feeds a relevant location,
memory itself is relevant and so is every stored value. Immediates that are not relevant only change data
values, never which instructions run or which banks they touch, so two kernels with the same timing key (same
opcodes, operands and relevant immediates) have identical timing for identical launch pointers, parameter words
and memory layout. The mapping search uses this to share one simulated launch among kernels that differ in
weight immediates (``cnncc-ic4``)."""

from __future__ import annotations

from cnncc.backends.openedgecgra import isa


def _loc(name: str, pe: int):
    from cnncc.backends.openedgecgra.sim import _NEIGH

    if name in ("ZERO", "IMM"):
        return None
    if name == "SELF":
        return (pe, "ROUT")
    if name in _NEIGH:
        return (_NEIGH[name][pe], "ROUT")
    return (pe, name)


def relevant_immediates(program, control_only: bool = False) -> set[tuple[int, int]] | None:
    """(step, pe) of every instruction whose immediate may influence timing. With ``control_only`` only
    branches are seeds (the immediates that may change which instructions run); returns None then when a
    loaded value may reach a branch (control flow may depend on memory)."""
    rel: set = set()
    imm: set = set()
    mem_rel = False
    instrs = [(t, pe, i) for t, step in enumerate(program) for pe, i in enumerate(step) if i.op != "NOP"]

    def use(t, pe, i, names):
        for n in names:
            if n == "IMM":
                imm.add((t, pe))
            else:
                loc = _loc(n, pe)
                if loc is not None:
                    rel.add(loc)

    for t, pe, i in instrs:           # seeds: control and addresses
        if i.op in isa.BRANCH_OPS or i.op == "JUMP":
            use(t, pe, i, (i.a, i.b))
            imm.add((t, pe))
        elif control_only:
            continue
        elif i.op in ("LWI", "SWI"):
            use(t, pe, i, (i.b,))
        elif i.op in ("LWD", "SWD"):
            imm.add((t, pe))
    while True:
        n0 = (len(rel), len(imm), mem_rel)
        for t, pe, i in instrs:
            outs = {(pe, "ROUT")} | ({(pe, f"R{i.dest}")} if i.dest is not None else set())
            if i.op in isa.STORE_OPS:
                if mem_rel:
                    use(t, pe, i, (i.a,))
                continue
            if not (outs & rel):
                continue
            if i.op in isa.LOAD_OPS:
                if control_only:
                    return None
                mem_rel = True
                continue
            use(t, pe, i, (i.a, i.b))
            if i.op in ("BSFA", "BZFA"):
                use(t, pe, i, ("SELF" if i.flag == "SELF" else i.flag,))
        if (len(rel), len(imm), mem_rel) == n0:
            return imm


#: relevant immediates per program shape: the analysis never looks at immediate values, so kernels of one shape
#: (opcodes, operands, destinations, flags) share it
_SHAPE_CACHE: dict = {}


def shape(kernel) -> tuple:
    """The kernel's program without immediates (cached on the kernel)."""
    sh = getattr(kernel, "_shape", None)
    if sh is None:
        sh = tuple((i.op, i.dest, i.a, i.b, i.flag) for step in kernel.program for i in step)
        kernel._shape = sh
    return sh


def _relevant(kernel, control_only: bool):
    key = (shape(kernel), control_only)
    if key not in _SHAPE_CACHE:
        if len(_SHAPE_CACHE) > 10_000:
            _SHAPE_CACHE.clear()
        _SHAPE_CACHE[key] = relevant_immediates(kernel.program, control_only)
    return _SHAPE_CACHE[key]


def timing_key(kernel) -> tuple:
    """The kernel's program with every timing-irrelevant immediate blanked (cached on the kernel), and the base
    address immediates the generator declares (``Kernel.base_imms``: the launch's timing signature carries
    those addresses' banks instead)."""
    key = getattr(kernel, "_timing_key", None)
    if key is None:
        imm = _relevant(kernel, False) - getattr(kernel, "base_imms", frozenset())
        key = tuple((i.op, i.dest, i.a, i.b, i.imm if (t, pe) in imm else None, i.flag)
                    for t, step in enumerate(kernel.program) for pe, i in enumerate(step))
        kernel._timing_key = key
    return key


def control_key(kernel) -> tuple:
    """The kernel's program with every immediate blanked that cannot reach a branch (cached on the kernel), or
    its ``timing_key`` when a loaded value may reach a branch. Kernels with equal control keys execute the same
    instruction sequence for any pointers, parameter words and memory, hence the same instruction counts and
    static-latency cycles (what ``plan.lower_bound`` needs)."""
    key = getattr(kernel, "_control_key", None)
    if key is None:
        imm = _relevant(kernel, True)
        if imm is None:
            key = ("timing", timing_key(kernel))
        else:
            key = ("control", tuple((i.op, i.dest, i.a, i.b, i.imm if (t, pe) in imm else None, i.flag)
                                    for t, step in enumerate(kernel.program) for pe, i in enumerate(step)))
        kernel._control_key = key
    return key

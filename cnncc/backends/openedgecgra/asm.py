"""Assembler, disassembler and verifier for OpenEdgeCGRA kernels.

Text syntax of one PE cell (the ESL-CGRA simulator's ``instructions.csv`` / SAT-MapIt ``out.sat`` syntax):
``OP DEST, SRC_A, SRC_B`` (``DEST`` is ``ROUT`` or ``R0``..``R3``; an integer operand selects IMM), ``LWD DEST[, INC]``,
``SWD SRC[, INC]`` (INC = post-increment in bytes, the immediate; omitted = 0), ``LWI DEST, ADDR``, ``SWI SRC, ADDR``,
``BEQ A, B, TARGET``, ``BSFA DEST, A, B, FLAG``, ``JUMP A, B``, ``EXIT``, ``NOP``.
A program is ``program[t][pe]`` (t = CGRA-instruction, pe = row*4 + col).
"""

from __future__ import annotations

from cnncc.backends.openedgecgra import isa
from cnncc.backends.openedgecgra.isa import BRANCH_OPS, COLS, ROWS, Instr

Program = list[list[Instr]]


class AsmError(ValueError):
    """Malformed assembly text or a program that breaks a hard constraint."""


def _src(tok: str) -> tuple[str, int | None]:
    tok = tok.strip().upper()
    if tok in isa.SOURCES and tok != "IMM":
        return tok, None
    if tok == "ROUT":
        return "SELF", None
    try:
        return "IMM", int(tok, 0)
    except ValueError:
        raise AsmError(f"bad operand {tok!r}") from None


def _dest(tok: str) -> int | None:
    tok = tok.strip().upper()
    if tok == "ROUT":
        return None
    if tok in ("R0", "R1", "R2", "R3"):
        return int(tok[1])
    raise AsmError(f"bad destination {tok!r}")


def parse_cell(text: str) -> Instr:
    """One PE instruction from text. Raises AsmError."""
    text = text.strip()
    if not text:
        return isa.NOP
    op, _, rest = text.partition(" ")
    op = op.upper()
    args = [a.strip() for a in rest.split(",")] if rest.strip() else []
    if op not in isa.OPCODES:
        raise AsmError(f"unknown opcode {op!r} in {text!r}")
    imm = 0

    def operand(tok):
        nonlocal imm
        s, v = _src(tok)
        if v is not None:
            imm = v
        return s

    try:
        if op in ("NOP", "EXIT"):
            if args:
                raise AsmError(f"{op} takes no operands")
            return Instr(op)
        if op == "LWD":
            return Instr(op, _dest(args[0]), imm=int(args[1], 0) if len(args) > 1 else 0)
        if op == "SWD":
            return Instr(op, None, operand(args[0]), imm=int(args[1], 0) if len(args) > 1 else 0)
        if op == "LWI":
            return Instr(op, _dest(args[0]), "ZERO", operand(args[1]), imm)
        if op == "SWI":
            a = operand(args[0])
            b = operand(args[1])
            return Instr(op, None, a, b, imm)
        if op in BRANCH_OPS:
            a, b = operand(args[0]), operand(args[1])
            return Instr(op, None, a, b, int(args[2], 0))
        if op == "JUMP":
            a, b = operand(args[0]), operand(args[1])
            return Instr(op, None, a, b, imm)
        if op in ("BSFA", "BZFA"):
            d = _dest(args[0])
            a, b = operand(args[1]), operand(args[2])
            flag = args[3].strip().upper()
            flag = "SELF" if flag == "ROUT" else flag
            if flag not in isa.FLAGS:
                raise AsmError(f"bad flag source {flag!r}")
            return Instr(op, d, a, b, imm, flag)
        d = _dest(args[0])
        a, b = operand(args[1]), operand(args[2])
        if len(args) != 3:
            raise AsmError("expected 3 operands")
        return Instr(op, d, a, b, imm)
    except (IndexError, ValueError) as e:
        if isinstance(e, AsmError):
            raise
        raise AsmError(f"malformed instruction {text!r}") from None


def _s(src: str, imm: int) -> str:
    return str(imm) if src == "IMM" else src


def format_cell(ins: Instr) -> str:
    """Canonical text of one PE instruction (inverse of :func:`parse_cell`)."""
    op, d = ins.op, ("ROUT" if ins.dest is None else f"R{ins.dest}")
    if op in ("NOP", "EXIT"):
        return op
    if op == "LWD":
        return f"LWD {d}" + (f", {ins.imm}" if ins.imm else "")
    if op == "SWD":
        return f"SWD {_s(ins.a, ins.imm)}" + (f", {ins.imm}" if ins.imm and ins.a != "IMM" else "")
    if op == "LWI":
        return f"LWI {d}, {_s(ins.b, ins.imm)}"
    if op == "SWI":
        return f"SWI {_s(ins.a, ins.imm)}, {_s(ins.b, ins.imm)}"
    if op in BRANCH_OPS:
        return f"{op} {ins.a}, {ins.b}, {ins.imm}"
    if op == "JUMP":
        return f"JUMP {_s(ins.a, ins.imm)}, {_s(ins.b, ins.imm)}"
    if op in ("BSFA", "BZFA"):
        return f"{op} {d}, {_s(ins.a, ins.imm)}, {_s(ins.b, ins.imm)}, {ins.flag}"
    return f"{op} {d}, {_s(ins.a, ins.imm)}, {_s(ins.b, ins.imm)}"


# ------------------------------------------------------------------------------------------ file formats
def to_csv(program: Program) -> str:
    """Simulator CSV: per CGRA-instruction a header row ``t,,,`` then 4 rows of 4 cells."""
    lines = []
    for t, step in enumerate(program):
        lines.append(f"{t},,,")
        for r in range(ROWS):
            lines.append(",".join(_csv_cell(format_cell(step[r * COLS + c])) for c in range(COLS)))
    return "\n".join(lines) + "\n"


def _csv_cell(text: str) -> str:
    return f'"{text}"' if "," in text else text


def from_csv(text: str) -> Program:
    import csv
    import io

    rows = [r for r in csv.reader(io.StringIO(text)) if any(x.strip() for x in r)]
    prog: Program = []
    i = 0
    while i < len(rows):
        if len(rows) < i + 1 + ROWS:
            raise AsmError("truncated CSV program")
        step: list[Instr] = []
        for r in range(ROWS):
            cells = rows[i + 1 + r]
            if len(cells) != COLS:
                raise AsmError(f"CSV row needs {COLS} cells, got {len(cells)}")
            step.extend(parse_cell(c) for c in cells)
        prog.append(step)
        i += 1 + ROWS
    return prog


def to_sat(program: Program) -> str:
    """SAT-MapIt ``out.sat``: ``T = n`` blocks, one line per PE in row-major order."""
    out = []
    for t, step in enumerate(program):
        out.append(f"T = {t}")
        out.extend(format_cell(ins) for ins in step)
    return "\n".join(out) + "\n"


def from_sat(text: str) -> Program:
    prog: Program = []
    cur: list[Instr] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("T ="):
            if cur is not None:
                prog.append(cur)
            cur = []
            continue
        if cur is None:
            raise AsmError("out.sat must start with 'T = 0'")
        cur.append(parse_cell(line))
    if cur is not None:
        prog.append(cur)
    for step in prog:
        if len(step) != isa.N_PE:
            raise AsmError(f"out.sat block has {len(step)} PE lines, expected {isa.N_PE}")
    return prog


def assemble(program: Program) -> list[list[int]]:
    """Words ``[t][pe]``."""
    return [[isa.encode(i) for i in step] for step in program]


def disassemble(words: list[list[int]]) -> Program:
    return [[isa.decode(w) for w in step] for step in words]


# ------------------------------------------------------------------------------------------ verifier
class _Where:
    """Location text of a verifier message, formatted only when an error is raised."""

    def __init__(self, t, pe, ins):
        self.t, self.pe, self.ins = t, pe, ins

    def __format__(self, spec):
        return f"instruction {self.t}, PE ({self.pe // COLS},{self.pe % COLS}) {format_cell(self.ins)!r}"


def verify(program: Program) -> None:
    """Enforce the hard constraints; raise AsmError naming the first violation."""
    n = len(program)
    if not 1 <= n <= isa.MAX_INSTR:
        raise AsmError(f"kernel has {n} CGRA-instructions (limit {isa.MAX_INSTR})")
    if n < isa.MIN_INSTR:
        raise AsmError(f"kernel has {n} CGRA-instructions: the RTL controller mis-configures kernels of fewer than "
                       f"{isa.MIN_INSTR} (pad with NOPs)")
    has_exit = False
    for t, step in enumerate(program):
        if len(step) != isa.N_PE:
            raise AsmError(f"instruction {t} has {len(step)} PE ops, expected {isa.N_PE}")
        branchers = 0
        for pe, ins in enumerate(step):
            if ins.op == "NOP" and ins == isa.NOP:
                continue
            where = _Where(t, pe, ins)
            if not isa.IMM_MIN <= ins.imm <= isa.IMM_MAX:
                raise AsmError(f"{where}: immediate out of imm13 range")
            if ins.op in BRANCH_OPS and ins.b in ("IMM", "SELF"):
                raise AsmError(f"{where}: a branch compares with a register, a neighbour or ZERO")
            uses = (ins.a == "IMM") + (ins.b == "IMM")
            imm_role = ins.op in BRANCH_OPS or (ins.op in ("LWD", "SWD") and ins.imm != 0)
            if uses + imm_role > 1 and not (uses == 2 and ins.a == ins.b == "IMM" and not imm_role):
                raise AsmError(f"{where}: more than one immediate in one op")
            if ins.op in BRANCH_OPS:
                branchers += 1
                if not 0 <= ins.imm < n:
                    raise AsmError(f"{where}: branch target {ins.imm} outside the kernel (0..{n - 1})")
            if ins.op == "JUMP":
                branchers += 1
                if ins.a == "IMM" or ins.b == "IMM":
                    tgt: int | None = ins.imm if (ins.a == "IMM") != (ins.b == "IMM") else 2 * ins.imm
                    if ins.a not in ("IMM", "ZERO") or ins.b not in ("IMM", "ZERO"):
                        tgt = None
                    if tgt is not None and not 0 <= tgt < n:
                        raise AsmError(f"{where}: jump target {tgt} outside the kernel")
            has_exit |= ins.op == "EXIT"
        if branchers > 1:
            raise AsmError(f"instruction {t}: {branchers} PEs may branch (taken only when exactly one does)")
    if not has_exit:
        raise AsmError("kernel has no EXIT")

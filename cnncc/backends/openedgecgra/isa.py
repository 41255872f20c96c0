"""OpenEdgeCGRA instruction set: opcodes, operand sources, 32-bit encoding and the kernel word.

Facts from ``shared/reference/openedgecgra.md`` (OpenEdgeCGRA RTL). Encoding of one PE instruction:
``[31:28] muxA | [27:24] muxB | [23:19] opcode | [18:17] dest R0..R3 | [16] register write enable |
[15:13] flag source | [12:0] signed immediate``.
"""

from __future__ import annotations

from dataclasses import dataclass

ROWS = COLS = 4
N_PE = ROWS * COLS
MAX_INSTR = 32
#: the RTL controller copies kernels of 1-2 instructions into the wrong columns: the verifier refuses them
MIN_INSTR = 3
IMM_MIN, IMM_MAX = -4096, 4095

OPCODES = {"NOP": 0, "SADD": 1, "SSUB": 2, "SMUL": 3, "FXPMUL": 4, "SLT": 5, "SRT": 6, "SRA": 7,
           "LAND": 8, "LOR": 9, "LXOR": 10, "LNAND": 11, "LNOR": 12, "LXNOR": 13, "BSFA": 14, "BZFA": 15,
           "BEQ": 16, "BNE": 17, "BLT": 18, "BGE": 19, "JUMP": 20, "LWD": 21, "SWD": 22, "LWI": 23, "SWI": 24,
           "EXIT": 25}
OPNAMES = {v: k for k, v in OPCODES.items()}

SOURCES = {"ZERO": 0, "SELF": 1, "RCL": 2, "RCR": 3, "RCT": 4, "RCB": 5, "R0": 6, "R1": 7, "R2": 8, "R3": 9,
           "IMM": 10}
SRCNAMES = {v: k for k, v in SOURCES.items()}
FLAGS = {"SELF": 0, "RCL": 1, "RCR": 2, "RCT": 3, "RCB": 4}
FLAGNAMES = {v: k for k, v in FLAGS.items()}

ALU_OPS = {"SADD", "SSUB", "SMUL", "FXPMUL", "SLT", "SRT", "SRA", "LAND", "LOR", "LXOR", "LNAND", "LNOR",
           "LXNOR"}
MUL_OPS = {"SMUL", "FXPMUL"}
BRANCH_OPS = {"BEQ", "BNE", "BLT", "BGE"}
LOAD_OPS = {"LWD", "LWI"}
STORE_OPS = {"SWD", "SWI"}
MEM_OPS = LOAD_OPS | STORE_OPS


@dataclass(frozen=True)
class Instr:
    """One PE operation. ``dest`` is None for ROUT-only results (write enable 0), else 0..3 (R0..R3).
    ``a``/``b`` are operand-source names (``SOURCES``); ``imm`` is the 13-bit signed immediate (operand,
    branch target, or LWD/SWD post-increment in bytes); ``flag`` the BSFA/BZFA flag source."""

    op: str = "NOP"
    dest: int | None = None
    a: str = "ZERO"
    b: str = "ZERO"
    imm: int = 0
    flag: str = "SELF"

    @property
    def is_nop(self) -> bool:
        return self.op == "NOP"


NOP = Instr()


def sext13(v: int) -> int:
    """Sign-extend a 13-bit field."""
    v &= 0x1FFF
    return v - 0x2000 if v & 0x1000 else v


def encode(ins: Instr) -> int:
    """32-bit word of one PE instruction. Raises ValueError on out-of-range fields."""
    if ins.op not in OPCODES:
        raise ValueError(f"unknown opcode {ins.op!r}")
    if not IMM_MIN <= ins.imm <= IMM_MAX:
        raise ValueError(f"immediate {ins.imm} outside imm13 range {IMM_MIN}..{IMM_MAX}")
    we = 0 if ins.dest is None else 1
    dest = 0 if ins.dest is None else ins.dest
    if not 0 <= dest <= 3:
        raise ValueError(f"destination R{dest} does not exist")
    return ((SOURCES[ins.a] << 28) | (SOURCES[ins.b] << 24) | (OPCODES[ins.op] << 19) | (dest << 17)
            | (we << 16) | (FLAGS[ins.flag] << 13) | (ins.imm & 0x1FFF))


def decode(word: int) -> Instr:
    """Inverse of :func:`encode`. Raises ValueError on an invalid opcode or source."""
    word &= 0xFFFFFFFF
    a, b, opc = (word >> 28) & 0xF, (word >> 24) & 0xF, (word >> 19) & 0x1F
    if opc not in OPNAMES or a not in SRCNAMES or b not in SRCNAMES or ((word >> 13) & 7) not in FLAGNAMES:
        raise ValueError(f"invalid instruction word 0x{word:08X}")
    we = (word >> 16) & 1
    return Instr(OPNAMES[opc], ((word >> 17) & 3) if we else None, SRCNAMES[a], SRCNAMES[b], sext13(word),
                 FLAGNAMES[(word >> 13) & 7])


def kernel_word(n_instr: int, start: int = 0, col_mask: int = 0xF) -> int:
    """16-bit kernel word: [column mask 4][start address 7][n_instr-1 5], e.g. 0xF014 for 21 instructions."""
    if not 1 <= n_instr <= MAX_INSTR or not 0 <= start < 128 or not 0 <= col_mask <= 0xF:
        raise ValueError("kernel word field out of range")
    return (col_mask << 12) | (start << 5) | (n_instr - 1)


def context_image(program: list[list[Instr]]) -> list[list[int]]:
    """Context memory, one bank per row: in each bank column 0's n_instr words first, then column 1's, ...
    ``program[t][pe]`` with pe = row*4 + col. Returns ``banks[row]`` as a list of 32-bit words."""
    banks = []
    for r in range(ROWS):
        words: list[int] = []
        for c in range(COLS):
            words.extend(encode(step[r * COLS + c]) for step in program)
        banks.append(words)
    return banks


def alu(op: str, a, b):
    """The ALU result of ``op`` on operands ``a``, ``b`` (Python ints or int64 numpy arrays, before the 32-bit
    wrap): the one definition the simulator and the static timing engine share. ValueError for a non-ALU op."""
    if op == "SADD":
        return a + b
    if op == "SSUB":
        return a - b
    if op == "SMUL":
        return a * b
    if op == "FXPMUL":
        return (a * b) >> 15
    if op == "SLT":
        return a << (b & 31)
    if op == "SRT":
        return (a & 0xFFFFFFFF) >> (b & 31)
    if op == "SRA":
        return a >> (b & 31)
    if op == "LAND":
        return a & b
    if op == "LOR":
        return a | b
    if op == "LXOR":
        return a ^ b
    if op == "LNAND":
        return ~(a & b)
    if op == "LNOR":
        return ~(a | b)
    if op == "LXNOR":
        return ~(a ^ b)
    raise ValueError(f"no ALU semantics for {op}")

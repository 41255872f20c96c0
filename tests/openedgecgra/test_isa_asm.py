"""ISA encoding, assembler/disassembler round trips and the verifier's hard constraints."""

import pytest

from cnncc.backends.openedgecgra import asm, isa
from cnncc.backends.openedgecgra.asm import AsmError
from cnncc.backends.openedgecgra.isa import NOP, Instr

CELLS = ["NOP", "EXIT", "SADD R2, R2, RCL", "SSUB ROUT, R0, 7", "SMUL ROUT, R0, RCB", "FXPMUL R3, RCT, RCR",
         "SLT R1, R1, 12", "SRT ROUT, SELF, 3", "SRA R0, R0, R1", "LAND R1, R2, -5", "LXNOR ROUT, ZERO, RCT",
         "LWD R1", "LWD ROUT, -12", "SWD R3", "SWD SELF, 4", "LWI R3, RCB", "LWI ROUT, 28", "SWI RCL, RCR",
         "SWI R3, 16", "BEQ R1, ZERO, 6", "BNE R2, RCL, 0", "BLT SELF, R3, 31", "BGE R0, RCB, 2",
         "BSFA R0, R1, R2, RCT", "BZFA ROUT, 5, R2, SELF", "JUMP ZERO, 3", "JUMP R0, RCL"]


def test_reference_encodings():
    assert isa.encode(asm.parse_cell("LWD R0")) == 0x00A90000
    assert isa.kernel_word(21) == 0xF014


@pytest.mark.parametrize("cell", CELLS)
def test_text_words_text_round_trip(cell):
    ins = asm.parse_cell(cell)
    word = isa.encode(ins)
    assert 0 <= word <= 0xFFFFFFFF
    assert isa.decode(word) == ins
    assert asm.format_cell(isa.decode(word)) == cell


def test_field_layout():
    w = isa.encode(Instr("SADD", 2, "R1", "RCL", -1))
    assert w >> 28 == isa.SOURCES["R1"] and (w >> 24) & 0xF == isa.SOURCES["RCL"]
    assert (w >> 19) & 0x1F == isa.OPCODES["SADD"] and (w >> 17) & 3 == 2 and (w >> 16) & 1 == 1
    assert w & 0x1FFF == 0x1FFF and isa.sext13(w) == -1


def test_decode_rejects_invalid_opcode():
    with pytest.raises(ValueError):
        isa.decode(31 << 19)
    with pytest.raises(ValueError):
        isa.encode(Instr("SADD", 0, "R0", "IMM", 5000))


def _prog(n=2):
    p = [[NOP] * 16 for _ in range(n)]
    p[-1][0] = Instr("EXIT")
    return p


def test_csv_and_sat_round_trip():
    p = _prog(3)
    p[0][5] = asm.parse_cell("SADD R2, R2, RCL")
    p[1][15] = asm.parse_cell("BEQ R1, ZERO, 0")
    assert asm.from_csv(asm.to_csv(p)) == p
    assert asm.from_sat(asm.to_sat(p)) == p
    assert asm.disassemble(asm.assemble(p)) == p
    asm.verify(p)


@pytest.mark.parametrize("mutate, msg", [
    (lambda p: p.extend(_prog(31)), "limit 32"),
    (lambda p: p[0].__setitem__(2, Instr("BEQ", None, "R0", "IMM", 1)), "register, a neighbour or ZERO"),
    (lambda p: p[0].__setitem__(1, Instr("BNE", None, "R0", "ZERO", 9)), "outside the kernel"),
    (lambda p: (p[0].__setitem__(1, Instr("BNE", None, "R0", "ZERO", 1)),
                p[0].__setitem__(2, Instr("BEQ", None, "R0", "ZERO", 1))), "may branch"),
    (lambda p: p[-1].__setitem__(0, NOP), "no EXIT"),
    (lambda p: p.pop(0), "fewer than 3"),
    (lambda p: p[0].__setitem__(3, Instr("SWI", None, "IMM", "IMM", 4)), None),
])
def test_verifier(mutate, msg):
    p = _prog(3)
    mutate(p)
    if msg is None:
        asm.verify(p)   # the same immediate used twice is one immediate
    else:
        with pytest.raises(AsmError, match=msg):
            asm.verify(p)


def test_two_immediates_rejected():
    p = _prog(3)
    p[0][0] = Instr("BEQ", None, "IMM", "R0", 1)
    with pytest.raises(AsmError, match="more than one immediate"):
        asm.verify(p)


def test_parse_errors():
    for bad in ("FOO R1, R1, R1", "SADD R9, R1, R1", "SADD R1, R1", "LWD", "SADD R1, XX, R1"):
        with pytest.raises(AsmError):
            asm.parse_cell(bad)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_decode_is_lossless_up_to_dont_care_bits(word):
    """Every valid word decodes to an instruction whose encoding decodes to the same instruction; the bits
    that differ are only the destination field of an op without register write-enable."""
    try:
        ins = isa.decode(word)
    except ValueError:
        return
    w2 = isa.encode(ins)
    assert isa.decode(w2) == ins
    assert (w2 ^ word) & ~(3 << 17) == 0 and not (word >> 16) & 1 or w2 == word

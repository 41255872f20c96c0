"""The run tables of the codec search: leading / trailing / longest runs of full sub-blocks of a 16-bit mask,
computed directly (few masks) or looked up (many) — both equal a bit-string count, on every mask."""

from __future__ import annotations

import re

import numpy as np

from cnncc.backends.ethos_u65 import codec_search as cs


def _reference(mask: int) -> tuple[int, int, int]:
    bits = format(mask, "016b")[::-1]  # bit i = sub-block i
    runs = [len(r) for r in re.findall("1+", bits)]
    return len(bits) - len(bits.lstrip("1")), len(bits) - len(bits.rstrip("1")), max(runs, default=0)


def test_direct_and_table_runs_equal_a_bit_string_count():
    every = np.arange(1 << 16, dtype=np.int64)
    lead, trail, run = cs._run_tables()
    rng = np.random.default_rng(7)
    sample = np.concatenate((rng.integers(0, 1 << 16, 3000), [0, 1, 0x8000, 0xFFFF, 0x7FFE, 0x0FF0]))
    want = np.array([_reference(int(m)) for m in sample]).T
    for got in ((lead[sample], trail[sample], run[sample]), cs._mask_runs(sample.reshape(-1, 6))):
        assert [np.asarray(g).ravel().tolist() for g in got] == want.tolist()
    assert int(run[every].max()) == 16 and int(lead[0xFFFF]) == 16

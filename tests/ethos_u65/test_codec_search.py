"""The fast Golomb-Rice parameter search (codec_search.py) against the plain one it replaces (codec_reference.py,
the test oracle): the same slices [(parameter, end)] on seeded random weight and zero-run streams of every kind of
value distribution, long enough to use the block bound and with parameter switches; no Vela needed."""

from __future__ import annotations

import numpy as np

from cnncc.backends.ethos_u65.codec import W_DIV, W_TRUNC, Z_DIV, _palette, _tables
from cnncc.backends.ethos_u65.codec_search import search
from tests.ethos_u65.codec_reference import grc_slices


def _weights(rng: np.random.Generator, kind: int, n: int) -> np.ndarray:
    """int weights -255..255: gaussian, uniform, sparse, few-valued, laplace, pruned blocks, long runs of one
    value, zero runs between trained-like stretches, stretches of changing scale (forces switches)."""
    if kind == 0:
        w = rng.normal(0, rng.uniform(0.5, 80), n)
    elif kind == 1:
        w = rng.integers(-255, 256, n).astype(float)
    elif kind == 2:
        w = np.where(rng.random(n) < rng.uniform(0.3, 0.99), 0, rng.normal(0, 30, n))
    elif kind == 3:
        w = rng.choice(rng.integers(-127, 128, int(rng.integers(1, 40))), n).astype(float)
    elif kind == 4:
        w = rng.laplace(0, rng.uniform(0.5, 25), n)
    elif kind == 5:
        w = rng.normal(0, 20, n)
        w[np.repeat(rng.random(n // 16 + 1) < 0.4, 16)[:n]] = 0
    elif kind == 6:
        w = np.repeat(rng.integers(-40, 41, n // 50 + 1), rng.integers(1, 400, n // 50 + 1))[:n].astype(float)
    elif kind == 7:
        w = rng.normal(0, rng.uniform(2, 40), n)
        w[np.repeat(rng.random(n // 64 + 1) < 0.3, 64)[:n]] = 0
    else:
        cuts = np.sort(rng.integers(0, n, int(rng.integers(2, 30))))
        scale = np.repeat(rng.choice([0.3, 1, 3, 10, 40, 120], cuts.size + 1), np.diff(np.r_[0, cuts, n]))
        w = rng.normal(0, 1, n) * scale
    w = np.resize(np.round(w), n)
    return np.clip(w, -255, 255).astype(np.int64)


def _streams(w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(values, bits table, codable table) of the weight stream and, with zero runs, the zero-run stream, as
    codec.section_bits feeds them to the search."""
    zruns, table, palsize, palbits, only_zeros, only_palette = _palette(w)
    unc_bits = (palsize - 1).bit_length() if only_palette else (palbits if palsize == 0 else 0)
    if zruns:
        nz = w != 0
        if only_zeros:
            nz[0] = True
        idx = np.flatnonzero(nz)
        wv = table[w[idx] + 256]
        zr = np.diff(np.concatenate(([-1], idx, [w.size]))) - 1
        out = [(wv, *_tables(wv, W_DIV, W_TRUNC, unc_bits)), (zr, *_tables(zr, Z_DIV, np.zeros(4, np.int64), -1))]
    else:
        wv = table[w + 256]
        out = [(wv, *_tables(wv, W_DIV, W_TRUNC, unc_bits))]
    return [s for s in out if s[0].size]


def test_search_matches_reference_on_random_streams():
    rng = np.random.default_rng(20261203)
    switched = blocks = both = 0
    for k in range(90):
        n = int(rng.choice([1, 7, 300, 2000, 5000, 20000, 70000]))
        for v, bits, cod in _streams(_weights(rng, k % 9, n)):
            got = search(v, bits, cod)
            assert got == grc_slices(bits[:, v], cod[:, v]), (k % 9, n, v.size)
            switched += len(got) > 1
            blocks += v.size > 512
            both += len(got) > 1 and v.size > 512
    assert switched >= 12 and blocks >= 30 and both >= 6, (switched, blocks, both)


def test_search_matches_reference_on_trained_like_layers():
    """Long streams like a trained layer's: near-gaussian codes with per-channel scales and padding zeros."""
    rng = np.random.default_rng(5)
    for _ in range(6):
        o, i = int(rng.choice([16, 64, 128])), int(rng.choice([24, 32, 64]))
        w = rng.normal(0, 1, (o, 9, i)) * rng.uniform(5, 60, (o, 1, 1))
        w[:, :, int(i * rng.uniform(0.6, 1)):] = 0
        for v, bits, cod in _streams(np.clip(np.round(w.ravel()), -127, 127).astype(np.int64)):
            assert search(v, bits, cod) == grc_slices(bits[:, v], cod[:, v]), (o, i)

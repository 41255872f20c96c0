"""Tile geometry for the ``tile`` pass: working sets, halos, channel tiles and the choice of tile sizes.

A choice is (ty, tx, tk, tc): output rows, output columns, output channels and input channels per tile.
For grouped convs, tk >= K/groups means whole groups per tile (tc then follows: tk/Kg·Cg); tk < K/groups
splits inside each group.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnncc.ir import ops as O


def cands(n: int) -> list[int]:
    """Candidate tile extents for an axis of length n, largest first: ceil(n/m) for m = 1..16 and powers
    of two."""
    ms = set(range(1, min(n, 16) + 1)) | {2 ** i for i in range(n.bit_length() + 1)}
    return sorted({max(1, -(-n // m)) for m in ms}, reverse=True)


def chunks(n: int, t: int) -> list[tuple[int, int]]:
    """[0, n) cut into pieces of t (the last may be shorter)."""
    return [(a, min(n, a + t)) for a in range(0, n, t)]


def spatial_chunks(n: int, t: int, valid: tuple[int, int]) -> list[tuple[int, int]]:
    """Output positions [0, n) in pieces of t over the ``valid`` range (outputs whose window touches the
    input); the leading/trailing outputs that see only padding join the first/last piece."""
    v0, v1 = valid
    out = [(a, min(v1, a + t)) for a in range(v0, v1, t)]
    out[0] = (0, out[0][1])
    out[-1] = (out[-1][0], n)
    return out


def _valid(size: int, out: int, k: int, s: int, d: int, p0: int) -> tuple[int, int] | None:
    v0 = max(0, -(-(p0 - d * (k - 1)) // s))
    v1 = min(out, (size - 1 + p0) // s + 1)
    return (v0, v1) if v0 < v1 else None


@dataclass(frozen=True)
class ConvGeom:
    """Shapes of one conv (batch N) and the element size used for working sets (bytes)."""

    N: int
    C: int
    H: int
    W: int
    K: int
    OY: int
    OX: int
    G: int
    FY: int
    FX: int
    SY: int
    SX: int
    DY: int
    DX: int
    pads: tuple[int, int, int, int]
    eb: int
    bias: bool
    y_valid: tuple[int, int] | None
    x_valid: tuple[int, int] | None

    @staticmethod
    def of(graph, layer, elem_bytes: int) -> ConvGeom:
        op: O.Conv = layer.op
        n, c, h, w = graph.type_of(layer.inputs[0]).shape
        _, k, oy, ox = graph.type_of(layer.outputs[0]).shape
        (fy, fx), (sy, sx), (dy, dx) = op.kernel, op.strides, op.dilations
        return ConvGeom(n, c, h, w, k, oy, ox, op.groups, fy, fx, sy, sx, dy, dx, op.pads, int(elem_bytes),
                        len(layer.inputs) > 2, _valid(h, oy, fy, sy, dy, op.pads[0]),
                        _valid(w, ox, fx, sx, dx, op.pads[1]))

    @property
    def Kg(self) -> int:
        return self.K // self.G

    @property
    def Cg(self) -> int:
        return self.C // self.G

    def full(self) -> tuple[int, int, int, int]:
        return (self.OY, self.OX, self.K, self.C)

    def normalize(self, ty: int, tx: int, tk: int, tc: int) -> tuple[int, int, int, int]:
        """Clamp to the extents; for grouped convs round tk to whole groups or keep it inside one group."""
        ty, tx, tk = min(ty, self.OY), min(tx, self.OX), min(tk, self.K)
        if self.G == 1:
            return ty, tx, tk, min(tc, self.C)
        if tk >= self.Kg:
            tk -= tk % self.Kg
            return ty, tx, tk, tk // self.Kg * self.Cg
        return ty, tx, tk, min(tc, self.Cg)

    def _axis_max(self, t: int, valid, n_out: int, axis: int) -> tuple[int, int]:
        """(largest output extent, largest clipped input extent) over the tiles of one spatial axis (0: rows,
        1: columns). The clipped input extent of the interior pieces rises while their windows leave the
        leading padding, is flat, then falls as they enter the trailing padding (unimodal in the piece's
        start), so the first, the last and the pieces around the two break points bound all of them."""
        span = self.rows if axis == 0 else self.cols
        if valid is None:
            return n_out, span(0, n_out)[1] - span(0, n_out)[0]
        v0, v1 = valid
        m = -(-(v1 - v0) // t)                       # pieces: [0, v0+t), [v0+t, v0+2t), ..., [.., n_out)

        def piece(i: int) -> tuple[int, int]:
            return (0 if i == 0 else v0 + i * t, n_out if i == m - 1 else min(v1, v0 + (i + 1) * t))

        if m <= 8:
            idx = set(range(m))
        else:
            s, d, f, p0, size = ((self.SY, self.DY, self.FY, self.pads[0], self.H) if axis == 0 else
                                 (self.SX, self.DX, self.FX, self.pads[1], self.W))
            # break points (output index where a full piece starts): its window stops reading the leading
            # padding (o·s >= p0), and its window's end reaches the trailing padding
            breaks = (p0 / s, (size - 1 + p0 - (t - 1) * s - d * (f - 1)) / s)
            idx = {0, 1, m - 2, m - 1}
            for b in breaks:
                i = int((b - v0) // t)
                idx |= {j for j in range(i - 1, i + 3) if 0 <= j < m}
        pieces = [piece(i) for i in sorted(idx)]
        outs = max(b - a for a, b in pieces)
        ins = max(span(a, b)[1] - span(a, b)[0] for a, b in pieces)
        return outs, ins

    def working_set(self, choice) -> int:
        """Bytes the largest tile needs on chip: input slice with halo, weights, bias, output tile (an upper
        bound over the tiles: the largest extents of each axis may come from different tiles)."""
        ty, tx, tk, tc = self.normalize(*choice)
        ty_out, rows = self._axis_max(ty, self.y_valid, self.OY, 0)
        tx_out, cols = self._axis_max(tx, self.x_valid, self.OX, 1)
        wts = tk * (tc if self.G == 1 or tk < self.Kg else self.Cg) * self.FY * self.FX
        elems = tc * rows * cols + wts + tk * ty_out * tx_out + (tk if self.bias else 0)
        return elems * self.eb

    def n_tiles(self, choice) -> tuple[int, int]:
        """(number of conv tiles, number of input-channel pieces per output tile)."""
        ty, tx, tk, tc = self.normalize(*choice)
        ny = -(-(self.y_valid[1] - self.y_valid[0]) // ty) if self.y_valid else 1
        nx = -(-(self.x_valid[1] - self.x_valid[0]) // tx) if self.x_valid else 1
        if self.G == 1:
            nk, nc = -(-self.K // tk), -(-self.C // tc)
        elif tk >= self.Kg:
            nk, nc = -(-self.G // (tk // self.Kg)), 1
        else:
            nk, nc = self.G * -(-self.Kg // tk), -(-self.Cg // tc)
        return nk * nc * ny * nx, nc

    def channel_tiles(self, tk: int, tc: int):
        """[(k0, k1, [(c0, c1, groups, wc0, wc1), ...]), ...]: output-channel tiles, each with its
        input-channel pieces (partial sums) and the weight columns [wc0, wc1) they use."""
        _, _, tk, tc = self.normalize(1, 1, tk, tc)
        if self.G == 1:
            return [(k0, k1, [(c0, c1, 1, c0, c1) for c0, c1 in chunks(self.C, tc)])
                    for k0, k1 in chunks(self.K, tk)]
        kg, cg = self.Kg, self.Cg
        if tk >= kg:
            return [(g0 * kg, g1 * kg, [(g0 * cg, g1 * cg, g1 - g0, 0, cg)])
                    for g0, g1 in chunks(self.G, tk // kg)]
        return [(gi * kg + k0, gi * kg + k1, [(gi * cg + c0, gi * cg + c1, 1, c0, c1)
                                              for c0, c1 in chunks(cg, tc)])
                for gi in range(self.G) for k0, k1 in chunks(kg, tk)]

    def _span(self, o0: int, o1: int, s: int, d: int, f: int, p0: int, size: int):
        start, end = o0 * s - p0, (o1 - 1) * s - p0 + d * (f - 1)
        a, b = max(0, start), min(size - 1, end)
        return a, b + 1, a - start, end - b

    def rows(self, y0: int, y1: int):
        """(first row, end row, top pad, bottom pad) of the input slice for output rows [y0, y1)."""
        return self._span(y0, y1, self.SY, self.DY, self.FY, self.pads[0], self.H)

    def cols(self, x0: int, x1: int):
        return self._span(x0, x1, self.SX, self.DX, self.FX, self.pads[1], self.W)


def choose_tiles(geom: ConvGeom, cap: int | None, fixed: dict) -> tuple[int, int, int, int] | None:
    """The tile sizes: fixed ones as given, the others the largest that fit ``cap`` bytes (fewest tiles,
    then fewest input-channel pieces, then most output rows); None when nothing fits."""
    full = geom.full()
    if cap is None:
        return geom.normalize(*(fixed.get(k) or f for k, f in zip(("ty", "tx", "tk", "tc"), full)))
    ty_c = [fixed["ty"]] if fixed.get("ty") else cands(geom.OY)
    tx_c = sorted([fixed["tx"]] if fixed.get("tx") else cands(geom.OX))
    if fixed.get("tk"):
        tk_c = [fixed["tk"]]
    elif geom.G == 1:
        tk_c = cands(geom.K)
    else:
        tk_c = [t * geom.Kg for t in cands(geom.G)] + [t for t in cands(geom.Kg) if t < geom.Kg]
    best, best_key = None, None
    for tk in tk_c:
        if geom.G == 1:
            tc_c = [fixed["tc"]] if fixed.get("tc") else cands(geom.C)
        elif tk >= geom.Kg:
            tc_c = [geom.C]
        else:
            tc_c = [fixed["tc"]] if fixed.get("tc") else cands(geom.Cg)
        for tc in tc_c:
            n_kc, _ = geom.n_tiles((geom.OY, geom.OX, tk, tc))
            if best_key is not None and n_kc > best_key[0]:
                continue
            for ty in ty_c:                           # descending: the tile count only grows
                if best_key is not None and geom.n_tiles((ty, geom.OX, tk, tc))[0] > best_key[0]:
                    break
                if geom.working_set((ty, tx_c[0], tk, tc)) > cap:
                    continue
                lo, hi = 0, len(tx_c) - 1          # largest tx that fits (working set grows with tx)
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if geom.working_set((ty, tx_c[mid], tk, tc)) <= cap:
                        lo = mid
                    else:
                        hi = mid - 1
                choice = geom.normalize(ty, tx_c[lo], tk, tc)
                n, nc = geom.n_tiles(choice)
                key = (n, nc, -choice[0], -choice[2])
                if best_key is None or key < best_key:
                    best, best_key = choice, key
    return best


__all__ = ["ConvGeom", "cands", "chunks", "spatial_chunks", "choose_tiles"]

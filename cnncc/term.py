"""Terminal tables that never cut a number: columns are chosen to fit the console width.

:func:`render` draws a report's rows as a rich table. When the table is wider than the console it first drops
the least important columns (right to left: backend detail columns, then the secondary ones), then abbreviates
long *text* cells (names: ``mobilenet_block_1…``), then drops secondary columns; a number is never cut or
wrapped. If even the first column and the cycles do not fit (a very narrow pane) every row is printed folded,
as ``key=value`` lines. One line after the table names what was hidden and how wide a console shows all of it
(``--wide`` shows everything whatever the width).

Column widths are measured in terminal cells (rich's ``cell_len``), so ``µ`` and ``×`` count as one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: column keys never dropped before the others (the first column is always kept)
ESSENTIAL = ("cycles", "latency_ms", "total_cycles")
#: secondary columns: dropped after every other column
SECONDARY = ("op", "macs", "bound", "device", "mapping", "energy_uj", "status", "backend", "vs_fastest",
             "inferences_per_s", "description", "value", "unit", "doc", "options", "detail")
MIN_TEXT = 10  # an abbreviated text column keeps at least this many cells
MIN_WRAP = 16  # a wrapping text column (descriptions) is given at least this many cells


def fmt_value(v: Any, spec: str = "") -> str:
    """A table cell: ``-`` for None, yes/no, lists comma-joined, numbers by ``spec`` (default: ints comma-grouped,
    floats to 4 significant digits) and never in e-notation above 1e4 (``7,374,780`` not ``7.37478e+06``)."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ",".join(fmt_value(x) if isinstance(x, (int, float)) else str(x) for x in v)
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        if spec:
            try:
                text = format(v, spec)
            except ValueError:
                text = str(v)
        elif isinstance(v, int):
            text = f"{v:,}"
        else:
            text = f"{v:.4g}"
        if "e+" in text and abs(v) >= 1e4:
            return f"{v:,.0f}"
        return text
    return str(v)


def total_value(v: Any) -> str:
    """A value of the ``totals:`` line: ints comma-grouped, floats to 6 significant digits (integers above 1e4
    comma-grouped, never e-notation)."""
    if isinstance(v, float) and math.isfinite(v):
        if abs(v) >= 1e4:
            return f"{v:,.0f}" if v.is_integer() or abs(v) >= 1e6 else f"{v:,.1f}"
        return f"{v:.6g}"
    return fmt_value(v, "," if isinstance(v, int) and not isinstance(v, bool) else "")


@dataclass(frozen=True)
class Col:
    """A column as laid out: its key, header, cells (body and footer) and how it may shrink."""

    key: str
    header: str
    cells: tuple[str, ...]
    footer: str
    numeric: bool
    wraps: bool
    rank: int  # 0 essential, 1 secondary, 2 other

    @property
    def natural(self) -> int:
        return max([_cells(self.header), _cells(self.footer), *(_cells(c) for c in self.cells)])

    @property
    def minimum(self) -> int:
        if self.numeric:
            return self.natural
        head = _cells(self.header)
        if self.wraps:
            return max(min(self.natural, MIN_WRAP), min(head, MIN_WRAP))
        return max(min(self.natural, MIN_TEXT), min(head, MIN_TEXT))


def _cells(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.split("\n")), default=0)


def table_width(widths: Sequence[int]) -> int:
    """Cells a rich table with the default box and padding (1 each side) takes for these column widths."""
    return sum(widths) + 3 * len(widths) + 1


def make_columns(rows: Sequence[Mapping[str, Any]], columns: Sequence[Any], totals: Mapping[str, Any]) -> list[Col]:
    """Lay out ``columns`` (``cnncc.report.Column``: key, header, fmt) of ``rows``, with a footer of ``totals``."""
    out = []
    for i, c in enumerate(columns):
        vals = [r.get(c.key) for r in rows]
        cells = tuple(fmt_value(v, c.fmt) for v in vals)
        footer = ("total" if i == 0 else fmt_value(totals.get(c.key), c.fmt)) if totals else ""
        present = [v for v in vals if v is not None]
        numeric = bool(present) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
        wraps = not numeric and any(len(s) > 24 and (" " in s or "," in s) for s in cells)
        rank = 0 if i == 0 or c.key in ESSENTIAL else 1 if (c.key in SECONDARY or i == 1) else 2
        out.append(Col(c.key, c.header, cells, footer, numeric, wraps, rank))
    return out


@dataclass(frozen=True)
class Layout:
    """What fits: the columns kept (in order), the width each text column is abbreviated to (None: as is), the
    headers of the hidden columns, the width that shows everything, and whether rows must be folded."""

    kept: tuple[Col, ...]
    limits: tuple[int | None, ...]
    hidden: tuple[str, ...]
    full_width: int
    folded: bool = False


def fit(cols: Sequence[Col], width: int | None) -> Layout:
    """Choose the columns for a console ``width`` (None: unlimited)."""
    full = table_width([c.natural for c in cols])
    if width is None or full <= width:
        return Layout(tuple(cols), (None,) * len(cols), (), full)
    kept = list(cols)

    def need(cs: Sequence[Col], shrink: bool) -> int:
        return table_width([c.minimum if shrink or c.wraps else c.natural for c in cs])

    def drop(rank: int, shrink: bool) -> None:
        while need(kept, shrink) > width:
            idx = next((i for i in range(len(kept) - 1, 0, -1) if kept[i].rank == rank), None)
            if idx is None:
                return
            kept.pop(idx)

    drop(2, shrink=False)
    shrink = need(kept, False) > width
    if shrink:
        drop(2, shrink=True)
        drop(1, shrink=True)
        drop(0, shrink=True)
    hidden = tuple(c.header for c in cols if c not in kept)
    if need(kept, shrink) > width:
        return Layout(tuple(cols), (None,) * len(cols), (), full, folded=True)
    limits: list[int | None] = [None] * len(kept)
    if shrink:  # give the spare cells back to the abbreviated text columns, left to right
        spare = width - need(kept, True)
        for i, c in enumerate(kept):
            if not c.numeric and not c.wraps and c.natural > c.minimum:
                extra = min(spare, c.natural - c.minimum)
                spare -= extra
                limits[i] = c.minimum + extra if c.minimum + extra < c.natural else None
    return Layout(tuple(kept), tuple(limits), hidden, full)


def abbreviate(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` cells with a trailing ``…`` (only text cells are ever abbreviated)."""
    if limit is None or _cells(text) <= limit:
        return text
    from rich.cells import set_cell_size

    return set_cell_size(text, limit - 1) + "…"


def render(console: Any, rows: Sequence[Mapping[str, Any]], columns: Sequence[Any], totals: Mapping[str, Any],
           title: str = "", notes: Sequence[str] = (), wide: bool = False) -> None:
    """Print the table, the ``totals:`` line, the notes and (when columns were hidden) one line saying which."""
    from rich.table import Table

    cols = make_columns(rows, columns, totals)
    width = None if wide else console.width
    lay = fit(cols, width)
    if wide and lay.full_width > console.width:
        console.width = lay.full_width  # --wide: the terminal may wrap lines, rich must not squeeze columns
    if lay.folded:
        _folded(console, rows, cols, title)
    else:
        table = Table(title=title or None, show_footer=bool(totals))
        for c in lay.kept:
            table.add_column(c.header, footer=c.footer, justify="right" if c.numeric else "left",
                             no_wrap=not c.wraps, min_width=c.natural if c.numeric else None,
                             overflow="fold" if c.wraps else "ellipsis")
        for r in range(len(rows)):
            table.add_row(*[abbreviate(c.cells[r], lim) for c, lim in zip(lay.kept, lay.limits)])
        console.print(table)
    summary = ", ".join(f"{k}={total_value(v)}" for k, v in totals.items() if isinstance(v, (int, float, str)))
    if summary:
        from rich.text import Text

        console.print(Text.assemble(("totals", "bold"), f": {summary}"), highlight=False)
    for n in notes:
        console.print(f"note: {n}", highlight=False, markup=False)
    if lay.hidden:
        console.print(f"hidden to fit {width} columns: {', '.join(lay.hidden)} (--wide or a terminal of "
                      f"{lay.full_width} columns shows all)", highlight=False, markup=False)
    elif lay.folded:
        console.print(f"rows folded to fit {width} columns (--wide or a terminal of {lay.full_width} columns "
                      f"shows the table)", highlight=False, markup=False)


def _folded(console: Any, rows: Sequence[Mapping[str, Any]], cols: Sequence[Col], title: str) -> None:
    """Every row as ``first-column`` then ``header=value`` pairs, wrapped at the spaces between pairs."""
    if title:
        console.print(title, highlight=False, markup=False)
    for r in range(len(rows)):
        pairs = "  ".join(f"{c.header}={c.cells[r]}" for c in cols[1:])
        console.print(f"{cols[0].cells[r]}: {pairs}", highlight=False, markup=False)
    if cols and cols[0].footer:
        pairs = "  ".join(f"{c.header}={c.footer}" for c in cols[1:] if c.footer not in ("", "-"))
        console.print(f"total: {pairs}", highlight=False, markup=False)

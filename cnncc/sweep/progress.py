"""The sweep's progress line on stderr: points done / total, failures, elapsed seconds and, once the points
left can be predicted from the ones timed, an ETA. On a terminal one line is redrawn; elsewhere (a log, CI) a
line is printed at most every ``every_s`` seconds, and the last one always.
"""

from __future__ import annotations

import time
from typing import TextIO

from cnncc.sweep.execute import Progress


def _dur(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def line(p: Progress) -> str:
    """``sweep: 120/240 points, 2 failed, 12 s elapsed, ETA 12 s`` (ETA left out while unpredictable)."""
    text = f"sweep: {p.done}/{p.total} points"
    if p.skipped:
        text += f" (+{p.skipped} done before)"
    text += f", {p.failed} failed, {_dur(p.elapsed_s)} elapsed"
    if p.eta_s is not None and p.done < p.total:
        text += f", ETA {_dur(p.eta_s)}"
    return text


class ProgressPrinter:
    """A ``progress`` callback for :func:`cnncc.sweep.sweep` writing to ``stream``."""

    def __init__(self, stream: TextIO, every_s: float = 5.0):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.every_s = every_s
        self._last = 0.0
        self._width = 0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        last = p.done >= p.total
        if self.tty:
            text = line(p)
            self.stream.write("\r" + text.ljust(self._width) + ("\n" if last else ""))
            self._width = len(text)
        elif last or now - self._last >= self.every_s:
            self.stream.write(line(p) + "\n")
            self._last = now
        self.stream.flush()

"""Progress on stderr for long compiles: per layer, with elapsed time and no guessed ETA.

The callback a backend calls is ``progress(label, done, total, detail="")``: ``label`` names the work
("cgra", "offload"), ``done`` of ``total`` units are finished, ``detail`` (optional) says what runs now (the
layer's name, the mapping being tried, the solver status). Old-style callers pass three arguments.

* On a terminal: one live line per label (bar, ``done/total``, detail, elapsed), cleared when the work ends.
* Elsewhere (CI logs, pipes): a plain line at most every ``interval`` seconds, so a quick compile prints nothing
  and a two-minute one prints where it is every few seconds, plus a last line with the total time.

No ETA is shown: per-layer costs vary by orders of magnitude (a 1x1 conv vs a mapping search), so any
extrapolation from the layers done so far is a guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO


def elapsed_text(seconds: float) -> str:
    """``4.2 s``, ``2 min 03 s``, ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(seconds), 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


class LineProgress:
    """Plain progress lines (no terminal control) at most every ``interval`` seconds per label."""

    def __init__(self, stream: TextIO, interval: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.stream, self.interval, self.clock = stream, interval, clock
        self.start: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.printed: set[str] = set()
        self.state: dict[str, tuple[int, int]] = {}

    def __call__(self, label: str, done: int, total: int, detail: str = "") -> None:
        now = self.clock()
        t0 = self.start.setdefault(label, now)
        self.state[label] = (done, total)
        if done >= total > 0:
            if label in self.printed:
                self._line(f"{label}: {total}/{total} done in {elapsed_text(now - t0)}")
            return
        if now - self.last.get(label, t0) >= self.interval:
            self.last[label] = now
            self.printed.add(label)
            what = f" — {detail}" if detail else ""
            self._line(f"{label}: {done}/{total}{what} ({elapsed_text(now - t0)} elapsed)")

    def _line(self, text: str) -> None:
        self.stream.write(f"cnncc: {text}\n")
        self.stream.flush()

    def start_display(self) -> None:
        return None

    def stop(self) -> None:
        return None


class LiveProgress:
    """A rich live display on a terminal: one line per label, transient."""

    def __init__(self, stream: TextIO):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), TextColumn("{task.fields[detail]}"),
                             console=Console(file=stream), transient=True)
        self.tasks: dict[str, Any] = {}

    def __call__(self, label: str, done: int, total: int, detail: str = "") -> None:
        if label not in self.tasks:
            self.tasks[label] = self.prog.add_task(label, total=total, detail=detail)
        self.prog.update(self.tasks[label], completed=done, total=total, detail=detail)

    def start_display(self) -> None:
        self.prog.start()

    def stop(self) -> None:
        self.prog.stop()


def make_progress(stream: TextIO, enabled: bool = True, interval: float = 5.0) -> LineProgress | LiveProgress | None:
    """The progress callback for ``stream`` (None when disabled): live on a terminal, plain lines elsewhere."""
    if not enabled:
        return None
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return LiveProgress(stream)
    return LineProgress(stream, interval)

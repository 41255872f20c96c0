"""``results.jsonl`` / ``results.csv``: one row per finished point, appended as results arrive.

Each row is written whole by one ``write`` on a file opened for appending (then flushed to the OS), so a killed
sweep leaves complete lines; a torn last line (power loss) is dropped when the file is read back. The JSONL is
what a rerun reads to skip finished points (by key). The CSV is rewritten from the JSONL when a sweep starts
(so its header matches the current sweep file) and at the end (sorted by point), and appended to in between.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnncc.errors import UsageError
from cnncc.output import write_file

JSONL = "results.jsonl"
CSV = "results.csv"


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ";".join(str(_cell(x)) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return v


def csv_line(values: Sequence[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([_cell(v) for v in values])
    return buf.getvalue()


def _open_append(path: Path) -> int:
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"refusing to append to {path}: it is not a regular file")
    except FileNotFoundError:
        pass
    try:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from None


class ResultsLog:
    """The two streamed files of a sweep output folder. ``columns`` are (header, getter) of the CSV."""

    def __init__(self, out_dir: Path, columns: Sequence[tuple[str, Any]]):
        self.dir = Path(out_dir)
        self.columns = list(columns)
        self._fds: dict[str, int] = {}

    def read(self) -> dict[str, dict[str, Any]]:
        """Rows already recorded, by key (a later row of a key wins). Torn or foreign lines are skipped and the
        file is rewritten without them (atomically), so appending continues on a line boundary."""
        path = self.dir / JSONL
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise UsageError(f"cannot read {path}: {e.strerror}") from None
        rows: dict[str, dict[str, Any]] = {}
        good: list[bytes] = []
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("key"), str):
                rows[row["key"]] = row
                good.append(line)
        clean = b"".join(x + b"\n" for x in good)
        if clean != data:
            write_file(path, clean)
        return rows

    def start(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rewrite the CSV with ``rows`` (rows known so far), then open both files for appending."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rewrite_csv(rows)
        for name in (JSONL, CSV):
            self._fds[name] = _open_append(self.dir / name)

    def rewrite_csv(self, rows: Sequence[dict[str, Any]]) -> str:
        """Write the CSV of ``rows`` (atomically); returns its text."""
        text = csv_line([h for h, _ in self.columns]) + "".join(self._csv_row(r) for r in rows)
        write_file(self.dir / CSV, text)
        return text

    def _csv_row(self, row: dict[str, Any]) -> str:
        return csv_line([get(row) for _, get in self.columns])

    def append(self, row: dict[str, Any]) -> None:
        """Append one finished point to both files (one write each)."""
        line = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str) + "\n"
        for name, text in ((JSONL, line), (CSV, self._csv_row(row))):
            data = text.encode()
            try:
                n = os.write(self._fds[name], data)
                while n < len(data):  # a short write (a full disk shows as an error on the next write)
                    n += os.write(self._fds[name], data[n:])
            except OSError as e:
                raise UsageError(f"cannot write {self.dir / name}: {e.strerror}") from None

    def close(self) -> None:
        for fd in self._fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds.clear()

"""Regenerate the README's worked examples from real runs, or check that they are current.

A worked example is a fenced ``text`` block whose first line is ``$ cnncc ...``: the rest of the block is what
that command prints (stdout, then stderr, as a terminal shows them) at a fixed terminal width (``COLUMNS`` =
:data:`WIDTH`, ``NO_COLOR``), run from the repository root against ``samples/models`` (``make samples``).

    .venv/bin/python scripts/regen_readme.py            # rewrite the blocks in README.md
    .venv/bin/python scripts/regen_readme.py --check    # exit 1 naming the blocks that are stale
    .venv/bin/python scripts/regen_readme.py --only ethos-u65,offload   # blocks whose command mentions these

``tests/cli/test_ux_readme.py`` runs the Ethos-U and offload examples and compares them with the README.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WIDTH = 120
BLOCK = re.compile(r"```text\n(\$ cnncc [^\n]*)\n(.*?)```", re.S)


@dataclass(frozen=True)
class Example:
    """One worked example: the command line (without ``$ ``), the output in the README and where it sits."""

    command: str
    output: str
    start: int
    end: int


def examples(text: str) -> list[Example]:
    return [Example(m.group(1)[2:], m.group(2), m.start(2), m.end(2)) for m in BLOCK.finditer(text)]


def run(command: str, models: Path | None = None) -> str:
    """What ``command`` prints at :data:`WIDTH` columns: stdout then stderr (trailing blanks stripped per line).
    It runs in a fresh temp folder holding ``samples/models`` (a link to ``models``, default the repo's), so
    the files it writes (``--trace``, ``-o``) land there."""
    args = shlex.split(command)
    assert args[0] == "cnncc", command
    env = {**os.environ, "COLUMNS": str(WIDTH), "NO_COLOR": "1", "PYTHONUNBUFFERED": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "samples").mkdir()
        (Path(d) / "samples" / "models").symlink_to(models or ROOT / "samples" / "models")
        third = ROOT / "samples" / "thirdparty"  # real int8 models fetched by `make samples`
        if third.is_dir():
            (Path(d) / "samples" / "thirdparty").symlink_to(third)
        r = subprocess.run([sys.executable, "-m", "cnncc.cli", *args[1:]], cwd=d, env=env, capture_output=True,
                           text=True, timeout=600)
    text = r.stdout + r.stderr
    if r.returncode not in (0, 1):
        raise RuntimeError(f"{command}: exit {r.returncode}: {text.strip()[-500:]}")
    out = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    return out + (f"# exit code {r.returncode}\n" if r.returncode else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 if a block is stale")
    ap.add_argument("--only", default="", help="comma-separated words; only blocks whose command has one")
    args = ap.parse_args()
    words = [w for w in args.only.split(",") if w]
    text = README.read_text()
    stale, new = [], text
    for ex in reversed(examples(text)):
        if words and not any(w in ex.command for w in words):
            continue
        got = run(ex.command)
        if got != ex.output:
            stale.append(ex.command)
            new = new[:ex.start] + got + new[ex.end:]
    if args.check:
        for c in stale:
            print(f"stale: $ {c}", file=sys.stderr)
        return 1 if stale else 0
    if new != text:
        README.write_text(new)
    print(f"{len(stale)} block(s) regenerated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The README's worked examples are current: each Ethos-U / offload example is run as written (at the width
scripts/regen_readme.py uses) and must print exactly the README block. Regenerate with
``.venv/bin/python scripts/regen_readme.py``. The CGRA example (a few seconds of simulation) is marked slow."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import regen_readme as R  # noqa: E402

EXAMPLES = R.examples(R.README.read_text())


def _marks(ex: R.Example) -> list:
    return [pytest.mark.slow] if "--target cgra" in ex.command else []


def test_readme_has_worked_examples():
    assert len(EXAMPLES) >= 3 and all(ex.command.startswith("cnncc compile") for ex in EXAMPLES)


@pytest.mark.parametrize("ex", [pytest.param(ex, id=ex.command.split("--target ")[1].split()[0], marks=_marks(ex))
                                for ex in EXAMPLES])
def test_readme_example_is_current(ex, sample_models):
    if "samples/thirdparty/" in ex.command and not (R.ROOT / "samples" / "thirdparty").is_dir():
        pytest.skip("samples/thirdparty/ (real int8 models) is missing: run `make samples` with access to PyPI")
    got = R.run(ex.command, models=next(iter(sample_models.values())).parent)
    assert got == ex.output, (f"README block is stale; run scripts/regen_readme.py\n--- README\n{ex.output}\n"
                              f"--- now\n{got}")

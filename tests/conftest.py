"""Shared pytest fixtures for every test area."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SAMPLES_SCRIPT = Path(__file__).resolve().parents[1] / "samples" / "make_samples.py"


def _load_make_samples():
    spec = importlib.util.spec_from_file_location("cnncc_make_samples", SAMPLES_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sample_models(tmp_path_factory) -> dict[str, Path]:
    """The sample models (``samples/make_samples.py``), written once per session into a temp dir:
    ``{name: path}`` for every name in ``make_samples.MODELS``."""
    make_samples = _load_make_samples()
    out = tmp_path_factory.mktemp("sample_models")
    paths = make_samples.write_all(out)
    return {p.stem: p for p in paths}


def _hypothesis_profile() -> None:
    """Under CI=true, hypothesis runs derandomized (a fixed seed per test), so CI is reproducible; locally it
    explores new examples on every run and keeps failures in .hypothesis/."""
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True)
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        settings.load_profile("ci")


_hypothesis_profile()

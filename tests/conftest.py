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
def make_samples_module():
    """``samples/make_samples.py`` as a module (its ``Builder`` and ``write_all``), loaded once per session."""
    return _load_make_samples()


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
    explores new examples on every run and keeps failures in .hypothesis/.

    ``CNNCC_HYPOTHESIS=deep`` (``make test-deep``, ``make fuzz``) explores: not derandomized even under CI, and
    every test's ``max_examples`` (also one set by its own ``@settings``) multiplied by
    ``CNNCC_HYPOTHESIS_SCALE`` (default 10)."""
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True)
    settings.register_profile("deep", derandomize=False, deadline=None, max_examples=1000)
    if os.environ.get("CNNCC_HYPOTHESIS", "") == "deep":
        settings.load_profile("deep")
    elif os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        settings.load_profile("ci")


_hypothesis_profile()


def pytest_collection_modifyitems(config, items) -> None:
    """In the deep profile, scale the examples of tests whose ``@settings`` fix ``max_examples`` (hypothesis
    lets an explicit setting win over the profile, so the profile alone would not explore them more)."""
    import os

    if os.environ.get("CNNCC_HYPOTHESIS", "") != "deep":
        return
    from hypothesis import settings

    scale = int(os.environ.get("CNNCC_HYPOTHESIS_SCALE", "10"))
    for item in items:
        fn = getattr(item, "obj", None)
        inner = getattr(getattr(fn, "hypothesis", None), "inner_test", None)
        own = getattr(fn, "_hypothesis_internal_use_settings", None)
        if inner is None or own is None:
            continue
        fn._hypothesis_internal_use_settings = settings(own, max_examples=own.max_examples * scale,
                                                        derandomize=False, deadline=None)

"""Backends: ``ethos_u65/``, ``openedgecgra/``, ``offload/``.

The contract is typed (:mod:`cnncc.backends.base`): each backend has a :class:`cnncc.spec.TargetSpec` subclass in
``<pkg>/spec.py`` (its ``[params]`` keys) and a :class:`cnncc.backends.base.Backend` subclass in
``<pkg>/backend.py`` whose ``compile(graph, target, options)`` returns a :class:`~cnncc.backends.base.NetworkResult`
of :class:`~cnncc.backends.base.LayerCost` records; :mod:`cnncc.backends.registry` lists them. The driver computes
totals and the roofline once and writes every file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CompileOptions:
    """Options every backend receives. ``check``: run the functional check where the backend has one (the driver
    exits 1 on a mismatch); ``seed``: seed of the check's random inputs (None: the target's); ``want_trace``:
    produce a Perfetto trace (``NetworkResult.trace``); ``progress(label, done, total)``: progress callback (may
    be None). ``trace`` is where the *driver* writes the trace; ``want_artefacts``: the driver is writing an output
    folder (``-o``), so build ``NetworkResult.artefacts``."""

    check: bool = False
    trace: Path | None = None
    progress: Callable[[str, int, int], None] | None = None
    seed: int | None = None
    #: the caller writes an output folder: backends build their ``NetworkResult.artefacts`` (set by the driver)
    want_artefacts: bool = False

    @property
    def want_trace(self) -> bool:
        return self.trace is not None

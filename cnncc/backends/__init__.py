"""Backends. Each subpackage implements the backend contract:

* ``validate_params(params: dict) -> None`` — reject unknown keys / bad values of a target's ``[params]``
  with :class:`cnncc.errors.TargetError` (use :func:`cnncc.target.check_keys`);
* ``compile(graph, target, options: CompileOptions) -> cnncc.report.Report`` — cost (and simulate) every layer.

The driver (``cnncc/driver.py``) fills ``Report.inputs`` (model, target, pipeline) and pass counters; a
backend fills ``layers`` (each starting with :func:`cnncc.report.layer_identity`), ``totals``, ``columns``,
``notes`` and ``sections``. Common layer keys: ``macs``, ``cycles``, ``mac_per_cycle``, ``bound``,
``device``; common totals: ``cycles``, ``latency_ms``, ``clock_hz``, ``macs``, ``inferences_per_s``, and where
modelled ``energy_uj`` and ``peak_sram_bytes``. ``sections["roofline"]`` = {"peak_macs_per_cycle": float,
"bandwidths_bytes_per_cycle": {memory: float}} feeds the HTML roofline chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CompileOptions:
    """Options every backend receives. ``out_dir``: write artefacts there (atomic writes); ``check``: run the
    functional check where the backend has one (exit 1 on mismatch); ``trace``: write a Perfetto trace;
    ``progress(label, done, total)``: progress callback (may be None)."""

    out_dir: Path | None = None
    check: bool = False
    trace: Path | None = None
    progress: Callable[[str, int, int], None] | None = None

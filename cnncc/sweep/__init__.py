"""Design-space sweeps: ``cnncc sweep SWEEP.toml`` / :func:`cnncc.sweep`.

Models × targets × pipelines × axes (any target key, dotted nested keys too, or a pass option through a
``{placeholder}`` in a pipeline template), as a grid or a seeded random sample, filtered by constraints; run on
a local process pool or a Dask cluster (:mod:`cnncc.sweep.execute`), streamed to ``results.jsonl`` /
``results.csv`` and resumable; reported with the Pareto front per model over the objectives and the best point
per budget (``sweep.json``, ``report.html``). The file format: :mod:`cnncc.sweep.spec`.

This package is callable: importing it replaces the attribute ``cnncc.sweep`` (the API function) by the
package, so ``cnncc.sweep(path, ...)`` calls :func:`cnncc.sweep.run.sweep` either way.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from cnncc.sweep.run import sweep

__all__ = ["sweep"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

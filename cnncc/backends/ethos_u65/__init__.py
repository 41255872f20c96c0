"""Arm Ethos-U65 backend: a Vela-calibrated analytic performance model (see shared/reference/ethos-u65.md).

Contract (cnncc/backends/__init__.py): ``validate_params``, ``compile``; plus ``estimate_layer_cycles`` used by the
``abconv{select=cost target=ethos-u65-256}`` pass.
"""

from __future__ import annotations

from cnncc.backends.ethos_u65.config import validate_params
from cnncc.backends.ethos_u65.report import compile, estimate_layer_cycles

__all__ = ["validate_params", "compile", "estimate_layer_cycles"]

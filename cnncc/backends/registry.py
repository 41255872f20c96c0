"""The lazy backend registry: backend name -> (spec class, Backend class), as ``module:attribute`` strings.

Adding a backend = ``spec.py`` + ``backend.py`` in its folder and one line here. Looking up a spec imports only
the (light) spec module, so loading a target does not import a backend's cost model.
"""

from __future__ import annotations

import importlib
from typing import Any

from cnncc.backends.base import Backend
from cnncc.spec import TargetSpec

#: backend name -> ("module:SpecClass", "module:BackendClass")
BACKENDS: dict[str, tuple[str, str]] = {
    "offload": ("cnncc.backends.offload.spec:OffloadSpec", "cnncc.backends.offload.backend:OffloadBackend"),
    "ethos_u65": ("cnncc.backends.ethos_u65.spec:EthosU65Spec", "cnncc.backends.ethos_u65.backend:EthosU65Backend"),
    "openedgecgra": ("cnncc.backends.openedgecgra.spec:CgraSpec",
                     "cnncc.backends.openedgecgra.backend:OpenEdgeCgraBackend"),
}

def names() -> list[str]:
    """Every registered backend name."""
    return sorted(BACKENDS)


def _load(ref: str) -> Any:
    mod, _, attr = ref.partition(":")
    return getattr(importlib.import_module(mod), attr)


def spec_class(name: str) -> type[TargetSpec]:
    """The typed spec class of a backend."""
    cls = _load(BACKENDS[name][0])
    assert issubclass(cls, TargetSpec), f"registry entry {name!r} is inconsistent"
    return cls


_INSTANCES: dict[str, Backend] = {}


def get_backend(name: str) -> Backend:
    """The Backend instance of a registered backend."""
    if name not in _INSTANCES:
        cls = _load(BACKENDS[name][1])
        inst = cls()
        assert isinstance(inst, Backend) and inst.name == name, f"registry entry {name!r} is inconsistent"
        _INSTANCES[name] = inst
    return _INSTANCES[name]

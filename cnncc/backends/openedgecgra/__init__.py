"""OpenEdgeCGRA backend: real-ISA kernels for a 4x4 CGRA on X-HEEP, an RTL-faithful simulator, the paper's
four mappings plus cnncc's own, a host CPU model and energy estimates.

Contract (``cnncc/backends/__init__.py``): ``validate_params``, ``compile``; plus ``estimate_layer_cycles`` for
passes that want a per-layer cost.
"""

from __future__ import annotations

from cnncc.backends.openedgecgra.params import validate_params

__all__ = ["validate_params", "compile", "estimate_layer_cycles"]


def compile(graph, target, options):  # noqa: A001 - contract name
    """Cost every layer (and simulate it with ``options.check``); returns a Report."""
    from cnncc.backends.openedgecgra.backend import compile_graph

    return compile_graph(graph, target, options)


def estimate_layer_cycles(graph, layer, target) -> float:
    """Total cycles (CGRA + configuration + host) of the best mapping for one layer; host CPU cycles for
    layers the CGRA does not run."""
    from cnncc.backends.openedgecgra.backend import layer_cost

    return float(layer_cost(graph, layer, target)["cycles"])

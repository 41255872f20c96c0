"""What a worker process runs for one point: load the model (once per worker process, cached by SHA-256),
compile it for the resolved target it is sent, and return the totals — or the error message and exit code.
Never raises for a failing point, so one bad point cannot stop a sweep; the same function runs in a local
process pool and on Dask workers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

#: graphs loaded in this process: (model SHA-256, input shapes) -> Graph; a few models at most
_GRAPHS: OrderedDict[tuple, Any] = OrderedDict()
_MAX_GRAPHS = 4


def _graph(path: str, sha256: str, input_shapes: dict[str, str]) -> Any:
    from cnncc.driver import load_model
    from cnncc.errors import InvalidModelError
    from cnncc.report import sha256_file

    key = (sha256, tuple(sorted(input_shapes.items())))
    if key in _GRAPHS:
        _GRAPHS.move_to_end(key)
        return _GRAPHS[key]
    if sha256_file(path) != sha256:
        raise InvalidModelError(f"model {path} on this worker differs from the one the sweep was planned with "
                                f"(SHA-256 mismatch); workers need the same files at the same paths")
    graph = load_model(path, input_shapes or None)
    _GRAPHS[key] = graph
    while len(_GRAPHS) > _MAX_GRAPHS:
        _GRAPHS.popitem(last=False)
    return graph


def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """Compile one point (``Point.task()``). Returns ``{"key", "status": "ok"|"failed", "exit_code", "error",
    "totals", "compile_time_s"}``; ``compile_time_s`` is wall-clock seconds in this worker (not in the JSON)."""
    from cnncc.errors import EXIT_INTERNAL, CnnccError

    t0 = time.perf_counter()
    out: dict[str, Any] = {"key": task["key"], "status": "ok", "exit_code": 0, "error": None, "totals": {}}
    try:
        from cnncc.driver import compile_model

        graph = _graph(task["model_path"], task["model_sha256"], task.get("input_shapes") or {})
        report = compile_model(graph, task["target"], task["pipeline"])
        out["totals"] = report.to_dict(stable=True)["totals"]
    except CnnccError as e:
        out.update(status="failed", exit_code=e.exit_code, error=" ".join(str(e).split()))
    except MemoryError:
        out.update(status="failed", exit_code=3, error="out of memory")
    except Exception as e:  # noqa: BLE001 - a bug in cnncc for this point; recorded, the sweep goes on
        out.update(status="failed", exit_code=EXIT_INTERNAL,
                   error=f"internal error: {type(e).__name__}: {' '.join(str(e).split())}")
    out["compile_time_s"] = round(time.perf_counter() - t0, 6)
    return out


def preload(backends: set[str]) -> None:
    """Import the compile path and these backends in this process: local workers forked from it afterwards
    start with them loaded instead of importing them each (seconds per worker on a busy machine)."""
    import cnncc.driver  # noqa: F401
    import cnncc.frontend.onnx  # noqa: F401
    from cnncc.backends.registry import get_backend

    for name in sorted(backends):
        try:
            get_backend(name)
        except Exception:  # noqa: BLE001 - a backend that fails to import fails its points in the workers
            pass

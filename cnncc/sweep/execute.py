"""Running points: a local process pool by default, a Dask cluster when given a scheduler — one code path.

Both are :class:`concurrent.futures.Executor` s (Dask's through ``Client.get_executor()``): tasks are points
(:func:`cnncc.sweep.worker.run_point`), each worker process keeps the models it loaded, and results are handed
to ``on_result`` as they finish (in completion order; the caller sorts). A point that fails is a result with
its error, never an exception here. A local worker process that dies (a crash, the OOM killer) breaks the pool:
the unfinished points are resubmitted to a fresh pool, at most :data:`RESTARTS` times, then recorded as failed.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from cnncc.errors import EXIT_INTERNAL, UsageError

RESTARTS = 2


@dataclass(frozen=True)
class Progress:
    """Where a sweep stands: points finished (this run) of ``total``, failures, seconds elapsed and the
    predicted seconds left (None until every kind of point left has been timed a few times)."""

    done: int
    total: int
    failed: int
    elapsed_s: float
    eta_s: float | None
    skipped: int = 0


def dask_address(scheduler: str) -> str:
    """``scheduler`` as an address; ``"dask"`` means Dask's own configuration (``scheduler-address`` in
    ``~/.config/dask/*.yaml`` or ``DASK_SCHEDULER_ADDRESS``)."""
    if scheduler != "dask":
        return scheduler
    try:
        import dask.config
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
    addr = dask.config.get("scheduler-address", default=None) or dask.config.get("scheduler_address",
                                                                                  default=None)
    if not addr:
        raise UsageError("--scheduler dask: Dask's configuration sets no scheduler-address "
                         "(set DASK_SCHEDULER_ADDRESS or give tcp://host:8786)")
    return str(addr)


class Runner:
    """An executor and how many points it runs at once."""

    def __init__(self, jobs: int | None, scheduler: str | None):
        self.jobs = jobs or os.cpu_count() or 1
        self.scheduler = scheduler
        self.client: Any = None
        self.executor: cf.Executor | None = None
        self.workers = self.jobs

    def __enter__(self) -> Runner:
        if self.scheduler:
            try:
                from distributed import Client
            except ImportError:
                raise UsageError("--scheduler needs Dask distributed: pip install 'dask[distributed]'") from None
            addr = dask_address(self.scheduler)
            try:
                self.client = Client(addr, timeout=30)
            except (OSError, TimeoutError) as e:
                raise UsageError(f"cannot reach the Dask scheduler at {addr}: {e}") from None
            self.workers = max(1, sum(self.client.nthreads().values()))
        self.fresh()
        return self

    def fresh(self) -> None:
        """A new executor (after a local worker died)."""
        if self.client is not None:
            self.executor = self.client.get_executor(pure=False)
        else:
            if self.executor is not None:
                self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = cf.ProcessPoolExecutor(max_workers=self.jobs)

    def __exit__(self, *exc: object) -> None:
        if isinstance(self.executor, cf.ProcessPoolExecutor):
            self.executor.shutdown(wait=exc[0] is None, cancel_futures=True)
        elif self.executor is not None:
            self.executor.shutdown(wait=exc[0] is None)
        if self.client is not None:
            self.client.close()

    @property
    def where(self) -> str:
        return f"Dask cluster {self.client.scheduler.address} ({self.workers} threads)" if self.client \
            else f"{self.jobs} local worker process{'es' if self.jobs != 1 else ''}"


def _lost(task: dict[str, Any], why: str) -> dict[str, Any]:
    return {"key": task["key"], "status": "failed", "exit_code": EXIT_INTERNAL, "error": why, "totals": {},
            "compile_time_s": None}


def run_tasks(runner: Runner, items: Sequence[tuple[Any, dict[str, Any], str]],
              on_result: Callable[[Any, dict[str, Any]], None],
              progress: Callable[[Progress], None] | None = None, skipped: int = 0) -> None:
    """Run ``items`` — (point, task, kind) where ``kind`` groups points of similar cost (the backend) for the
    ETA — and call ``on_result(point, result)`` for each as it finishes."""
    from cnncc.sweep.worker import run_point

    t0 = time.perf_counter()
    times: dict[str, list[float]] = {}
    left: dict[str, int] = {}
    for _, _, kind in items:
        left[kind] = left.get(kind, 0) + 1
    done = failed = 0
    pending = list(items)
    restarts = 0
    while pending:
        assert runner.executor is not None
        futures = {runner.executor.submit(run_point, task): (point, task, kind) for point, task, kind in pending}
        pending = []
        for fut in cf.as_completed(futures):
            point, task, kind = futures[fut]
            try:
                res = fut.result()
            except BrokenProcessPool:
                pending.append((point, task, kind))
                continue
            except Exception as e:  # noqa: BLE001 - e.g. a Dask worker killed too often (KilledWorker)
                res = _lost(task, f"worker lost: {type(e).__name__}: {' '.join(str(e).split())}")
            on_result(point, res)
            done += 1
            failed += res["status"] != "ok"
            left[kind] -= 1
            if isinstance(res.get("compile_time_s"), (int, float)):
                times.setdefault(kind, []).append(float(res["compile_time_s"]))
            if progress is not None:
                progress(Progress(done, len(items), failed, time.perf_counter() - t0,
                                  _eta(times, left, runner.workers), skipped))
        if pending:
            restarts += 1
            if restarts > RESTARTS:
                for point, task, _ in pending:
                    on_result(point, _lost(task, "worker process died (a crash or out of memory) while this "
                                                 "point was pending"))
                    done += 1
                    failed += 1
                break
            runner.fresh()


def _eta(times: dict[str, list[float]], left: dict[str, int], workers: int) -> float | None:
    """Seconds left: per kind of point, the mean compile time so far × the points left, over the workers; None
    while a kind with points left has fewer than 3 timings (no prediction yet)."""
    total = 0.0
    for kind, n in left.items():
        if n <= 0:
            continue
        t = times.get(kind, [])
        if len(t) < 3:
            return None
        total += n * sum(t) / len(t)
    return total / max(workers, 1)

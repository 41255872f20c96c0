"""A Dask cluster for the tests, as a separate process: a LocalCluster with processes=True (its scheduler in
this process, two single-threaded workers in their own processes). Prints the scheduler address on stdout
and runs until stdin closes.

    python tests/sweep/dask_cluster.py
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_port=0) as cluster:
        print(cluster.scheduler_address, flush=True)
        sys.stdin.read()

"""Reading and chunking on a Dask cluster (`peel ingest --workers N | --scheduler ADDRESS`).

The same `ingest.pipeline.read_file` runs as one Dask task per file; the driver plans the
files, assembles the results in file order and de-duplicates, exactly as a one-process
ingest does, so both give the same chunks. A worker that dies mid-task (killed, out of
memory) costs a retry on another worker: Dask reschedules its tasks.

Dask is imported only here and only when a cluster is asked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:  # imported when a cluster runs: `index.api` imports this module at start
    from distributed import Client

    from ingest.chunking import ChunkerSettings
    from ingest.pipeline import FileJob, FileMap, FileResult

# A task is retried on another worker this many times after an exception; a worker that
# dies is covered separately by the scheduler (distributed.scheduler.allowed-failures).
RETRIES = 2


class ClusterError(Exception):
    """The cluster cannot be started or reached; the message says what to do."""


def _dask():
    try:
        import distributed
    except ImportError:  # pragma: no cover - a dependency of the project
        raise ClusterError(
            "Dask is not installed: pip install 'dask[distributed]' (it is in pyproject.toml)"
        ) from None
    return distributed


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator["Client"]:
    """A Dask client: on a new `LocalCluster` of ``workers`` processes (one thread each:
    the model's own threads are the parallelism inside a process), or connected to the
    cluster at ``scheduler`` (``tcp://host:8786``). Closed (and a local cluster stopped)
    on exit."""
    distributed = _dask()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"Cannot reach the Dask scheduler at {scheduler} ({exc}). Start one with "
                f"`dask scheduler` and workers with `dask worker {scheduler}`, or use --workers N "
                f"for a cluster on this machine."
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise ClusterError(f"--workers must be 1 or more, not {n}")
    cluster = distributed.LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: two clusters on one machine must not collide
        silence_logs=logging.ERROR,
    )
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def dask_map(client: "Client") -> "FileMap":
    """A `FileMap` that reads the files as tasks on ``client``'s cluster."""
    distributed = _dask()
    from ingest.pipeline import FileResult, display_path, read_file

    def run(
        jobs: "list[FileJob]", settings: "ChunkerSettings | None", progress: Callable[[Path], None] | None
    ) -> "list[FileResult]":
        if not jobs:
            return []
        futures = client.map(read_file, jobs, settings=settings, pure=False, retries=RETRIES)
        index = {f.key: i for i, f in enumerate(futures)}
        results: "list[FileResult | None]" = [None] * len(jobs)
        for future in distributed.as_completed(futures):
            i = index[future.key]
            try:
                results[i] = future.result()
            except Exception as exc:  # the task itself failed every retry (a worker crash, say)
                results[i] = FileResult(
                    jobs[i].path, error=f"could not be read on the cluster ({type(exc).__name__}: {exc})"
                )
            if progress:
                progress(Path(display_path(jobs[i].path)))
        return [r for r in results if r is not None]

    return run

"""Embedding on a Dask cluster: the texts an index build lacks go out in blocks, one task
each, and every worker process loads the model once (`load_model`'s per-process cache).

Used as `build_index(encoder=...)`, so the embedding cache and everything else about a
build stays in one place: only texts the cache does not have reach the cluster.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from index.models.embedder import load_model
from index.models.weights import resolve_model
from ingest.cluster import RETRIES, ClusterError

if TYPE_CHECKING:
    from distributed import Client

# Texts per task: large enough that scheduling costs nothing next to the model (~128
# passages are 5–10 s of MPNet on one core), small enough that the last tasks balance.
BLOCK = 128


def encode_block(model_path: str, texts: list[str], model_batch: int) -> np.ndarray:
    """Runs on a worker: ``texts`` → vectors with the model at ``model_path``."""
    if "PEEL_TORCH_THREADS" not in os.environ:
        # one torch thread per worker thread: a 2-worker cluster on 2 cores must not run 4
        try:
            from distributed import get_worker

            os.environ["PEEL_TORCH_THREADS"] = str(get_worker().state.nthreads)
        except (ImportError, ValueError, AttributeError):
            pass
    return load_model(model_path).encode(texts, batch_size=model_batch)


class ModelNotOnWorkers(ClusterError):
    """A worker cannot see the model folder; the message names the workers."""


def check_workers_have(client: "Client", model_path: str) -> None:
    """ModelNotOnWorkers unless every worker sees ``model_path`` (a remote cluster needs
    the model at the same path, e.g. on a shared disk)."""
    seen = client.run(os.path.isdir, model_path)
    missing = sorted(addr for addr, ok in seen.items() if not ok)
    if missing:
        raise ModelNotOnWorkers(
            f"The model folder {model_path} is not on worker(s) {', '.join(missing)}. Put the "
            f"model at the same path on every worker (a shared disk, or copy it), then run again."
        )


def cluster_encoder(client: "Client", model: str | None, block: int = BLOCK) -> Callable[..., np.ndarray]:
    """An `Embedder.encode`-like function that embeds on ``client``'s workers with ``model``."""
    from distributed import as_completed

    model_path = str(resolve_model(model)[1])

    def encode(
        texts: Sequence[str],
        batch_size: int = 32,
        progress: bool | Callable[[int, int], None] = False,
    ) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, load_model(model_path).dims), dtype=np.float32)
        check_workers_have(client, model_path)
        # longest first, as Embedder.encode does: each block pads to its own longest text
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        blocks = [order[i : i + block] for i in range(0, len(order), block)]
        futures = client.map(
            encode_block,
            [model_path] * len(blocks),
            [[texts[i] for i in b] for b in blocks],
            model_batch=batch_size,  # not batch_size=: Client.map has its own
            pure=False,
            retries=RETRIES,
        )
        where = {f.key: b for f, b in zip(futures, blocks)}
        vectors: np.ndarray | None = None
        done = 0
        for future in as_completed(futures):
            try:
                got = np.asarray(future.result(), dtype=np.float32)
            except Exception as exc:  # every retry failed (KilledWorker, a worker out of memory…)
                client.cancel(futures)
                raise ClusterError(
                    f"Embedding failed on the cluster after retries ({type(exc).__name__}: {exc}). "
                    f"See the workers' logs, then run again."
                ) from None
            if vectors is None:
                vectors = np.empty((len(texts), got.shape[1]), dtype=np.float32)
            rows = where[future.key]
            vectors[rows] = got
            done += len(rows)
            if callable(progress):
                progress(done, len(texts))
        assert vectors is not None
        return vectors

    return encode

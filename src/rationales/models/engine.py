"""The one forward engine: every probability any explainer or metric asks for runs here.

A request is a hashable *key* that has a length (for a transformer: the tuple of input
ids; for tf-idf: the tuple of words). The engine

- deduplicates the keys of one call,
- answers what it has seen before from an LRU cache keyed by the key itself,
- sorts the rest by length and cuts them into batches whose padded size stays within a
  token budget (``batch_size × longest ≤ token_budget``), and starts a new batch where
  growing the current one would add more padding than a batch costs
  (``batch_overhead_tokens``), so short inputs are not padded to long ones,
- runs each batch through ``run_batch`` under ``torch.inference_mode()``,

and counts what it did in ``stats``: ``requests`` (keys asked for), ``cache_hits`` (keys
answered without running the model, including duplicates within a call),
``forward_passes`` (sequences actually run), ``batches`` and ``tokens`` (the sum of the
lengths of the sequences run, padding excluded).

The engine never changes torch's thread count: that setting is process-wide (it holds
for every model and every thread of the process), so it belongs to the application,
set once at start-up (:func:`set_threads`, or ``torch.set_num_threads``).
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import OrderedDict
from typing import Any, Callable, Hashable, Iterator, Sequence

import numpy as np

from ..errors import ParameterError

STAT_NAMES = ("requests", "cache_hits", "forward_passes", "batches", "tokens")


def set_threads(threads: int | None) -> None:
    """Set torch's intra-op thread count for the whole process (None: leave torch's choice).

    Process-wide: it holds for every model and every thread of the process, so call it
    once, at application start-up (a command-line ``--threads`` option), not per model.
    """
    if threads is None:
        return
    if int(threads) < 1:
        raise ParameterError(f"threads must be at least 1, got {threads}")
    import torch

    torch.set_num_threads(int(threads))


class ForwardEngine:
    """Deduplicating, caching, length-sorting, token-budget batching model runner.

    ``run_batch(keys)`` receives a list of keys (at most ``max_batch_size``, padded size
    within ``token_budget``) and returns an array of shape (len(keys), n_outputs).
    ``length(key)`` gives a key's length in tokens (default ``len``).
    ``threads``: deprecated. torch's thread count is process-wide, so the engine does
    not own it; a value is applied once, here, with :func:`set_threads` (for the whole
    process, not just this engine) and a DeprecationWarning. Call :func:`set_threads`
    at application start-up instead.
    ``cache_size``: how many results the LRU cache keeps (0 disables caching).
    ``no_grad``: run under ``torch.inference_mode()`` (False for non-torch models that
    do not need it; it is harmless either way).
    ``batch_overhead_tokens``: what one more batch costs, in padded tokens' worth of
    compute. A key that would add more padding than this to the current batch (its
    length minus the batch's longest, times the batch's size) starts a new batch. On
    this project's 2-core CPU a MiniLM forward costs about 14 ms a call plus 0.24 ms a
    padded token, so a batch is worth about 60 tokens (``benchmarks/bench_engine.py``
    measures the effect). 0 gives one batch per distinct length.
    """

    def __init__(
        self,
        run_batch: Callable[[list[Any]], np.ndarray],
        *,
        length: Callable[[Any], int] = len,
        token_budget: int = 16384,
        max_batch_size: int = 256,
        cache_size: int = 200_000,
        threads: int | None = None,
        no_grad: bool = True,
        batch_overhead_tokens: int = 64,
    ) -> None:
        if token_budget < 1 or max_batch_size < 1:
            raise ValueError("token_budget and max_batch_size must be at least 1")
        if batch_overhead_tokens < 0:
            raise ValueError("batch_overhead_tokens must be >= 0")
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        self.run_batch = run_batch
        self.length = length
        self.token_budget = int(token_budget)
        self.max_batch_size = int(max_batch_size)
        self.cache_size = int(cache_size)
        self.threads = threads
        if threads is not None:
            warnings.warn(
                "ForwardEngine(threads=...) is deprecated: torch's thread count is process-wide; "
                "it is set now for the whole process. Call rationales.models.engine.set_threads(n) "
                "(or torch.set_num_threads) once at start-up instead.",
                DeprecationWarning, stacklevel=2)
            set_threads(threads)
        self.no_grad = no_grad
        self.batch_overhead_tokens = int(batch_overhead_tokens)
        self._cache: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        # one caller at a time: the cache and stats are shared (a web server's threads)
        self._lock = threading.RLock()
        self.stats: dict[str, int] = {k: 0 for k in STAT_NAMES}
        # forward passes run on behalf of each thread (a web server's requests must not
        # count each other's passes as their own)
        self._local = threading.local()

    # -- bookkeeping ---------------------------------------------------------------
    def reset_stats(self) -> None:
        """Set every counter in ``stats`` back to zero (the cache is kept)."""
        for k in STAT_NAMES:
            self.stats[k] = 0

    def thread_last_ran(self) -> list[Hashable]:
        """The keys the current thread's latest call ran through the model (not cached)."""
        return list(getattr(self._local, "last_ran", ()))

    def thread_forward_passes(self) -> int:
        """Forward passes run by calls from the current thread, since it first called."""
        return int(getattr(self._local, "forward_passes", 0))

    def clear_cache(self) -> None:
        """Forget every cached result (call after the model's weights change)."""
        self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)

    # -- the call ------------------------------------------------------------------
    def __call__(self, keys: Sequence[Hashable]) -> np.ndarray:
        """Outputs for each key, in order: shape (len(keys), n_outputs)."""
        return self.run(keys)

    def run(self, keys: Sequence[Hashable]) -> np.ndarray:
        with self._lock:
            return self._run(list(keys))

    def _run(self, keys: list[Hashable]) -> np.ndarray:
        self.stats["requests"] += len(keys)
        if not keys:
            self._local.last_ran = []
            return np.zeros((0, 0))
        found: dict[Hashable, np.ndarray] = {}
        missing: list[Hashable] = []
        for key in dict.fromkeys(keys):  # unique, first-seen order
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                found[key] = hit
            else:
                missing.append(key)
        self.stats["cache_hits"] += len(keys) - len(missing)
        self._local.last_ran = missing
        if missing:
            missing.sort(key=self.length)
            with self._context():
                for batch in self._batches(missing):
                    out = np.asarray(self.run_batch(batch), dtype=np.float64)
                    if out.ndim != 2 or out.shape[0] != len(batch):
                        raise ValueError(
                            f"run_batch returned shape {out.shape} for {len(batch)} inputs; "
                            f"expected ({len(batch)}, n_outputs)"
                        )
                    self.stats["batches"] += 1
                    self.stats["forward_passes"] += len(batch)
                    self._local.forward_passes = self.thread_forward_passes() + len(batch)
                    self.stats["tokens"] += sum(self.length(k) for k in batch)
                    for key, row in zip(batch, out):
                        row.setflags(write=False)
                        found[key] = row
                        self._remember(key, row)
        return np.stack([found[k] for k in keys]).copy()

    def _remember(self, key: Hashable, row: np.ndarray) -> None:
        if self.cache_size == 0:
            return
        self._cache[key] = row
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _batches(self, ordered: list[Hashable]) -> Iterator[list[Hashable]]:
        """Cut length-sorted keys into batches: within the token budget and the batch
        size, and cut where the next key would pad the batch by more than a batch costs."""
        batch: list[Hashable] = []
        longest = 0
        for key in ordered:
            n = max(1, self.length(key))
            grown = max(longest, n)
            if batch and (grown * (len(batch) + 1) > self.token_budget
                          or len(batch) >= self.max_batch_size
                          or len(batch) * (grown - longest) > self.batch_overhead_tokens):
                yield batch
                batch, grown = [], n
            batch.append(key)
            longest = grown
        if batch:
            yield batch

    @contextlib.contextmanager
    def _context(self) -> Iterator[None]:
        if not self.no_grad:
            yield
            return
        import torch

        with torch.inference_mode():
            yield

    def describe(self) -> dict[str, Any]:
        return {"token_budget": self.token_budget, "max_batch_size": self.max_batch_size,
                "batch_overhead_tokens": self.batch_overhead_tokens,
                "cache_size": self.cache_size, "threads": self.threads,
                "cached": len(self._cache), "stats": dict(self.stats)}

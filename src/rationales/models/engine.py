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
lengths of the sequences run, padding excluded). Gradient explainers run their model
outside the engine (it caches probabilities, not gradients) and report what they ran with
:meth:`ForwardEngine.count_gradient_passes`: ``gradient_forwards`` (sequences run forward
on the gradient path, with or without a backward) and ``backward_passes`` (sequences
back-propagated), so their cost is counted like everyone else's.

Memory: the cache (an :class:`LRUCache`) is bounded by entries (``cache_size``) and by
approximate bytes (``cache_bytes``, default 256 MiB: each entry counts its key, the key's
items, its row and the dict's bookkeeping). A cached row is a copy of the batch's row,
never a view that would keep the whole batch's array alive. While batches run, torch's
oneDNN (mkldnn) kernels are switched off (``onednn=False``, :func:`onednn_off`): oneDNN
compiles and keeps one primitive per input shape (GELU on CPU), and with the engine's
ever-changing (batch, length) shapes those long-lived allocations land between the
transient activation buffers and fragment the C heap: a server's RSS grew about 1 MB per
request though nothing reachable grew (docs/serve.md, "Memory").

The engine never changes torch's thread count: that setting is process-wide (it holds
for every model and every thread of the process), so it belongs to the application,
set once at start-up (:func:`set_threads`, or ``torch.set_num_threads``).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any, Callable, Hashable, Iterator, Sequence

import numpy as np

from ..errors import ParameterError

STAT_NAMES = ("requests", "cache_hits", "forward_passes", "batches", "tokens",
              "gradient_forwards", "backward_passes")

#: the engine cache's default byte bound (keys, rows and bookkeeping; see :class:`LRUCache`)
DEFAULT_CACHE_BYTES = 256 * 2**20

#: what one entry costs beyond its key and value: the dict slot and the LRU order's node
#: (measured with tracemalloc: 105 bytes per entry of a 200,000-entry OrderedDict)
ENTRY_OVERHEAD_BYTES = 104


def approx_bytes(obj: Any) -> int:
    """Approximate memory of a cache key or value, counted conservatively.

    The object itself (``sys.getsizeof``: a NumPy array that owns its data includes it),
    and for a tuple or list its items, recursively; an item shared with other objects
    (an int or word also held by another key) is counted in full here too, so the real
    total is at most the sum. CPython's cached small ints (-5..256) cost nothing.
    """
    size = sys.getsizeof(obj)
    if isinstance(obj, (tuple, list)):
        for x in obj:
            if type(x) is int and -5 <= x <= 256:
                continue
            size += approx_bytes(x)
    return size


class LRUCache(MutableMapping[Hashable, Any]):
    """A least-recently-used cache bounded by entries and by approximate bytes.

    ``max_entries``: the most entries it keeps (0 keeps nothing). ``max_bytes``: the most
    bytes its entries may count (None: no byte bound; 0 keeps nothing); an entry counts
    ``sizeof(key) + sizeof(value) + ENTRY_OVERHEAD_BYTES``, so keys and values must not
    change size while stored (tuples, bytes, read-only arrays). Storing evicts the least
    recently used entries until both bounds hold; :meth:`lookup` (not ``[]``) marks an
    entry as used. Thread-safe.
    """

    def __init__(self, max_entries: int, max_bytes: int | None = None, *,
                 sizeof: Callable[[Any], int] = approx_bytes) -> None:
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizeof = sizeof
        self._lock = threading.RLock()
        #: the bytes the entries held now count
        self.nbytes = 0
        self.max_entries: int = 0
        self.max_bytes: int | None = None
        self.resize(max_entries, max_bytes)

    def entry_bytes(self, key: Hashable, value: Any) -> int:
        """What one entry counts against ``max_bytes``."""
        return self._sizeof(key) + self._sizeof(value) + ENTRY_OVERHEAD_BYTES

    def resize(self, max_entries: int, max_bytes: int | None) -> None:
        """Change both bounds, evicting at once what no longer fits."""
        if max_entries < 0:
            raise ValueError(f"max_entries must be >= 0, got {max_entries}")
        if max_bytes is not None and max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0 (or None for no byte bound), got {max_bytes}")
        with self._lock:
            self.max_entries = int(max_entries)
            self.max_bytes = None if max_bytes is None else int(max_bytes)
            self._evict()

    def lookup(self, key: Hashable) -> Any:
        """The value stored for ``key`` (now the most recently used), or None."""
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def __setitem__(self, key: Hashable, value: Any) -> None:
        if self.max_entries == 0 or self.max_bytes == 0:
            return
        size = self.entry_bytes(key, value)
        with self._lock:
            if key in self._data:
                self.nbytes -= self.entry_bytes(key, self._data.pop(key))
            self._data[key] = value
            self.nbytes += size
            self._evict()

    def _evict(self) -> None:
        while self._data and (len(self._data) > self.max_entries
                              or (self.max_bytes is not None and self.nbytes > self.max_bytes)):
            self.nbytes -= self.entry_bytes(*self._data.popitem(last=False))

    def __getitem__(self, key: Hashable) -> Any:
        return self._data[key]

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            self.nbytes -= self.entry_bytes(key, self._data.pop(key))

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.nbytes = 0

    def info(self) -> dict[str, Any]:
        """Entries and bytes held, and the bounds: plain values for a health report."""
        with self._lock:
            return {"entries": len(self._data), "bytes": self.nbytes,
                    "max_entries": self.max_entries, "max_bytes": self.max_bytes}


# torch's oneDNN switch is process-wide: it is off while any caller is inside
# onednn_off(), and the last one out restores what it was before the first went in.
_ONEDNN_LOCK = threading.Lock()
_onednn_inside = 0
_onednn_before = True


@contextlib.contextmanager
def onednn_off() -> Iterator[None]:
    """Run the block with torch's oneDNN (mkldnn) kernels switched off, for the process.

    oneDNN compiles and keeps one primitive per input shape; a server sees ever new
    (batch, length) shapes, and those long-lived allocations fragment the C heap (RSS
    grows about 1 MB a request). Without it torch uses its own kernels, as fast here
    (docs/serve.md, "Memory"). Nestable and thread-safe; a no-op when torch is not
    imported (it never imports torch itself).
    """
    global _onednn_inside, _onednn_before
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    with _ONEDNN_LOCK:
        if _onednn_inside == 0:
            _onednn_before = bool(torch.backends.mkldnn.enabled)
            torch.backends.mkldnn.enabled = False
        _onednn_inside += 1
    try:
        yield
    finally:
        with _ONEDNN_LOCK:
            _onednn_inside -= 1
            if _onednn_inside == 0:
                torch.backends.mkldnn.enabled = _onednn_before


def classifier_caches(classifier: Any) -> dict[str, LRUCache]:
    """Every bounded cache a classifier holds, by name (``engine``, ``encodings``, ...).

    A classifier lists its own with ``caches()``; otherwise its forward engine's cache, if
    it has an engine; otherwise none.
    """
    own = getattr(classifier, "caches", None)
    if callable(own):
        return dict(own())
    engine = getattr(classifier, "engine", None)
    return {"engine": engine.cache} if isinstance(engine, ForwardEngine) else {}


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
    ``cache_bytes``: the most approximate bytes the cache may hold, keys included
    (default 256 MiB; None: no byte bound); the least recently used entries go first.
    ``onednn``: let torch use oneDNN (mkldnn) kernels while batches run. Off by default:
    oneDNN keeps a compiled primitive per input shape, and the engine's varying shapes
    then fragment the C heap (a server's RSS grows steadily; see :func:`onednn_off`).
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
        cache_bytes: int | None = DEFAULT_CACHE_BYTES,
        threads: int | None = None,
        no_grad: bool = True,
        batch_overhead_tokens: int = 64,
        onednn: bool = False,
    ) -> None:
        if token_budget < 1 or max_batch_size < 1:
            raise ValueError("token_budget and max_batch_size must be at least 1")
        if batch_overhead_tokens < 0:
            raise ValueError("batch_overhead_tokens must be >= 0")
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        if cache_bytes is not None and cache_bytes < 0:
            raise ValueError("cache_bytes must be >= 0 (or None for no byte bound)")
        self.run_batch = run_batch
        self.length = length
        self.token_budget = int(token_budget)
        self.max_batch_size = int(max_batch_size)
        self.onednn = bool(onednn)
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
        # key -> its row: a copy that owns its 8 bytes per output (a view would keep the
        # whole batch's array alive, unaccounted)
        self._cache = LRUCache(int(cache_size), cache_bytes)
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

    def count_gradient_passes(self, forwards: int, backwards: int) -> None:
        """Record sequences a gradient method ran outside the engine: ``forwards`` run
        forward on the gradient path, ``backwards`` of them back-propagated."""
        if forwards < 0 or backwards < 0:
            raise ValueError(f"pass counts must be >= 0, got {forwards} forwards and {backwards} backwards")
        with self._lock:
            self.stats["gradient_forwards"] += int(forwards)
            self.stats["backward_passes"] += int(backwards)

    def thread_last_ran(self) -> list[Hashable]:
        """The keys the current thread's latest call ran through the model (not cached)."""
        return list(getattr(self._local, "last_ran", ()))

    def thread_forward_passes(self) -> int:
        """Forward passes run by calls from the current thread, since it first called."""
        return int(getattr(self._local, "forward_passes", 0))

    @property
    def cache(self) -> LRUCache:
        """The results cache (entries, bytes and bounds: ``cache.info()``, ``cache.resize``)."""
        return self._cache

    @property
    def cache_size(self) -> int:
        return self._cache.max_entries

    @property
    def cache_bytes(self) -> int | None:
        return self._cache.max_bytes

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
            hit = self._cache.lookup(key)
            if hit is not None:
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
                        found[key] = row
                        own = row.copy()
                        own.setflags(write=False)
                        self._cache[key] = own
        return np.stack([found[k] for k in keys])

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
        with contextlib.ExitStack() as stack:
            if not self.onednn:
                stack.enter_context(onednn_off())
            if self.no_grad:
                import torch

                stack.enter_context(torch.inference_mode())
            yield

    def describe(self) -> dict[str, Any]:
        return {"token_budget": self.token_budget, "max_batch_size": self.max_batch_size,
                "batch_overhead_tokens": self.batch_overhead_tokens,
                "cache_size": self.cache_size, "cache_bytes": self.cache_bytes,
                "threads": self.threads, "onednn": self.onednn,
                "cached": len(self._cache), "cached_bytes": self._cache.nbytes,
                "stats": dict(self.stats)}

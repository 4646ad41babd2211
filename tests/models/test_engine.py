"""The forward engine: dedup, cache, batching within a token budget, counted stats."""

from __future__ import annotations

import numpy as np
import pytest

from rationales.models.engine import ForwardEngine


class Recorder:
    """A fake model: output row = (len, sum) of the key; records the batches it saw."""

    def __init__(self):
        self.batches = []

    def __call__(self, batch):
        self.batches.append(list(batch))
        return np.array([[len(k), sum(k)] for k in batch], dtype=float)


def test_dedup_and_cache_are_counted():
    rec = Recorder()
    engine = ForwardEngine(rec, token_budget=100)
    keys = [(1, 2), (3,), (1, 2), (4, 5, 6)]
    out = engine(keys)
    np.testing.assert_array_equal(out, [[2, 3], [1, 3], [2, 3], [3, 15]])
    assert engine.stats == {"requests": 4, "cache_hits": 1, "forward_passes": 3,
                            "batches": 1, "tokens": 6, "gradient_forwards": 0, "backward_passes": 0}
    engine(keys[:2])
    assert engine.stats["requests"] == 6 and engine.stats["cache_hits"] == 3
    assert engine.stats["forward_passes"] == 3  # nothing new was run
    engine.reset_stats()
    assert set(engine.stats.values()) == {0}
    engine.clear_cache()
    engine([(3,)])
    assert engine.stats["forward_passes"] == 1


def test_forward_passes_are_also_counted_per_thread():
    import threading

    engine = ForwardEngine(Recorder())
    seen = {}

    def ask(name, keys):
        engine(keys)
        seen[name] = engine.thread_forward_passes()

    threads = [threading.Thread(target=ask, args=("a", [(1,), (2,), (3,)])),
               threading.Thread(target=ask, args=("b", [(1,), (4,)]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # (1,) ran once, for whichever thread asked first; the other got it from the cache
    assert engine.stats["forward_passes"] == 4 == seen["a"] + seen["b"]
    assert (seen["a"], seen["b"]) in ((3, 1), (2, 2))
    assert engine.thread_forward_passes() == 0  # this thread ran nothing


def test_batches_sorted_by_length_within_token_budget():
    rec = Recorder()
    engine = ForwardEngine(rec, token_budget=6, max_batch_size=10)
    keys = [(1,) * 3, (1,), (1,) * 2, (1,), (1,) * 3]
    engine(keys)
    lengths = [[len(k) for k in b] for b in rec.batches]
    # sorted ascending; each batch's padded size (size x longest) stays <= 6
    assert [n for b in lengths for n in b] == [1, 2, 3]  # three distinct keys
    assert all(len(b) * max(b) <= 6 for b in lengths)
    assert lengths == [[1, 2], [3]]
    assert engine.stats["batches"] == 2


def test_a_batch_is_cut_where_padding_would_cost_more_than_a_new_batch():
    keys = [(1,) * n for n in (2, 2, 2, 3, 3, 9, 10)] + [(2,) * 2, (3,) * 2]
    lengths = {}
    for overhead in (0, 4, 10**6):
        rec = Recorder()
        ForwardEngine(rec, batch_overhead_tokens=overhead)(keys)
        lengths[overhead] = [[len(k) for k in b] for b in rec.batches]
    # distinct keys, sorted: lengths 2, 2, 2, 3, 9, 10 (the repeated (1,1) and (1,1,1) dedup)
    # 0: any padding starts a new batch, so one batch per length
    assert lengths[0] == [[2, 2, 2], [3], [9], [10]]
    # 4: the 3 pads three 2s by 1 each (3 <= 4: joins); the 9 would pad four keys by 6
    # (24 > 4: new batch); the 10 pads the one 9 by 1 (joins)
    assert lengths[4] == [[2, 2, 2, 3], [9, 10]]
    # no cost per batch: only the token budget cuts (the old behaviour)
    assert lengths[10**6] == [[2, 2, 2, 3, 9, 10]]


def test_the_keys_a_call_ran_are_kept_per_thread():
    engine = ForwardEngine(Recorder())
    engine([(1,), (2,), (1,)])
    assert engine.thread_last_ran() == [(1,), (2,)]
    engine([(2,), (3,)])
    assert engine.thread_last_ran() == [(3,)]  # (2,) came from the cache
    engine([])
    assert engine.thread_last_ran() == []


def test_lru_evicts_the_least_recently_used():
    rec = Recorder()
    engine = ForwardEngine(rec, cache_size=2)
    engine([(1,), (2,)])
    engine([(1,)])            # (1,) now most recent
    engine([(3,)])            # evicts (2,)
    engine.reset_stats()
    engine([(1,), (2,)])
    assert engine.stats["cache_hits"] == 1 and engine.stats["forward_passes"] == 1


def test_bad_run_batch_shape_is_reported():
    engine = ForwardEngine(lambda b: np.zeros(len(b)))
    with pytest.raises(ValueError, match="expected"):
        engine([(1,)])


# -- memory: caches bounded by bytes as well as entries ------------------------------------
def test_lru_cache_evicts_by_bytes_with_hand_computed_sizes():
    from rationales.models.engine import ENTRY_OVERHEAD_BYTES, LRUCache

    # sizeof = len: key "a" (1) + value "x" * 10 (10) + overhead = 115 bytes an entry
    entry = 1 + 10 + ENTRY_OVERHEAD_BYTES
    cache = LRUCache(100, 2 * entry + 50, sizeof=len)
    cache["a"] = "x" * 10
    cache["b"] = "x" * 10
    assert cache.nbytes == 2 * entry and len(cache) == 2
    assert cache.lookup("a") == "x" * 10      # "a" is now the most recently used
    cache["c"] = "x" * 10                     # 3 × 115 > 280: the least recent, "b", goes
    assert list(cache) == ["a", "c"] and cache.nbytes == 2 * entry
    cache["a"] = "y" * 60                     # replacing counts the new size: 115 + 165 = 280 fits
    assert list(cache) == ["c", "a"] and cache.nbytes == 280
    cache["a"] = "y" * 61                     # 115 + 166 = 281 does not: "c" goes
    assert list(cache) == ["a"] and cache.nbytes == 1 + 61 + ENTRY_OVERHEAD_BYTES
    cache["huge"] = "z" * 300                 # larger than the whole bound: not kept, nor is anything
    assert len(cache) == 0 and cache.nbytes == 0
    assert cache.info() == {"entries": 0, "bytes": 0, "max_entries": 100, "max_bytes": 2 * entry + 50}


def test_lru_cache_resize_evicts_at_once_and_zero_keeps_nothing():
    from rationales.models.engine import ENTRY_OVERHEAD_BYTES, LRUCache

    cache = LRUCache(10, None, sizeof=len)
    for k in "abcd":
        cache[k] = "v"
    assert cache.nbytes == 4 * (2 + ENTRY_OVERHEAD_BYTES)
    cache.resize(10, 2 * (2 + ENTRY_OVERHEAD_BYTES))
    assert list(cache) == ["c", "d"]
    cache.resize(1, None)
    assert list(cache) == ["d"] and cache.nbytes == 2 + ENTRY_OVERHEAD_BYTES
    cache.resize(10, 0)
    cache["e"] = "v"
    assert len(cache) == 0 and cache.nbytes == 0
    with pytest.raises(ValueError, match="max_bytes"):
        cache.resize(10, -1)


def test_approx_bytes_counts_items_but_not_cached_small_ints():
    import sys

    from rationales.models.engine import approx_bytes

    assert approx_bytes((1, 2, 256)) == sys.getsizeof((1, 2, 256))
    assert approx_bytes((1000, 2)) == sys.getsizeof((1000, 2)) + sys.getsizeof(1000)
    assert approx_bytes(("you", "are")) == sys.getsizeof(("you", "are")) + sys.getsizeof("you") + sys.getsizeof("are")
    row = np.zeros(3)
    assert approx_bytes(row) == sys.getsizeof(row) >= 3 * 8  # an array that owns its data counts it


def test_engine_cache_is_bounded_by_bytes():
    import sys

    from rationales.models.engine import ENTRY_OVERHEAD_BYTES

    # a key (k,) with k ≤ 256 is one tuple; its row is 2 float64s in an array of its own
    entry = sys.getsizeof((1,)) + sys.getsizeof(np.zeros(2)) + ENTRY_OVERHEAD_BYTES
    rec = Recorder()
    engine = ForwardEngine(rec, cache_size=1000, cache_bytes=3 * entry + entry // 2)
    engine([(1,), (2,), (3,), (4,), (5,)])
    assert len(engine) == 3 and engine.cache.nbytes == 3 * entry
    assert list(engine.cache) == [(3,), (4,), (5,)]
    d = engine.describe()
    assert (d["cached"], d["cached_bytes"], d["cache_bytes"]) == (3, 3 * entry, 3 * entry + entry // 2)
    engine.reset_stats()
    engine([(1,), (5,)])                      # (1,) was evicted, (5,) was kept
    assert engine.stats["forward_passes"] == 1 and engine.stats["cache_hits"] == 1
    engine.clear_cache()
    assert engine.cache.nbytes == 0


def test_cached_rows_do_not_keep_the_batch_array_alive():
    engine = ForwardEngine(Recorder())
    out = engine([(1,), (2, 3), (4, 5, 6)])
    for key in [(1,), (2, 3), (4, 5, 6)]:
        row = engine.cache[key]
        assert row.base is None and row.nbytes == 16   # its own 2 floats, not a view of the batch
        assert not row.flags.writeable
    out[:] = -1                                        # the caller's array is its own too
    assert engine([(1,)]).tolist() == [[1.0, 1.0]]


def test_engine_bounds_are_validated():
    with pytest.raises(ValueError, match="cache_bytes"):
        ForwardEngine(Recorder(), cache_bytes=-1)
    engine = ForwardEngine(Recorder(), cache_bytes=0)
    engine([(1,)])
    assert len(engine) == 0
    unbounded = ForwardEngine(Recorder(), cache_bytes=None)
    unbounded([(1,), (2,)])
    assert unbounded.cache.info()["max_bytes"] is None and len(unbounded) == 2


def test_onednn_is_off_while_batches_run_and_restored_after():
    import threading

    torch = pytest.importorskip("torch")
    from rationales.models.engine import onednn_off

    seen = []

    def run_batch(batch):
        seen.append(torch.backends.mkldnn.enabled)
        return np.zeros((len(batch), 1))

    before = torch.backends.mkldnn.enabled
    try:
        torch.backends.mkldnn.enabled = True
        ForwardEngine(run_batch)([(1,)])
        ForwardEngine(run_batch, onednn=True)([(1,)])
        assert seen == [False, True] and torch.backends.mkldnn.enabled is True
        # nested and from several threads: off until the last one leaves
        inside, leave = threading.Event(), threading.Event()

        def hold():
            with onednn_off():
                inside.set()
                leave.wait(5)

        t = threading.Thread(target=hold)
        t.start()
        inside.wait(5)
        with onednn_off():
            assert torch.backends.mkldnn.enabled is False
        assert torch.backends.mkldnn.enabled is False   # the other thread is still inside
        leave.set()
        t.join()
        assert torch.backends.mkldnn.enabled is True
    finally:
        torch.backends.mkldnn.enabled = before


def test_a_transformers_caches_are_both_bounded_by_bytes():
    from rationales.models.engine import classifier_caches
    from rationales.models.tiny import tiny_classifier
    from rationales.types import Example

    clf = tiny_classifier(("a", "b"), seed=0, cache_bytes=20_000, encoding_cache_bytes=6_000)
    caches = classifier_caches(clf)
    assert set(caches) == {"engine", "encodings"}
    for i in range(40):
        ex = Example(id=str(i), words=("a", "post", "number", str(1000 + i), "with", "words"))
        clf.predict_proba_masked(ex, np.tri(6, dtype=bool))
        for cache in caches.values():
            assert cache.nbytes <= cache.max_bytes
    assert 0 < len(caches["encodings"]) < 40 and 0 < len(caches["engine"]) < 40 * 6
    enc = clf.encode(Example(id="x", words=("a", "b")))
    assert enc.approx_bytes() > 0

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
                            "batches": 1, "tokens": 6}
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

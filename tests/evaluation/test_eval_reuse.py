"""The evaluation reuses what the explainers ran, and asks for everything at once.

- ``tau_loo``'s leave-one-word-out inputs are exactly occlusion's: after occlusion they
  are answered from the engine's cache, and τ is the same as from a cold cache.
- ``evaluate`` sends the faithfulness masks of every method to the engine in one call,
  with the same values as evaluating each method alone.
- The benchmark run reports the share of the evaluation's requests the cache answered.
"""

from __future__ import annotations

import pytest

from methods.planted import PlantedClassifier  # tests/ is on sys.path (rootdir-relative packages)
from rationales.evaluation import evaluate
from rationales.evaluation.benchmark import benchmark, cache_share
from rationales.evaluation.faithfulness import faithfulness
from rationales.methods import get_explainer
from rationales.report.files import write_markdown
from rationales.types import Dataset, Example

POSTS = [Example(f"p{i}", tuple(words.split()), label=1, rationale=[1 if w == "kill" else 0 for w in words.split()])
         for i, words in enumerate(["we should kill them all", "kill", "a calm and quiet day here",
                                    "they kill for fun and kill for sport"])]


class Calls:
    """Counts the engine's calls (each a list of keys)."""

    def __init__(self, engine) -> None:
        self.engine, self.sizes = engine, []
        self._run = engine.run

    def __enter__(self):
        def run(keys):
            self.sizes.append(len(keys))
            return self._run(keys)

        self.engine.run = run
        return self

    def __exit__(self, *exc) -> None:
        del self.engine.run


def _tau(clf, exps):
    res = faithfulness(clf, exps, {e.id: e for e in POSTS}, hard=lambda e: e.top_k(2), hard_name="top_k=2",
                       tau_loo=True)
    return {m: {r.name: r.per_example for r in rs}["tau_loo"] for m, rs in res.items()}


def test_tau_loo_reuses_occlusions_passes_and_gives_the_same_tau():
    clf = PlantedClassifier()
    occl = get_explainer("occlusion").explain(clf, POSTS, [1] * len(POSTS))
    ngram = get_explainer("ngram").explain(clf, POSTS, [1] * len(POSTS))
    exps = occl + ngram
    # every leave-one-out input is one occlusion already ran: none is run again
    loo = [(ex, [[j != i for j in range(len(ex.words))] for i in range(len(ex.words))]) for ex in POSTS]
    before = dict(clf.engine.stats)
    clf.predict_proba_masked_many([(ex, rows) for ex, rows in loo], "delete")
    assert clf.engine.stats["forward_passes"] == before["forward_passes"]
    assert clf.engine.stats["cache_hits"] - before["cache_hits"] == sum(len(ex.words) for ex in POSTS)

    warm = _tau(clf, exps)
    clf.engine.clear_cache()
    cold = _tau(clf, exps)
    assert warm == cold
    # occlusion's scores are the leave-one-out drops themselves: τ = 1 where defined
    assert all(v == pytest.approx(1.0) for v in warm["occlusion"].values() if v is not None)


def test_evaluate_sends_every_methods_masks_in_one_call_with_the_same_values():
    clf = PlantedClassifier()
    ds = Dataset(POSTS, clf.label_names, "toy", "test")
    exps = []
    for m in ("occlusion", "ngram", "random"):
        exps += get_explainer(m).explain(clf, POSTS, [1] * len(POSTS))
    clf.engine.clear_cache()
    with Calls(clf.engine) as calls:
        together = evaluate(clf, exps, ds, "hatexplain", classification=False, gold="dataset", examples="all")
    assert len(calls.sizes) == 1  # all methods, sizes and leave-one-out sets: one engine call
    for m in ("occlusion", "ngram", "random"):
        clf.engine.clear_cache()
        alone = evaluate(clf, [e for e in exps if e.method == m], ds, "hatexplain", classification=False,
                         gold="dataset", examples="all")
        mine = {(r.name, r.variant): r.per_example for r in together if r.method == m}
        assert {(r.name, r.variant): r.per_example for r in alone} == mine


def test_cache_share_by_hand():
    assert cache_share({"requests": 8, "cache_hits": 6}) == 0.75
    assert cache_share({"requests": 0, "cache_hits": 0}) is None


def test_benchmark_reports_the_evaluations_cache_share(tmp_path):
    clf = PlantedClassifier()
    ds = Dataset(POSTS, clf.label_names, "toy", "test")
    run = benchmark(clf, ds, ["occlusion", "ngram"], "hatexplain", progress=False, gold="dataset", examples="all")
    cost = run.evaluation_cost
    assert cost["requests"] > 0 and cost["cache_share"] == cost["cache_hits"] / cost["requests"]
    # the full texts and occlusion's leave-one-out inputs come from the cache at least
    assert cost["cache_hits"] >= sum(len(ex.words) + 1 for ex in POSTS)
    assert run.to_dict()["evaluation_cost"]["cache_share"] == cost["cache_share"]
    text = write_markdown(run, tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"({cost['cache_share']:.1%})" in text and "answered from the engine's cache" in text

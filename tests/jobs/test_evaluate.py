"""Evaluate jobs: the protocol is resolved once for the whole input, and which stored
metrics are means comes from the metric registry, not from the values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rationales.evaluation import evaluate, get_metric, get_protocol
from rationales.jobs import Store, run_evaluate
from rationales.types import Dataset, Example, Explanation

from .helpers import LABELS, KeywordClassifier, results_by_key, synthetic_posts, with_rationales, write_jsonl


def _dataset(posts: list[dict]) -> Dataset:
    return Dataset([Example(p["id"], p["words"], p["label"], p.get("rationale")) for p in posts], list(LABELS))


def _stored_labels(out: Path) -> set[str]:
    with Store(out, create=False) as store:
        return {label for _, _, _, label, _ in store.iter_metrics()}


def test_mean_gold_is_resolved_once_over_the_whole_input(tmp_path: Path) -> None:
    posts = with_rationales(synthetic_posts(24, seed=5))
    src = write_jsonl(tmp_path / "posts.jsonl", posts)
    eraser = get_protocol("eraser")
    # the chunks' own mean gold fractions differ: resolving per chunk would split the labels
    per_chunk = {eraser.resolve(_dataset(posts[i:i + 4])).hard for i in range(0, len(posts), 4)}
    assert len(per_chunk) > 1
    whole = eraser.resolve(_dataset(posts)).hard

    s = run_evaluate(KeywordClassifier(), src, ["occlusion"], tmp_path / "out", protocol="eraser", chunk_size=4)
    hards = {m.group(1) for label in _stored_labels(tmp_path / "out") if (m := re.search(r"hard=([^,\]]+)", label))}
    assert hards == {whole}

    # every stored mean equals evaluate() on the whole input; pooled metrics are named, not averaged
    clf = KeywordClassifier()
    exps = [Explanation.from_dict(e) for e in results_by_key(tmp_path / "out").values()]
    means = {m["metric"]: m["value"] for m in s.metrics}
    for r in evaluate(clf, exps, _dataset(posts), "eraser", classification=False):
        label = f"eraser/{r.label}"
        if get_metric(r.name).aggregation(eraser) == "pooled":
            assert label in s.non_mean_metrics and label not in means
        else:
            assert means[label] == pytest.approx(r.value, abs=1e-9), label

    # the resolved protocol is part of the key: the same command resumes
    again = run_evaluate(KeywordClassifier(), src, ["occlusion"], tmp_path / "out", protocol="eraser", chunk_size=5)
    assert again.new_results == 0 and again.skipped == len(posts) and again.metrics == s.metrics


def test_pooled_metrics_come_from_the_registry_not_from_the_values(tmp_path: Path) -> None:
    # One example per chunk: a pooled value then equals its one per-example value, so
    # comparing values would take IOU-F1 (always pooled) for a mean.
    src = write_jsonl(tmp_path / "posts.jsonl", with_rationales(synthetic_posts(6, seed=2)))
    s = run_evaluate(KeywordClassifier(), src, ["occlusion"], tmp_path / "out", protocol="hatexplain", chunk_size=1)
    hatexplain = get_protocol("hatexplain")
    labels = _stored_labels(tmp_path / "out")
    pooled = {label for label in labels
              if get_metric(label.split("/", 1)[1].split("[", 1)[0]).aggregation(hatexplain) == "pooled"}
    assert any("/iou_f1[" in label for label in pooled)
    assert set(s.non_mean_metrics) == pooled
    assert {m["metric"] for m in s.metrics} == labels - pooled


def test_micro_token_f1_is_pooled_under_xmutest(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "posts.jsonl", with_rationales(synthetic_posts(6, seed=2)))
    s = run_evaluate(KeywordClassifier(), src, ["occlusion"], tmp_path / "out", protocol="xmutest", chunk_size=3)
    names = {label.split("/", 1)[1].split("[", 1)[0] for label in s.non_mean_metrics}
    assert {"token_precision", "token_recall", "token_f1", "iou_f1"} <= names
    assert not any("/token_f1[" in m["metric"] for m in s.metrics)

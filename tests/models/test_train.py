"""Training: deterministic under a seed, the loss falls, metrics and stage 2 inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rationales.errors import DataError
from rationales.evaluation.classification import classification_summary
from rationales.jsonio import finite
from rationales.models.machine_rationales import read_machine_rationales
from rationales.models.tiny import tiny_classifier
from rationales.models.train import train
from rationales.rules import machine_rationale
from rationales.types import Dataset, Example, Explanation

GOOD = ["great", "lovely", "kind", "happy"]
BAD = ["awful", "vile", "cruel", "sad"]
FILL = ["the", "day", "was", "people", "are", "very"]


def _data(n: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = i % 2
        key = rng.choice(GOOD if label else BAD)
        words = list(rng.choice(FILL, size=4))
        pos = int(rng.integers(0, 5))
        words.insert(pos, str(key))
        rationale = [1 if j == pos else 0 for j in range(5)]
        out.append(Example(f"x{i}", words, label=label, rationale=rationale))
    return Dataset(out, ["neg", "pos"], name="toy", split="train")


@pytest.fixture(scope="module")
def runs(tokenizer):
    data, held = _data(32, 0), _data(16, 1)

    def run(kind=None):
        clf = tiny_classifier(label_names=("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=16)
        return train(data, backbone=clf, eval_data=held, rationale_loss=kind, epochs=4,
                     batch_size=8, lr=3e-3, warmup=0.1, seed=3, progress=False)

    return {"plain": run(), "plain_again": run(), "xmutest": run("xmutest"),
            "hatexplain": run("hatexplain"), "held": held}


def test_deterministic_under_a_seed(runs):
    a, b = runs["plain"], runs["plain_again"]
    assert [h["losses"] for h in a.history] == [h["losses"] for h in b.history]
    np.testing.assert_array_equal(a.predict_proba(runs["held"]), b.predict_proba(runs["held"]))


def test_loss_falls_and_metrics_are_kept(runs):
    for kind in ("plain", "xmutest", "hatexplain"):
        clf = runs[kind]
        first, last = clf.history[0]["train_loss"], clf.history[-1]["train_loss"]
        assert last < first, kind
        best = max(h["eval"]["macro_f1"] for h in clf.history)
        assert clf.metrics["eval"]["macro_f1"] == best
        assert set(clf.metrics["eval"]) >= {"accuracy", "macro_f1", "auroc"}
    assert runs["xmutest"].train_config["rationale_loss"] == "xmutest"
    # the xmutest run's loss mixes in the attention BCE: it differs from the plain run's
    assert runs["xmutest"].history[0]["losses"] != runs["plain"].history[0]["losses"]


def test_saved_model_folder_holds_config_and_metrics(runs, tmp_path):
    from rationales.models import load_classifier

    runs["xmutest"].save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "rationales.json").read_text())
    assert manifest["train_config"]["alpha"] == 0.7
    assert manifest["metrics"]["eval"]["macro_f1"] == runs["xmutest"].metrics["eval"]["macro_f1"]
    back = load_classifier(tmp_path / "m")
    np.testing.assert_allclose(back.predict_proba(runs["held"]),
                               runs["xmutest"].predict_proba(runs["held"]), atol=1e-6)


def test_training_report_metrics_by_hand():
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3], [0.2, 0.8]])
    m = classification_summary(probs, [0, 1, 1, 1], ["a", "b"])
    # predictions 0,1,0,1: accuracy 3/4; F1(a) = 2·1·0.5/(1.5) = 2/3, F1(b) = 2·1·(2/3)/(5/3) = 0.8
    assert m["accuracy"] == 0.75
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    # AUROC: positives' p(b) 0.6, 0.3, 0.8 all above the negative's 0.1 → 1.0
    assert m["auroc"] == 1.0
    assert classification_summary(probs[:1], [0], ["a", "b"])["auroc"] is None
    assert m["variants"]["auroc"] == "ovr macro over a/b"


def test_training_report_equals_rationales_evaluate(tmp_path):
    """One classification_metrics: a model's training report and `evaluate` agree, also on
    data where a class is absent (it was a different macro-F1 label set and AUROC None)."""
    from rationales.evaluation import evaluate

    train_ds = Dataset(list(_data(12, 0)), ["neg", "pos"])
    held = Dataset([ex for ex in _data(8, 1) if ex.label == 1], ["neg", "pos"])  # no "neg" post
    clf = train(train_ds, backbone=tiny_classifier(["neg", "pos"], seed=0), eval_data=held, epochs=1,
                progress=False)
    report = clf.metrics["eval"]
    res = {r.name: r.value for r in evaluate(clf, [], held, "hatexplain", examples="all")}
    for name in ("accuracy", "macro_f1", "auroc"):
        assert report[name] == finite(res[name]), name
    assert report["auroc"] is None  # undefined with one class, as evaluate says (NaN)


def test_machine_rationale_rules():
    def exp(n, info=None):
        return Explanation("e", [f"w{i}" for i in range(n)], list(range(n)), 0, "m", info=info or {})

    assert machine_rationale(exp(1)) == [1]
    assert machine_rationale(exp(4)) == [0, 0, 1, 1]              # top floor(4/2)
    assert sum(machine_rationale(exp(12))) == 5 and machine_rationale(exp(12))[-5:] == [1] * 5
    assert machine_rationale(exp(4), "top_k=1") == [0, 0, 0, 1]
    with pytest.warns(DeprecationWarning, match="top_k=1"):
        assert machine_rationale(exp(4), "top_k:1") == [0, 0, 0, 1]   # the old syntax, for one release
    assert machine_rationale(exp(4, {"rationale": [1, 0, 0, 0]})) == [1, 0, 0, 0]
    with pytest.raises(ValueError, match="unknown hard-rationale rule 'best:3'"):
        machine_rationale(exp(4), "best:3")


def test_machine_rationale_file(tmp_path):
    data = list(_data(3, 0))
    lines = [Explanation(data[0].id, data[0].words, [0, 0, 5, 0, 0], 1, "ngram").to_dict(),
             Explanation(data[1].id, data[1].words, [0] * 5, 0, "ngram", failed="timeout").to_dict()]
    path = tmp_path / "exp.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out, report = read_machine_rationales(path, data)
    # 5 words -> top floor(5/2) = 2: the 5 at position 2, then the earliest tie (position 0)
    assert out[0].rationale == (1, 0, 1, 0, 0)
    assert out[1].rationale is None and out[2].rationale is None
    assert report["with_rationale"] == 1 and report["failed_skipped"] == 1
    bad = dict(lines[0], words=list(data[0].words[:-1]), scores=[0] * 4)
    path.write_text(json.dumps(lines[0]) + "\n" + json.dumps(dict(bad, example_id=data[2].id)) + "\n")
    with pytest.raises(DataError, match="line 2.*words"):
        read_machine_rationales(path, data)
    path.write_text(json.dumps(dict(lines[0], example_id="nope")) + "\n")
    with pytest.raises(DataError, match="line 1.*'nope'"):
        read_machine_rationales(path, data)


@pytest.mark.parametrize("scheme, trained", [
    ("none", {"embeddings", "layer.0", "layer.1", "pooler", "classifier"}),
    ("embeddings", {"layer.0", "layer.1", "pooler", "classifier"}),
    ("encoder", {"classifier"}),
    (1, {"layer.1", "pooler", "classifier"}),
    (0, {"pooler", "classifier"}),
])
def test_freeze_schemes_freeze_exactly_what_they_say(scheme, trained):
    from rationales.models.train import freeze

    model = tiny_classifier(["neg", "pos"], seed=0, layers=2).model
    counts = freeze(model, scheme)
    parts = {"embeddings", "layer.0", "layer.1", "pooler", "classifier"}
    for name, p in model.named_parameters():
        part = next(x for x in parts if x in name)
        assert p.requires_grad == (part in trained), (scheme, name)
    total = sum(p.numel() for p in model.parameters())
    want = sum(p.numel() for n, p in model.named_parameters() if any(x in n for x in trained))
    assert counts == {"trainable_parameters": want, "frozen_parameters": total - want}


def test_freeze_bad_scheme_and_training_with_a_frozen_encoder():
    from rationales.errors import ParameterError
    from rationales.models.train import freeze

    with pytest.raises(ParameterError, match="the model has 2 encoder layers"):
        freeze(tiny_classifier(["neg", "pos"]).model, 3)
    clf = train(_data(8, 0), backbone=tiny_classifier(["neg", "pos"], seed=0), epochs=1, progress=False,
                freeze="encoder")
    assert clf.train_config["freeze_counts"]["trainable_parameters"] == sum(
        p.numel() for p in clf.model.classifier.parameters())
    assert all(p.requires_grad for p in clf.model.parameters())   # frozen only while it trained

"""Training: deterministic under a seed, the loss falls, metrics and stage 2 inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rationales.errors import DataError, ModelError, ParameterError
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
        # every toy post has the same length, so length grouping would only change the draw;
        # random batches keep this fixture's draw (the xmutest toy loss at lr 3e-3 is not
        # monotone under every draw)
        return train(data, backbone=clf, eval_data=held, rationale_loss=kind, epochs=4,
                     batch_size=8, lr=3e-3, warmup=0.1, seed=3, progress=False, group_by_length=False)

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


# -- throughput: length-grouped batches, gradient accumulation, bf16, frozen parameters ----
def test_length_grouped_batches_cover_every_example_once_and_pad_less():
    from rationales.models.train import length_grouped_batches, padded_tokens, random_batches

    lengths = list(np.random.default_rng(0).integers(5, 120, size=1003))
    batches = length_grouped_batches(lengths, 16, np.random.RandomState(7), bucket_batches=10)
    assert len(batches) == -(-1003 // 16)
    assert sorted(int(i) for b in batches for i in b) == list(range(1003))
    assert sum(len(b) < 16 for b in batches) == 1                   # only the last bucket's tail
    again = length_grouped_batches(lengths, 16, np.random.RandomState(7), bucket_batches=10)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    other = length_grouped_batches(lengths, 16, np.random.RandomState(8), bucket_batches=10)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other))
    plain = random_batches(1003, 16, np.random.RandomState(7))
    real = sum(lengths)
    # lengths 5..119 in random batches of 16 pad to nearly the batch maximum; sorted buckets
    # of 160 leave each batch within about 115/10 tokens of its longest
    assert padded_tokens(lengths, batches) - real < 0.2 * (padded_tokens(lengths, plain) - real)
    # batches come from the shuffled buckets in a random order, not longest first
    maxima = [max(lengths[i] for i in b) for b in batches]
    assert maxima != sorted(maxima, reverse=True)


def test_training_groups_by_length_by_default(tokenizer):
    data = Dataset([Example(f"l{i}", ["word"] * (1 + (i * 7) % 23), label=i % 2) for i in range(48)], ["neg", "pos"])

    def run(group):
        clf = tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=32)
        return train(data, backbone=clf, epochs=1, batch_size=4, seed=1, progress=False,
                     group_by_length=group).train_config

    grouped, plain = run(True), run(False)
    assert grouped["group_by_length"] is True
    assert grouped["throughput"]["tokens"] == plain["throughput"]["tokens"]
    assert grouped["throughput"]["padded_tokens"] < plain["throughput"]["padded_tokens"]
    assert grouped["throughput"]["tokens_per_second"] > 0


def _no_dropout(clf):
    import torch

    for module in clf.model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return clf


def test_grad_accum_gives_the_same_step_as_one_big_batch(tokenizer):
    data = Dataset([Example(f"g{i}", ["word"] * (2 + i % 5) + [GOOD[i % 4] if i % 2 else BAD[i % 4]],
                            label=i % 2) for i in range(8)], ["neg", "pos"])

    def step(batch_size, accum):
        clf = _no_dropout(tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=16))
        train(data, backbone=clf, epochs=1, batch_size=batch_size, grad_accum=accum, lr=1e-2, warmup=0.0,
              seed=2, progress=False, group_by_length=False)
        return clf

    big, accumulated, small = step(8, 1), step(4, 2), step(4, 1)
    assert len(big.history[0]["losses"]) == len(accumulated.history[0]["losses"]) == 1
    assert len(small.history[0]["losses"]) == 2
    assert big.history[0]["losses"][0] == pytest.approx(accumulated.history[0]["losses"][0], abs=1e-5)
    a, b, c = (dict(x.model.named_parameters()) for x in (big, accumulated, small))
    for name in a:
        np.testing.assert_allclose(a[name].detach().numpy(), b[name].detach().numpy(), atol=1e-5, err_msg=name)
    assert any(not np.allclose(a[n].detach().numpy(), c[n].detach().numpy(), atol=1e-5) for n in a)
    with pytest.raises(ParameterError, match="grad_accum"):
        train(data, backbone=tiny_classifier(("neg", "pos")), grad_accum=0, progress=False)


def test_bf16_trains_or_falls_back_with_a_warning(tokenizer, monkeypatch):
    from rationales.models import train as train_module

    data = _data(8, 0)
    clf = train(data, backbone=tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=16),
                epochs=1, batch_size=4, bf16=True, progress=False)
    config = clf.train_config
    assert config["bf16"] is True and config["bf16_used"] == train_module.bf16_support()[0]
    assert np.isfinite(clf.history[0]["train_loss"])
    monkeypatch.setattr(train_module, "bf16_support", lambda: (False, "no native bf16 here"))
    with pytest.warns(RuntimeWarning, match="no native bf16 here; training in fp32"):
        clf = train(data, backbone=tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=16),
                    epochs=1, batch_size=4, bf16=True, progress=False)
    assert clf.train_config["bf16_used"] is False


def test_bf16_autocast_runs_the_forward_in_bf16(tokenizer, monkeypatch):
    """Where bf16 is used, the model's matmuls really run in bfloat16 (emulated where the
    CPU lacks it: the check forces the path)."""
    import torch

    from rationales.models import train as train_module

    monkeypatch.setattr(train_module, "bf16_support", lambda: (True, "forced"))
    clf = tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=16)
    seen = []
    hook = clf.model.classifier.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    try:
        train(_data(4, 0), backbone=clf, epochs=1, batch_size=4, bf16=True, progress=False)
    finally:
        hook.remove()
    assert seen and seen[0] == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in clf.model.parameters())   # weights stay fp32


def test_frozen_parameters_get_no_optimizer_state(tokenizer):
    from rationales.models.train import build_optimizer, freeze

    model = tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer).model
    counts = freeze(model, "embeddings")
    optimizer = build_optimizer(model, 1e-3, 0.01)
    given = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert not any(id(p) in given for p in model.base_model.embeddings.parameters())
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == counts["trainable_parameters"]
    clf = train(_data(8, 0), backbone=tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer), epochs=1,
                freeze="embeddings", progress=False)
    assert clf.train_config["optimizer_parameters"] == clf.train_config["freeze_counts"]["trainable_parameters"]
    freeze(model, "none")
    for p in model.parameters():
        p.requires_grad = False
    with pytest.raises(ModelError, match="every parameter is frozen"):
        build_optimizer(model, 1e-3, 0.01)


# -- the prior loss, end to end ------------------------------------------------------------
def _write_priors(path, examples, *, failed=(), zero=()):
    """Priors that point at each post's key word (its rationale), as an explainer's JSONL."""
    with open(path, "w") as fh:
        for ex in examples:
            if ex.id in failed:
                exp = Explanation(ex.id, ex.words, [0.0] * len(ex.words), ex.label, "lime", failed="timeout")
            elif ex.id in zero:
                exp = Explanation(ex.id, ex.words, [0.0] * len(ex.words), ex.label, "lime")
            else:
                exp = Explanation(ex.id, ex.words, [0.8 * r - 0.1 for r in ex.rationale], ex.label, "lime")
            fh.write(json.dumps(exp.to_dict()) + "\n")
    return path


@pytest.mark.parametrize("alignment", ["kl", "mse"])
def test_prior_loss_trains_end_to_end_from_jsonl(tokenizer, tmp_path, alignment):
    data = _data(32, 0)
    path = _write_priors(tmp_path / "priors.jsonl", list(data)[:26], failed={"x0"}, zero={"x1"})
    clf = train(data, backbone=tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=16),
                rationale_loss="prior", rationales_from=path, prior_alignment=alignment, epochs=4,
                batch_size=8, lr=3e-3, seed=3, progress=False)
    config = clf.train_config
    assert config["rationales_from"] == {"file": str(path), "with_prior": 24, "failed_skipped": 1,
                                         "all_zero_skipped": 1, "without": 8}
    assert config["n_with_prior"] == 24 and config["prior_alignment"] == alignment
    assert config["prior_weight"] == 1.0
    prior = [h["parts"]["prior"] for h in clf.history]
    assert prior[-1] < 0.6 * prior[0], prior      # the attribution moved toward the priors
    assert {"ce", "prior"} <= set(clf.history[0]["parts"])


def test_prior_loss_counts_posts_without_a_prior_and_trains_them_with_ce(tokenizer, tmp_path):
    data = _data(16, 0)
    path = _write_priors(tmp_path / "none.jsonl", [])
    clf = train(data, backbone=tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=16),
                rationale_loss="prior", rationales_from=path, epochs=1, batch_size=8, progress=False)
    assert clf.train_config["rationales_from"]["without"] == 16
    assert set(clf.history[0]["parts"]) == {"ce"}        # no batch had a prior: CE only


def test_prior_loss_bad_inputs(tokenizer, tmp_path):
    data = _data(4, 0)
    clf = tiny_classifier(("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=16)
    with pytest.raises(ParameterError, match="needs rationales_from"):
        train(data, backbone=clf, rationale_loss="prior", progress=False)
    path = _write_priors(tmp_path / "p.jsonl", list(data))
    with pytest.raises(ParameterError, match="prior_alignment must be one of"):
        train(data, backbone=clf, rationale_loss="prior", rationales_from=path, prior_alignment="l1",
              progress=False)
    bad = Explanation(data[0].id, data[0].words, [1.0] * 5, 7, "lime").to_dict()
    (tmp_path / "bad.jsonl").write_text(json.dumps(bad) + "\n")
    with pytest.raises(DataError, match="line 1.*target 7"):
        train(data, backbone=clf, rationale_loss="prior", rationales_from=tmp_path / "bad.jsonl", progress=False)
    with pytest.raises(ModelError, match="no gradients to align with a prior"):
        from rationales.models import load_classifier

        train(data, backbone=load_classifier("tfidf", label_names=["neg", "pos"]), rationale_loss="prior",
              rationales_from=path, progress=False)

"""The classifier conformance suite: :func:`check_classifier`.

``check_classifier(classifier)`` raises AssertionError on the first broken promise of the
classifier contract (:mod:`rationales.models.base`) that explainers and metrics rely on:

- probabilities: shape (n_inputs, n_labels), finite, in [0, 1], rows sum to 1; a text,
  an Example and a list of them are all inputs; no inputs give shape (0, n_labels);
- ``predict`` is the argmax of ``predict_proba``;
- ``predict_proba_masked`` with every word kept equals ``predict_proba`` (both
  removals); every row of a mask, all words removed included, is a probability row;
  a bad removal or a mask of the wrong width is a ValueError;
- ``predict_proba_masked_many`` equals asking one example at a time (with words
  deleted, so the inputs are batched and padded differently);
- deterministic: the same inputs give the same probabilities after the engine cache is
  cleared (the model really runs again);
- ``n_words_used`` is between 0 and the number of words;
- the declared capabilities are real: ``differentiable`` is True exactly for a
  :class:`~rationales.models.base.DifferentiableClassifier`, whose encoding maps every
  id to a word and whose ``forward_from_embeddings`` gives the engine's probabilities;
  an :class:`~rationales.models.base.AttentionClassifier`'s attention rows sum to 1;
- ``describe()`` is JSON-serialisable and agrees with the classifier;
- save → load (``rationales.models.load_classifier`` unless another loader is given)
  gives the same probabilities.

Probabilities of the same input may be computed in different batches; they must agree
within :data:`~rationales.testing.explainers.ATOL` (1e-5; float32 padding noise is of the
order of 3e-8 on the test transformers).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..models.base import AttentionClassifier, Classifier, DifferentiableClassifier
from ..types import Example
from .explainers import ATOL, TEXTS, clear_cache, conformance_examples

#: a text long enough to be truncated by a model with a short window
LONG_TEXT = " ".join(["the people of this town said that they would never leave"] * 4)


def classifier_examples() -> list[Example]:
    """The explainer suite's texts (English, Devanagari, Telugu, one word) and a long one."""
    return conformance_examples({**TEXTS, "long": LONG_TEXT})


def _probability_rows(p: np.ndarray, n: int, k: int, where: str) -> None:
    assert isinstance(p, np.ndarray), f"{where}: returned {type(p).__name__}, not a numpy array"
    assert p.shape == (n, k), f"{where}: shape {p.shape}, expected ({n}, {k})"
    assert np.isfinite(p).all(), f"{where}: non-finite probabilities\n{p}"
    assert ((p >= -1e-7) & (p <= 1 + 1e-7)).all(), f"{where}: probabilities outside [0, 1]\n{p}"
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-4), f"{where}: rows sum to {p.sum(axis=1)}"


def _close(a: np.ndarray, b: np.ndarray, what: str) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} vs {b.shape}"
    worst = float(np.abs(a - b).max()) if a.size else 0.0
    assert worst <= ATOL, f"{what}: differ by up to {worst:.3g} (tolerance {ATOL})"


def _masks(n_words: int, seed: int) -> np.ndarray:
    """Every word kept, none kept, and two random subsets."""
    rng = np.random.default_rng(seed)
    return np.vstack([np.ones((1, n_words), bool), np.zeros((1, n_words), bool),
                      rng.random((2, n_words)) < 0.5])


def _check_masked(clf: Classifier, examples: list[Example], full: np.ndarray) -> None:
    k = clf.num_labels
    requests = [(ex, _masks(len(ex.words), i)) for i, ex in enumerate(examples)]
    one_by_one: dict[str, list[np.ndarray]] = {}
    for removal in ("delete", "mask"):
        clear_cache(clf)
        one_by_one[removal] = [clf.predict_proba_masked(ex, keep, removal) for ex, keep in requests]
        for (ex, keep), one, row in zip(requests, one_by_one[removal], full):
            where = f"masked ({removal}) {ex.id!r}"
            _probability_rows(one, len(keep), k, where)
            _close(one[0], row, f"{where}: every word kept vs predict_proba")
    # deleted words shorten inputs, so the batches differ from one at a time: this pins
    # the classifier's batch noise (padding) as well as which rows go to which request
    clear_cache(clf)
    together = clf.predict_proba_masked_many(requests, "delete")
    assert len(together) == len(requests), f"masked_many: {len(together)} results for {len(requests)}"
    for (ex, _), many, one in zip(requests, together, one_by_one["delete"]):
        _close(many, one, f"masked_many vs one example at a time on {ex.id!r}")
    ex = examples[0]
    keep = np.ones((1, len(ex.words)), bool)
    for bad, what in (((keep, "drop"), "an unknown removal 'drop'"),
                      ((np.ones((1, len(ex.words) + 1), bool), "delete"), "a mask one column too wide")):
        try:
            clf.predict_proba_masked(ex, *bad)
        except ValueError:
            continue
        raise AssertionError(f"predict_proba_masked accepted {what} instead of raising ValueError")


def _check_differentiable(clf: DifferentiableClassifier, examples: list[Example], used: list[int],
                          full: np.ndarray) -> None:
    import torch

    assert isinstance(clf.pad_token_id, int), f"pad_token_id {clf.pad_token_id!r} is not an int"
    assert clf.mask_token_id is None or isinstance(clf.mask_token_id, int), "mask_token_id is not an int"
    for ex, seen in zip(examples, used):
        enc = clf.encode(ex)
        wi = [int(w) for w in enc.word_index]
        assert len(enc.input_ids) == len(wi), f"encode({ex.id!r}): {len(enc.input_ids)} ids, {len(wi)} word indices"
        words = [w for w in wi if w >= 0]
        assert all(w < seen for w in words), f"encode({ex.id!r}): a word index beyond the {seen} words seen"
        assert words == sorted(words), f"encode({ex.id!r}): word indices out of order {wi}"
    device = next(clf.model.parameters()).device
    for ex, row in list(zip(examples, full))[::2]:  # one forward each: a few suffice
        t = torch.tensor([list(clf.encode(ex).input_ids)], dtype=torch.long, device=device)
        with torch.no_grad():
            p = clf.forward_from_embeddings(clf.embeddings()(t), torch.ones_like(t))
        _close(p.detach().float().cpu().numpy()[0], row,
               f"forward_from_embeddings vs predict_proba on {ex.id!r}")


def _check_attentions(clf: AttentionClassifier, examples: list[Example]) -> None:
    for ex in examples[::3]:
        att = np.asarray(clf.attentions(ex))
        n = len(clf.encode(ex).input_ids)
        assert att.ndim == 4 and att.shape[2:] == (n, n), (
            f"attentions({ex.id!r}): shape {att.shape}, expected (layers, heads, {n}, {n})")
        assert np.isfinite(att).all() and np.allclose(att.sum(-1), 1.0, atol=1e-3), (
            f"attentions({ex.id!r}): rows are not attention distributions")


def check_classifier(classifier: Classifier, *, examples: Sequence[Example] | None = None,
                     round_trip: bool = True,
                     loader: Callable[[Path], Classifier] | None = None) -> list[str]:
    """Run every conformance check on ``classifier``; returns the names of the checks run.

    ``examples``: the non-empty texts to check on (default :func:`classifier_examples`).
    ``round_trip``: save the classifier to a temporary folder and load it back with
    ``loader`` (default ``rationales.models.load_classifier``); False skips that check
    (for classifiers that are built in code, or too large to write in a test).
    """
    clf, ran = classifier, list[str]()
    names = list(clf.label_names)
    assert len(names) >= 2 and len(set(names)) == len(names), f"label_names {names}: need ≥ 2 distinct"
    assert clf.num_labels == len(names), f"num_labels {clf.num_labels} for {len(names)} label names"
    assert isinstance(clf.name, str) and clf.name, f"name {clf.name!r} is not a non-empty string"
    k = clf.num_labels
    examples = list(classifier_examples() if examples is None else examples)
    assert examples and all(ex.words for ex in examples), "check_classifier needs non-empty examples"

    clear_cache(clf)
    full = clf.predict_proba(examples)
    _probability_rows(full, len(examples), k, "predict_proba")
    _probability_rows(clf.predict_proba([]), 0, k, "predict_proba([])")
    text = TEXTS["english"]
    _close(clf.predict_proba(text), clf.predict_proba(conformance_examples({"t": text})),
           "a raw text vs its segmented Example")
    pred = clf.predict(examples)
    assert np.array_equal(np.asarray(pred), full.argmax(axis=1)), f"predict {pred} is not the argmax"
    clear_cache(clf)
    _close(clf.predict_proba(examples[::-1])[::-1], full, "deterministic (cache cleared, reversed order)")
    used = [clf.n_words_used(ex) for ex in examples]
    for ex, n in zip(examples, used):
        assert isinstance(n, (int, np.integer)) and 0 <= n <= len(ex.words), (
            f"n_words_used({ex.id!r}) = {n!r} for {len(ex.words)} words")
    ran += ["probabilities", "predict", "deterministic", "n_words_used"]

    _check_masked(clf, examples, full)
    ran.append("masked")

    declared = bool(clf.differentiable)
    assert declared == isinstance(clf, DifferentiableClassifier), (
        f"differentiable = {declared}, but the classifier "
        f"{'is not' if declared else 'is'} a DifferentiableClassifier")
    if isinstance(clf, DifferentiableClassifier):
        _check_differentiable(clf, examples, used, full)
        ran.append("differentiable")
    if isinstance(clf, AttentionClassifier):
        _check_attentions(clf, examples)
        ran.append("attentions")

    described = clf.describe()
    json.dumps(described)
    assert described.get("name") == clf.name and list(described.get("label_names", [])) == names, (
        f"describe() disagrees with the classifier: {described}")
    assert described.get("differentiable") == declared, "describe()['differentiable'] disagrees"
    ran.append("describe")

    if round_trip:
        from ..models import load_classifier

        load = loader or load_classifier
        with tempfile.TemporaryDirectory(prefix="rationales-check-") as tmp:
            folder = clf.save(Path(tmp) / "model")
            back = load(Path(folder))
            assert list(back.label_names) == names, f"loaded label_names {back.label_names} != {names}"
            assert type(back) is type(clf), f"loaded a {type(back).__name__}, saved a {type(clf).__name__}"
            _close(back.predict_proba(examples), full, "save → load")
        ran.append("round trip")
    return ran

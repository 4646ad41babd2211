"""The tf-idf baseline keeps the classifier contract."""

from __future__ import annotations

import numpy as np
import pytest

from rationales.errors import ModelError
from rationales.models import load_classifier
from rationales.models.tfidf import MASK_WORD, word_ngrams
from rationales.types import Example

POS = ["what a lovely kind day", "lovely people and kind words", "kind and lovely", "so lovely"]
NEG = ["what a vile hateful day", "vile people and hateful words", "hateful and vile", "so vile"]


@pytest.fixture(scope="module")
def fitted():
    clf = load_classifier("tfidf", label_names=["neg", "pos"])
    data = [Example(f"p{i}", t.split(), label=1) for i, t in enumerate(POS)]
    data += [Example(f"n{i}", t.split(), label=0) for i, t in enumerate(NEG)]
    return clf.fit(data)


def test_untrained_says_how_to_train():
    with pytest.raises(ModelError, match="train"):
        load_classifier("tfidf").predict_proba([Example("x", ("a",))])


def test_word_ngrams_skip_the_mask_placeholder():
    assert word_ngrams(["A", "b", MASK_WORD, "c"]) == ["a", "b", "c", "a b"]


def test_contract(fitted, tmp_path):
    ex = Example("t", ("a", "lovely", "vile", "day"))
    assert fitted.differentiable is False
    assert fitted.predict(["so lovely".split(), "so vile".split()]).tolist() == [1, 0]
    assert fitted.words_for(ex, [1, 0, 1, 1], "delete") == ("a", "vile", "day")
    assert fitted.words_for(ex, [1, 0, 1, 1], "mask") == ("a", MASK_WORD, "vile", "day")
    fitted.engine.reset_stats()
    keep = np.array([[1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 0, 1, 1]], bool)
    probs = fitted.predict_proba_masked(ex, keep, "delete")
    assert probs.shape == (4, 2)
    assert fitted.engine.stats["forward_passes"] == 3 and fitted.engine.stats["cache_hits"] == 1
    # removing "lovely" lowers p(pos); removing "vile" raises it
    assert probs[1, 1] < probs[0, 1] < probs[2, 1]
    assert fitted.n_words_used(ex) == 4
    fitted.save(tmp_path / "t")
    back = load_classifier(tmp_path / "t")
    np.testing.assert_allclose(back.predict_proba_masked(ex, keep, "mask"),
                               fitted.predict_proba_masked(ex, keep, "mask"))


def test_masked_requests_of_many_examples(fitted):
    a = Example("a", ("a", "lovely", "day"))
    b = Example("b", ("so", "vile"))
    ka = np.array([[1, 1, 1], [1, 0, 1]], bool)
    kb = np.array([[1, 1], [1, 0], [0, 0]], bool)
    fitted.engine.clear_cache()
    fitted.engine.reset_stats()
    many = fitted.predict_proba_masked_many([(a, ka), (b, kb)], "delete")
    assert fitted.engine.stats["requests"] == 5 and fitted.engine.stats["batches"] == 1
    np.testing.assert_allclose(many[0], fitted.predict_proba_masked(a, ka, "delete"))
    np.testing.assert_allclose(many[1], fitted.predict_proba_masked(b, kb, "delete"))

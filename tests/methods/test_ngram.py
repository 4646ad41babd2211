"""The X-MuTeST n-gram explainer: hand-computed values, the naive reference, the direction."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from rationales.methods import get_explainer
from rationales.models.base import Classifier, as_examples
from rationales.models.engine import ForwardEngine
from rationales.rules import apply_rule
from rationales.types import Example

from .conformance import clear_cache


class LookupClassifier(Classifier):
    """Probabilities read from a table keyed by the words left after deletion."""

    name = "lookup"

    def __init__(self, table: dict[tuple[str, ...], list[float]]) -> None:
        self.table = table
        self.label_names = ["a", "b"]
        self.engine = ForwardEngine(lambda keys: np.array([table[k] for k in keys]), no_grad=False)

    def predict_proba(self, inputs):
        return self.engine([tuple(ex.words) for ex in as_examples(inputs)])

    def predict_proba_masked(self, example, keep, removal="delete"):
        keep = np.atleast_2d(keep)
        return self.engine([tuple(w for w, k in zip(example.words, row) if k) for row in keep])

    def save(self, directory) -> Path:  # pragma: no cover
        raise NotImplementedError


def test_hand_computed_two_words():
    # p(full) = (.2, .8), p("x") = (.6, .4), p("y") = (.3, .7); the bigram is the full text.
    # diffs: x 0.4, y 0.1, xy 0.  With weights 1: .5, 2: .3 (the trigram weight is unused):
    #   r_x = (.5·.4 + .3·0) / 2 = .1,  r_y = (.5·.1 + .3·0) / 2 = .025
    # normalised: r = (.8, .2); reflected score = max(r) − r = (0, .6).
    clf = LookupClassifier({("x", "y"): [.2, .8], ("x",): [.6, .4], ("y",): [.3, .7]})
    exp = get_explainer("ngram").explain(clf, Example("e", ("x", "y")), target=1)[0]
    assert exp.info["xmutest_scores"] == pytest.approx([0.8, 0.2])
    assert exp.scores == pytest.approx((0.0, 0.6))
    assert exp.info["rationale"] == [0, 1]   # X-MuTeST picks its lowest value: "y"
    assert exp.info["n_grams"] == 3
    assert exp.info["forward_passes"] == 3   # full text + 2 unigrams; the bigram is the full text


def test_sizes_and_weights_are_parameters():
    clf = LookupClassifier({("x", "y"): [.2, .8], ("x",): [.6, .4], ("y",): [.3, .7]})
    # unigrams only, weight 2: r = (2·.4, 2·.1) → normalised (.8, .2): the weight cancels
    exp = get_explainer("ngram", sizes=[1], weights=[2.0]).explain(clf, Example("e", ("x", "y")))[0]
    assert exp.info["xmutest_scores"] == pytest.approx([0.8, 0.2])
    # bigrams only: both words are in the one bigram with diff 0 → all zero, no ranking
    exp = get_explainer("ngram", sizes=[2], weights=[1.0]).explain(clf, Example("e", ("x", "y")))[0]
    assert exp.scores == (0.0, 0.0)
    with pytest.raises(ValueError, match="one weight per size"):
        get_explainer("ngram", sizes=[1, 2], weights=[1.0])
    with pytest.raises(ValueError, match="distinct positive"):
        get_explainer("ngram", sizes=[0, 1], weights=[1.0, 1.0])


def naive_xmutest(classifier, words, sizes=(1, 2, 3), weights=(0.5, 0.3, 0.2)):
    """X-MuTeST's notebook, one unbatched forward per n-gram, keyed by POSITION.

    Each n-gram is classified as a text of its own (its words alone), exactly as the
    notebook's ``calculate_logits(model, tokenizer, ngram_text)`` does.
    """
    full = classifier.predict_proba([Example("full", tuple(words))])[0]
    total, count = defaultdict(float), defaultdict(int)
    for n, w in zip(sizes, weights):
        for start in range(len(words) - n + 1):
            gram = tuple(words[start:start + n])
            p = classifier.predict_proba([Example("gram", gram)])[0]
            diff = np.abs(full - p).mean()
            for pos in range(start, start + n):
                total[pos] += w * diff
                count[pos] += 1
    r = np.array([total[i] / count[i] for i in range(len(words))])
    r = r / r.sum() if r.sum() > 0 else r
    return r, r.max() - r


REFERENCE_TEXTS = [
    ("go", "home", "go", "home", "you", "kill", "people"),   # repeated words keep their own scores
    ("कल", "हम", "उन्हें", "kill", "करेंगे", "और", "फिर", "घर"),
    ("వాళ్ళు", "మన", "దేశానికి", "శత్రువులు"),
    ("two", "words"),
    ("alone",),
]


@pytest.fixture(scope="module")
def tiny64():
    """The tiny BERT in float64 with a sharpened head.

    Why: batched float32 inference pads shorter inputs, which moves probabilities by
    ~1e-7; a random tiny model's n-gram diffs are ~1e-3, and the normalisation divides
    by their sum, so float32 noise alone would exceed 1e-6. In float64, with diffs of a
    decisive head, the comparison tests the algorithm, not rounding.
    """
    import torch

    from rationales.models.tiny import tiny_classifier

    clf = tiny_classifier(label_names=("hate", "normal", "offensive"), seed=3)
    clf.model.double()
    with torch.no_grad():
        clf.model.classifier.weight.mul_(40.0)
    return clf


@pytest.mark.parametrize("fixture", ["planted3", "tiny64"])
@pytest.mark.parametrize("words", REFERENCE_TEXTS, ids=lambda w: " ".join(w)[:20])
def test_matches_the_naive_reference(fixture, words, request):
    classifier = request.getfixturevalue(fixture)
    clear_cache(classifier)
    exp = get_explainer("ngram").explain(classifier, Example("e", words))[0]
    clear_cache(classifier)   # the reference must really run the model again
    raw, scores = naive_xmutest(classifier, list(words))
    assert np.allclose(exp.info["xmutest_scores"], raw, atol=1e-6, rtol=0)
    assert np.allclose(exp.scores, scores, atol=1e-6, rtol=0)


def test_matches_the_naive_reference_in_float32_up_to_padding_noise(tiny):
    words = REFERENCE_TEXTS[0]
    clear_cache(tiny)
    exp = get_explainer("ngram").explain(tiny, Example("e", words))[0]
    clear_cache(tiny)
    raw, _ = naive_xmutest(tiny, list(words))
    assert np.allclose(exp.info["xmutest_scores"], raw, atol=1e-4, rtol=0)


def test_repeated_words_keep_separate_scores(planted3):
    words = ("go", "home", "go", "home", "you", "kill", "people")
    exp = get_explainer("ngram").explain(planted3, Example("e", words))[0]
    # "go" at 0 and 2 sit in different n-grams (position 0 is in 3, position 2 in 6)
    assert exp.scores[0] != pytest.approx(exp.scores[2])
    assert len(exp.scores) == len(words)


def test_all_ngrams_of_all_examples_are_one_engine_request(planted):
    calls = []
    original = planted.engine.run
    planted.engine.run = lambda keys: (calls.append(len(keys)), original(keys))[1]
    try:
        get_explainer("ngram").explain(planted, Example("e", tuple("abcdefghij")))
        assert calls == [1, 28]  # the default-target prediction; then the full text (a
        # cache hit) + 10 unigrams + 9 bigrams + 8 trigrams in ONE call
        calls.clear()
        three = [Example("x", tuple("abcdefghij")), Example("y", tuple("klmn")), Example("z", ("q",))]
        get_explainer("ngram").explain(planted, three)
        # one prediction call; then every example's rows together: 1+27, 1+4+3+2, 1+1
        assert calls == [3, 28 + 10 + 2]
    finally:
        del planted.engine.run


def test_forward_passes_are_shared_out_exactly_when_examples_are_batched(planted):
    planted.engine.clear_cache()
    before = planted.engine.stats["forward_passes"]
    exs = [Example("x", tuple("abcdefghij")), Example("y", tuple("klmn")), Example("x2", tuple("abcdefghij"))]
    got = [e.info["forward_passes"] for e in get_explainer("ngram").explain(planted, exs)]
    # the prediction ran the three full texts (x and x2 are one key) first, so each
    # example's own passes are its n-grams; x2's are all x's, counted once, for x
    assert got == [27, 4 + 3 + 2, 0]
    assert sum(got) + 2 == planted.engine.stats["forward_passes"] - before


def test_direction_planted_word_is_lowest_for_xmutest_and_highest_for_us(planted):
    """A model that keys on "kill": the n-grams containing it alone reproduce the full
    prediction (small diff), so X-MuTeST's value is lowest there, our score highest."""
    words = ("we", "should", "kill", "them", "all", "before", "they", "come", "back", "home", "again")
    exp = get_explainer("ngram").explain(planted, Example("e", words))[0]
    raw = np.array(exp.info["xmutest_scores"])
    assert int(raw.argmin()) == 2
    assert exp.ranking()[0] == 2
    # our order is X-MuTeST's ascending order exactly
    assert exp.ranking() == sorted(range(len(words)), key=lambda i: (raw[i], i))
    assert min(exp.scores) == 0.0
    # X-MuTeST's hard rule: more than 10 words → top 5, planted word included
    assert sum(exp.info["rationale"]) == 5 and exp.info["rationale"][2] == 1


def test_xmutest_hard_rationale_rule():
    assert _xmutest([0.3]) == [1]
    assert _xmutest([0.1, 0.5, 0.2]) == [0, 1, 0]              # ⌊3/2⌋ = 1
    assert _xmutest([0.1, 0.5, 0.2, 0.4]) == [0, 1, 0, 1]      # ⌊4/2⌋ = 2
    assert sum(_xmutest(list(range(11)))) == 5
    assert _xmutest([]) == []


def test_truncated_words_score_zero():
    from .planted import PlantedClassifier

    clf = PlantedClassifier(max_words=4)
    words = ("a", "b", "kill", "c", "d", "e")
    exp = get_explainer("ngram").explain(clf, Example("e", words))[0]
    assert exp.info["truncated_at"] == 4
    assert exp.scores[4:] == (0.0, 0.0)
    assert len(exp.info["xmutest_scores"]) == 4
    assert exp.ranking()[0] == 2


def _xmutest(scores):
    return apply_rule(scores, "xmutest")

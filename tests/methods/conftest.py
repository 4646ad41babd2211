"""Module-scoped classifiers for the explainer tests (built once, offline, in seconds)."""

from __future__ import annotations

import pytest

from .planted import PlantedClassifier


@pytest.fixture(scope="session")
def tiny():
    """A randomly initialised 2-layer BERT over the MiniLM tokenizer, three labels."""
    from rationales.models.tiny import tiny_classifier

    return tiny_classifier(label_names=("hate", "normal", "offensive"), seed=0, layers=2,
                           hidden=32, heads=2)


@pytest.fixture(scope="session")
def planted():
    return PlantedClassifier()


@pytest.fixture(scope="session")
def planted3():
    return PlantedClassifier(n_labels=3)


@pytest.fixture(scope="session")
def tfidf():
    """The tf-idf baseline fitted on a few synthetic posts in English, Hindi and Telugu."""
    from rationales.models.tfidf import TfidfClassifier
    from rationales.types import Example
    from rationales.words import segment

    posts = [
        ("they are vermin and should be killed", 0), ("kill them all, these animals", 0),
        ("what a lovely day in the park", 1), ("thanks for the kind words, friend", 1),
        ("shut up you stupid idiot", 2), ("what a dumb take, moron", 2),
        ("ये लोग देश के दुश्मन हैं, इन्हें मारो", 0), ("आज मौसम बहुत अच्छा है", 1),
        ("तुम बेवकूफ हो", 2), ("వాళ్ళు దేశానికి శత్రువులు, చంపేయండి", 0),
        ("ఈ రోజు చాలా బాగుంది", 1), ("నువ్వు మూర్ఖుడివి", 2),
    ]
    examples = [Example(str(i), tuple(segment(t)), label=y) for i, (t, y) in enumerate(posts)]
    return TfidfClassifier(("hate", "normal", "offensive")).fit(examples)

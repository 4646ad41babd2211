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

"""Fixtures for the service tests: a hand-computable classifier, a tiny transformer, a
small multilingual dataset with rationales, and clients over the app."""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Iterable

import numpy as np
import pytest

from rationales.models.base import Classifier, InputLike, as_examples
from rationales.types import Dataset, Example


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class KeywordClassifier(Classifier):
    """p(offensive) = sigmoid(bias + Σ weight of each present word): easy to compute by hand.

    ``delay`` seconds are slept in every model call (to test the time limit); ``started``
    counts the calls that began, ``calls`` those that finished.
    """

    label_names = ["normal", "offensive"]
    differentiable = False

    def __init__(self, weights: dict[str, float], bias: float = -1.0, delay: float = 0.0,
                 name: str = "keywords") -> None:
        self.weights, self.bias, self.delay, self.name = dict(weights), bias, delay, name
        self.calls = self.started = 0

    def _p(self, words: Iterable[str]) -> np.ndarray:
        p = sigmoid(self.bias + sum(self.weights.get(w.lower(), 0.0) for w in words))
        return np.array([1.0 - p, p])

    def _tick(self) -> None:
        self.started += 1
        if self.delay:
            time.sleep(self.delay)
        self.calls += 1

    def predict_proba(self, inputs: InputLike | Iterable[InputLike]) -> np.ndarray:
        self._tick()
        return np.stack([self._p(ex.words) for ex in as_examples(inputs)])

    def predict_proba_masked(self, example: Example, keep: np.ndarray, removal: str = "delete") -> np.ndarray:
        self._tick()
        keep = np.atleast_2d(np.asarray(keep, dtype=bool))
        return np.stack([self._p([w for w, k in zip(example.words, row) if k]) for row in keep])

    def save(self, directory: Any) -> Any:  # never saved: it lives only in tests
        raise NotImplementedError("KeywordClassifier is an in-memory test model")


WEIGHTS = {"stupid": 3.0, "idiot": 2.0, "मूर्ख": 3.0, "వెధవ": 3.0}


@pytest.fixture
def keyword_clf() -> KeywordClassifier:
    return KeywordClassifier(WEIGHTS)


@pytest.fixture(scope="session")
def tiny_clf() -> Classifier:
    from rationales.models.tiny import tiny_classifier

    return tiny_classifier(("normal", "offensive", "hatespeech"), seed=3)


# Posts in three scripts (and one right-to-left), with word-level rationales.
POSTS = [
    ("en1", ["you", "are", "a", "stupid", "idiot"], 2, [0, 0, 0, 1, 1], "en"),
    ("en2", ["have", "a", "nice", "day", "friend"], 0, None, "en"),
    ("en3", ["these", "people", "are", "vermin", "and", "should", "leave"], 2, [0, 0, 0, 1, 0, 1, 1], "en"),
    ("hi1", ["तुम", "बहुत", "मूर्ख", "हो"], 1, [0, 0, 1, 0], "hi"),
    ("hi2", ["आज", "मौसम", "अच्छा", "है"], 0, None, "hi"),
    ("te1", ["నువ్వు", "ఒక", "వెధవ", "వి"], 1, [0, 0, 1, 0], "te"),
    ("te2", ["ఈ", "రోజు", "బాగుంది"], 0, None, "te"),
    ("en4", ["go", "back", "to", "your", "country"], 2, [1, 1, 0, 0, 1], "en"),
    ("en5", ["what", "a", "lovely", "photo"], 0, None, "en"),
    ("en6", ["shut", "up", "you", "moron"], 1, [1, 1, 0, 1], "en"),
    ("ar1", ["أنت", "غبي", "جدا"], 1, [0, 1, 0], "ar"),
    ("en7", ["thanks", "for", "sharing"], 0, None, "en"),
]


@pytest.fixture(scope="session")
def small_dataset() -> Dataset:
    examples = [Example(id=i, words=w, label=y, rationale=r, lang=lang) for i, w, y, r, lang in POSTS]
    return Dataset(examples, ["normal", "offensive", "hatespeech"], name="toy", split="test")


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


__all__ = ["KeywordClassifier", "POSTS", "WEIGHTS", "sigmoid", "threading", "wait_until"]

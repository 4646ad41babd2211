"""Shared, module-built models for the models tests (built once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tokenizer():
    from rationales.models.tiny import minilm_tokenizer

    return minilm_tokenizer()


@pytest.fixture(scope="session")
def tiny(tokenizer):
    from rationales.models.tiny import tiny_classifier

    return tiny_classifier(label_names=("neg", "pos"), seed=0, tokenizer=tokenizer, max_length=32)


@pytest.fixture(scope="session")
def minilm():
    from rationales.models import load_classifier

    return load_classifier("minilm-en", label_names=["hatespeech", "normal", "offensive"])

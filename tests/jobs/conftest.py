"""Fixtures for the jobs tests: one tf-idf model and a corpus with bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import synthetic_posts, train_tfidf, write_jsonl


@pytest.fixture(scope="session")
def tfidf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tfidf(tmp_path_factory.mktemp("tfidf") / "model")


@pytest.fixture(scope="session")
def other_tfidf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same recipe with a different regularisation: a different model."""
    return train_tfidf(tmp_path_factory.mktemp("tfidf2") / "model", C=0.5)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 good posts plus, at known lines, one invalid JSON, one empty text and one BOOM post."""
    rows: list = synthetic_posts(40)
    rows.insert(5, '{"id": "broken", "words": [')          # line 6: not JSON
    rows.insert(12, {"id": "empty", "text": "   "})          # line 13: no words
    boom = {**rows[20], "id": "boom", "words": rows[20]["words"] + ["BOOM"]}
    rows.insert(20, boom)                                     # line 21: the explainer fails
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "posts.jsonl", rows)

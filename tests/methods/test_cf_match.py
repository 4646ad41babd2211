"""``cf_match``: the nearest pool post of another predicted label, and the words it lacks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rationales.errors import ParameterError
from rationales.methods import cf_match, get_explainer
from rationales.methods.cf_match import difference_scores, idf_table, load_pool, word_key
from rationales.models.base import as_examples

from .planted import Keyword

KW = Keyword()
POOL = ["you are a lovely friend", "you are an idiot", "the cat sat on the mat", "go away idiot"]


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RATIONALES_CACHE", str(tmp_path))
    monkeypatch.setattr(cf_match, "_EMBEDDED", {})
    return tmp_path


def test_a_tiny_pool_by_hand(own_cache: Path) -> None:
    exp = get_explainer("cf_match", pool=POOL).explain(KW, "you are an idiot !")[0]
    # target hate; the pool posts labelled otherwise: "you are a lovely friend", "the cat sat
    # on the mat"; the first is nearer in MiniLM's space ("you are a ...")
    m = exp.info["match"]
    assert m["text"] == "you are a lovely friend" and m["label"] == "normal" and m["rule"] == "other label"
    assert exp.info["candidates"] == 2 and exp.info["pool_size"] == 4 and 0 < m["similarity"] <= 1
    # idf over the 4 pool posts: an (df 1) ln(5/2)+1; idiot, you, are (df 2) ln(5/3)+1
    idf_an, idf_2 = math.log(5 / 2) + 1, math.log(5 / 3) + 1
    # "you", "are" are in the match: 0; "an", "idiot" are not: idf / the post's largest (an's);
    # "!" is punctuation: 0. "you are an idiot !" itself is not in the pool (its own words excluded)
    assert exp.scores == pytest.approx((0, 0, 1, idf_2 / idf_an, 0))
    assert exp.info["rationale"] == [0, 0, 1, 1, 0] and exp.failed is None
    assert exp.info["probs"] == pytest.approx([0.1, 0.9])
    # a post of the pool itself never matches itself
    again = get_explainer("cf_match", pool=POOL).explain(KW, "you are an idiot")[0]
    assert again.info["match"]["text"] != "you are an idiot"


def test_pool_embeddings_are_cached_on_disk_and_reused(own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    get_explainer("cf_match", pool=POOL).explain(KW, "go away you idiot")
    files = list((own_cache / "cf_match").glob("minilm-en-*.npy"))
    assert len(files) == 1 and np.load(files[0]).shape == (4, 384)
    monkeypatch.setattr(cf_match, "_EMBEDDED", {})
    real = cf_match.embed

    def only_queries(backbone: str, texts: Any, batch: int = 64) -> np.ndarray:
        assert len(texts) == 1, "the pool must come from the disk cache"
        return real(backbone, texts, batch)

    monkeypatch.setattr(cf_match, "embed", only_queries)
    exp = get_explainer("cf_match", pool=POOL).explain(KW, "go away you idiot")[0]
    assert exp.failed is None


def test_without_another_label_it_falls_back_to_less_target_like_posts_then_any() -> None:
    class Graded(Keyword):
        """Always 'hate', with p(hate) = 0.5 + 0.01 * number of words."""

        def predict_proba(self, inputs: Any) -> np.ndarray:
            return np.asarray([[0.5 - 0.01 * len(ex.words), 0.5 + 0.01 * len(ex.words)] for ex in as_examples(inputs)])

    exp = get_explainer("cf_match", pool=POOL).explain(Graded(), "go away you stupid idiot")[0]
    assert exp.info["match"]["rule"] == "lower p(target)" and exp.info["candidates"] == 2  # the 4- and 3-word posts
    short = get_explainer("cf_match", pool=POOL).explain(Graded(), "idiot")[0]
    assert short.info["match"]["rule"] == "nearest" and short.failed is None
    alone = get_explainer("cf_match", pool=["idiot"]).explain(Graded(), "idiot")[0]
    assert alone.failed == "the pool holds no post other than this one; use a larger pool"


def test_difference_scores_and_idf_by_hand() -> None:
    pool = load_pool(["a b", "b c", "b"], None)
    idf, unseen = idf_table(pool)
    assert idf["b"] == pytest.approx(1.0) and idf["a"] == pytest.approx(math.log(4 / 2) + 1)
    assert unseen == pytest.approx(math.log(4) + 1)
    scores = difference_scores(["A", "b", "z", ","], ["b"], idf, unseen)
    assert scores.tolist() == pytest.approx([(math.log(2) + 1) / (math.log(4) + 1), 0, 1, 0])
    assert word_key("Don't!") == "dont" and word_key("...") == ""


def test_pool_from_a_dataset_spec(tmp_path: Path) -> None:
    path = tmp_path / "pool.jsonl"
    path.write_text('{"text": "you are a lovely friend", "label": "normal"}\n'
                    '{"text": "you idiot", "label": "hate"}\n', encoding="utf-8")
    exp = get_explainer("cf_match", pool=str(path)).explain(KW, "you are an idiot")[0]
    assert exp.info["match"]["text"] == "you are a lovely friend" and exp.params["pool"] == str(path)


def test_bad_parameters_are_clear_errors() -> None:
    with pytest.raises(ParameterError, match="cf_match needs pool="):
        get_explainer("cf_match")
    with pytest.raises(ParameterError, match="backbone must be one of minilm-en, e5-multilingual"):
        get_explainer("cf_match", pool=POOL, backbone="bert")
    with pytest.raises(ParameterError, match="pool_limit must be >= 1"):
        get_explainer("cf_match", pool=POOL, pool_limit=0)
    with pytest.raises(ParameterError, match="holds no post with words"):
        get_explainer("cf_match", pool=["", " "]).explain(KW, "hello")

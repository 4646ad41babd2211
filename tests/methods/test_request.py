"""The one request path: every front door's checks, written once in methods/request.py."""

from __future__ import annotations

import numpy as np
import pytest

import rationales as rx
from rationales.errors import InputError, ModelError, ParameterError, RationalesError, UnknownNameError
from rationales.methods import get_explainer
from rationales.methods.request import check_request, parse_methods, resolve_targets, target_id, usable

TEXTS = ["they should kill them all", "what a lovely day", "kill it", "a b c d e f g"]


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_an_empty_text_is_a_rationales_error(planted, text):
    with pytest.raises(InputError, match="has no words: there is nothing to explain") as info:
        rx.explain(planted, [text], methods=["occlusion"])
    assert isinstance(info.value, RationalesError) and isinstance(info.value, ValueError)


def test_unknown_method_names_the_closest_and_every_known_one():
    with pytest.raises(ParameterError, match="unknown method 'ngarm'. Did you mean 'ngram'\\? Known: .*occlusion"):
        parse_methods("occlusion, ngarm")
    assert parse_methods(" ngram,occlusion,ngram ,") == ["ngram", "occlusion"]
    with pytest.raises(ParameterError, match="no method given"):
        parse_methods(" , ")


def test_parameters_are_checked_before_any_model_work(planted):
    with pytest.raises(ParameterError, match=r"not asked for: \['occlusion'\]"):
        check_request(planted, ["occlusion"], {"lime": {"n_samples": 10}})
    with pytest.raises(ParameterError, match="unknown parameter.*n_sampels") as info:
        check_request(planted, ["lime"], {"lime": {"n_sampels": 10}})
    assert isinstance(info.value, TypeError)  # what an unknown keyword raised before


def test_capabilities_are_checked_at_the_door(tfidf, tiny):
    for method in ("attention", "gradient", "integrated_gradients"):
        assert not usable(method, tfidf) and usable(method, tiny)
        with pytest.raises(ModelError, match=f"'{method}' needs .* has none"):
            check_request(tfidf, [method])
    assert usable("occlusion", tfidf)


def test_targets_by_id_name_and_digit_string(planted3):
    names = planted3.label_names
    assert target_id(planted3, names[2]) == 2 and target_id(planted3, "1") == 1 and target_id(planted3, 0) == 0
    for bad, msg in [(3, "out of range"), ("nope", "unknown target label"), (True, "label id or name")]:
        with pytest.raises(ParameterError, match=msg):
            target_id(planted3, bad)
    exs = rx.methods.as_examples(TEXTS[:2])
    with pytest.raises(ParameterError, match="3 targets for 2 examples"):
        resolve_targets(planted3, exs, [0, 1, 2])
    assert resolve_targets(planted3, exs, None) == [int(p) for p in planted3.predict(exs)]


def test_explain_in_chunks_equals_each_explainer_on_everything(planted):
    """rx.explain sends examples to each explainer ``chunk`` at a time; the result is the same."""
    seen = []
    got = rx.explain(planted, TEXTS, methods="ngram,occlusion", chunk=3,
                     progress=lambda done, total: seen.append((done, total)))
    assert [(e.example_id, e.method) for e in got] == [
        (str(i), m) for i in range(len(TEXTS)) for m in ("ngram", "occlusion")]
    assert seen == [(3, 8), (6, 8), (7, 8), (8, 8)]    # after each chunk × method
    for m in ("ngram", "occlusion"):
        direct = get_explainer(m).explain(planted, TEXTS)
        mine = [e for e in got if e.method == m]
        for a, b in zip(direct, mine):
            np.testing.assert_allclose(a.scores, b.scores, atol=1e-9)
    with pytest.raises(ParameterError, match="chunk must be at least 1"):
        rx.explain(planted, TEXTS, methods="ngram", chunk=0)


def test_registry_miss_is_an_unknown_name_error():
    with pytest.raises(UnknownNameError, match="Did you mean 'lime'") as info:
        get_explainer("lim")
    assert isinstance(info.value, KeyError) and "'" not in str(info.value)[:1]


def test_a_word_with_bytes_that_are_not_utf8_is_explained_by_a_transformer(tiny):
    """The tokenizer sees U+FFFD for the bad byte; the explanation keeps the word as given."""
    exp = rx.explain(tiny, ["caf\udce9 au lait"], methods="occlusion")[0]
    assert exp.words == ("caf\udce9", "au", "lait") and len(exp.scores) == 3

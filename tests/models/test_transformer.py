"""TransformerClassifier: ids built from words once, engine = plain model call, save/load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rationales.errors import ModelError, OfflineError
from rationales.types import Example

EX = Example("e1", ("Hello", "world!", "xyzzyq", "the"))


def test_encoding_maps_every_subword_to_its_word(tiny):
    enc = tiny.encode(EX)
    # hand-checked against the MiniLM vocabulary: [CLS] hello world ! x ##y ##zzy ##q the [SEP]
    assert enc.input_ids == (101, 7592, 2088, 999, 1060, 2100, 28753, 4160, 1996, 102)
    assert enc.word_index == (-1, 0, 1, 1, 2, 2, 2, 2, 3, -1)
    assert enc.n_words_used == 4 and not enc.truncated
    assert tiny.encode(EX) is enc  # tokenised once


def test_delete_and_mask_ids(tiny):
    keep = [True, False, True, False]
    assert tiny.ids_for(EX, keep, "delete") == (101, 7592, 1060, 2100, 28753, 4160, 102)
    assert tiny.ids_for(EX, keep, "mask") == (101, 7592, 103, 103, 1060, 2100, 28753, 4160, 103, 102)
    assert tiny.ids_for(EX, [False] * 4, "delete") == (101, 102)
    with pytest.raises(ValueError, match="removal"):
        tiny.ids_for(EX, keep, "drop")
    with pytest.raises(ValueError, match="4 words"):
        tiny.ids_for(EX, [True, True], "delete")


def test_engine_matches_a_plain_model_call(tiny):
    tiny.engine.clear_cache()
    rng = np.random.default_rng(0)
    keep = rng.random((12, 4)) < 0.6
    got = tiny.predict_proba_masked(EX, keep, "delete")  # padded, batched, sorted
    for row, k in zip(got, keep):
        ids = torch.tensor([tiny.ids_for(EX, k, "delete")])
        with torch.no_grad():
            plain = tiny.model(input_ids=ids).logits.softmax(-1)[0].numpy()
        np.testing.assert_allclose(row, plain, atol=1e-5)
    assert got.shape == (12, 2)
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-6)


def test_masked_requests_are_deduplicated_and_cached(tiny):
    tiny.engine.clear_cache()
    tiny.engine.reset_stats()
    keep = np.array([[1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 1, 1], [1, 0, 1, 1]], bool)
    first = tiny.predict_proba_masked(EX, keep, "mask")
    assert tiny.engine.stats["forward_passes"] == 2 and tiny.engine.stats["cache_hits"] == 2
    again = tiny.predict_proba([EX])  # the full input was already asked for
    np.testing.assert_array_equal(again[0], first[0])
    assert tiny.engine.stats["forward_passes"] == 2 and tiny.engine.stats["cache_hits"] == 3


def test_masked_requests_of_many_examples_go_in_one_engine_call(tiny):
    other = Example("e2", ("the", "world"))
    keep1 = np.array([[1, 1, 1, 1], [1, 0, 1, 1], [0, 0, 0, 0]], bool)
    keep2 = np.array([[1, 1], [0, 1]], bool)
    tiny.engine.clear_cache()
    one_by_one = [tiny.predict_proba_masked(EX, keep1, "mask"), tiny.predict_proba_masked(other, keep2, "mask")]
    tiny.engine.clear_cache()
    tiny.engine.reset_stats()
    many = tiny.predict_proba_masked_many([(EX, keep1), (other, np.zeros((0, 2), bool)), (other, keep2)], "mask")
    assert [m.shape for m in many] == [(3, 2), (0, 2), (2, 2)]
    np.testing.assert_allclose(many[0], one_by_one[0], atol=1e-6)
    np.testing.assert_allclose(many[2], one_by_one[1], atol=1e-6)
    # five inputs, all short: one batch for both examples
    assert tiny.engine.stats["requests"] == 5 and tiny.engine.stats["batches"] == 1
    assert tiny.predict_proba_masked_many([], "delete") == []


def test_long_text_is_truncated_by_whole_words(tiny):
    words = tuple(["hello", "xyzzyq"] * 40)  # 1 + 4 ids per pair-> far over 32
    ex = Example("long", words)
    enc = tiny.encode(ex)
    assert len(enc.input_ids) <= tiny.max_length == 32
    assert enc.truncated and enc.n_words_used < len(words)
    used = set(w for w in enc.word_index if w >= 0)
    assert used == set(range(enc.n_words_used))  # whole words only, from the start
    assert tiny.n_words_used(ex) == enc.n_words_used
    probs = tiny.predict_proba_masked(ex, np.ones((2, len(words)), bool), "delete")
    assert probs.shape == (2, 2)


def test_empty_example_classifies(tiny):
    assert tiny.predict_proba([Example("empty", ())]).shape == (1, 2)


def test_attentions_and_embeddings(tiny):
    att = tiny.attentions(EX)
    assert att.shape == (2, 2, 10, 10)
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-5)
    ids = torch.tensor([tiny.encode(EX).input_ids])
    emb = tiny.embeddings()(ids).detach().requires_grad_(True)
    probs = tiny.forward_from_embeddings(emb, torch.ones_like(ids))
    probs[0, 1].backward()
    assert emb.grad is not None and emb.grad.abs().sum() > 0
    np.testing.assert_allclose(probs.detach().numpy(), tiny.predict_proba([EX]), atol=1e-5)


def test_save_load_round_trip(tiny, tmp_path):
    from rationales.models import load_classifier

    tiny.train_config = {"epochs": 1}
    tiny.metrics = {"macro_f1": 0.5}
    tiny.save(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").is_file()
    back = load_classifier(tmp_path / "m")
    assert back.label_names == ["neg", "pos"] and back.backbone == "tiny-bert"
    assert back.train_config == {"epochs": 1} and back.metrics == {"macro_f1": 0.5}
    np.testing.assert_allclose(back.predict_proba([EX]), tiny.predict_proba([EX]), atol=1e-6)


def test_minilm_backbone_classifies_offline(minilm):
    assert minilm.label_names == ["hatespeech", "normal", "offensive"]
    probs = minilm.predict_proba([EX, Example("e2", ("you", "are", "kind"))])
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)


def test_unknown_hub_id_fails_fast_offline(monkeypatch):
    from rationales.models import load_classifier

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="bert-base-uncased"):
        load_classifier("bert-base-uncased")
    with pytest.raises(ModelError, match="does not exist"):
        load_classifier("./no/such/folder")

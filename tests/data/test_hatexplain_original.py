"""HateXplain's original Data/dataset.json + post_id_divisions.json (a small fixture)."""

from __future__ import annotations

import json

import pytest

from rationales.data import load_dataset
from rationales.errors import DataError


@pytest.fixture()
def hx_dir(fixtures_dir):
    return fixtures_dir / "data"


def test_splits_come_from_the_divisions_and_no_majority_posts_are_excluded(hx_dir):
    ds = load_dataset("hatexplain", "test", data_dir=hx_dir)
    assert [ex.id for ex in ds] == ["hx_001_gab", "hx_002_twitter"]
    assert ds.report["no_majority_excluded"] == 1  # hx_003: offensive/normal/hatespeech
    assert [ds.label_names[ex.label] for ex in ds] == ["hatespeech", "normal"]
    assert [ex.id for ex in load_dataset("hatexplain", "val", data_dir=hx_dir)] == ["hx_004_twitter"]
    assert [ex.id for ex in load_dataset("hatexplain", "train", data_dir=hx_dir)] == ["hx_005_gab"]


def test_union_and_majority_rationales(hx_dir):
    ex = load_dataset("hatexplain", "test", data_dir=hx_dir)[0]
    # masks: [0,0,1,1,0,0] [0,0,0,1,1,0] [0,0,0,1,0,0]
    assert ex.rationale == (0, 0, 1, 1, 1, 0)
    assert ex.rationale_words == ["filthy", "invaders", "back"]
    maj = load_dataset("hatexplain", "test", data_dir=hx_dir, rationale="majority")[0]
    assert maj.rationale == (0, 0, 0, 1, 0, 0)
    assert ex.meta["annotator_labels"] == ["hatespeech", "hatespeech", "offensive"]
    assert ex.meta["annotator_ids"] == [11, 12, 13]
    assert ex.meta["targets"][1] == ["Refugee", "Other"]
    assert ex.meta["source"] == "dataset.json"


def test_posts_without_masks_have_no_rationale(hx_dir):
    ex = load_dataset("hatexplain", "test", data_dir=hx_dir)[1]
    assert ex.id == "hx_002_twitter" and ex.rationale is None


def test_no_majority_can_be_kept_and_binary_labels(hx_dir):
    ds = load_dataset("hatexplain", "test", data_dir=hx_dir, no_majority="keep", labels="binary")
    assert ds.label_names == ["normal", "toxic"]
    assert [ex.label for ex in ds] == [1, 0, None]
    assert ds[2].meta["no_majority"] is True
    assert ds.report["no_majority_kept"] == 1


def test_all_posts_without_split(hx_dir):
    ds = load_dataset("hatexplain", data_dir=hx_dir)
    assert len(ds) == 4 and ds.report["no_majority_excluded"] == 1


def test_bad_rationale_length_names_the_post(tmp_path, hx_dir):
    folder = tmp_path / "hatexplain"
    folder.mkdir()
    data = json.loads((hx_dir / "hatexplain" / "dataset.json").read_text())
    data["hx_004_twitter"]["rationales"][1] = [0, 1]
    (folder / "dataset.json").write_text(json.dumps(data))
    (folder / "post_id_divisions.json").write_text(
        (hx_dir / "hatexplain" / "post_id_divisions.json").read_text())
    with pytest.raises(DataError, match=r"hx_004_twitter.*2 rationale values for 4 words"):
        load_dataset("hatexplain", "val", data_dir=tmp_path)
    ds = load_dataset("hatexplain", "val", data_dir=tmp_path, on_error="skip")
    assert len(ds) == 0
    assert ds.report["skipped_by_reason"] == {"rationale length != words": 1}


def test_jsonl_export_errors_name_file_line_and_field(tmp_path):
    folder = tmp_path / "hatexplain"
    folder.mkdir()
    good = {"id": "a", "annotators": {"label": [1, 1, 0], "annotator_id": [1, 2, 3],
                                      "target": [["None"], ["None"], ["Women"]]},
            "rationales": [], "post_tokens": ["hello", "there"]}
    unknown = {**good, "id": "b", "annotators": {**good["annotators"], "label": [7, 7, 7]}}
    empty = {**good, "id": "c", "post_tokens": []}
    lines = [json.dumps(good).encode(), json.dumps(unknown).encode(), json.dumps(empty).encode(),
             b'{"id": "d", "post_tokens": ["caf\xe9"]}']
    (folder / "hatexplain_test.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match=r"hatexplain_test.jsonl line 2, field 'label'.*unknown label 7"):
        load_dataset("hatexplain", "test", data_dir=tmp_path)
    ds = load_dataset("hatexplain", "test", data_dir=tmp_path, on_error="skip")
    assert [ex.id for ex in ds] == ["a"]
    assert ds.report["skipped"] == 3
    assert ds.report["skipped_by_reason"] == {"unknown label": 1, "empty text": 1,
                                              "invalid UTF-8": 1}
    assert any("line 4" in m for m in ds.report["skipped_examples"])

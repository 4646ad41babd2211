"""X-MuTeST CSVs in the published shapes (fixtures written for these tests)."""

from __future__ import annotations

import csv

import pytest
from sklearn.model_selection import train_test_split

from rationales.data import load_dataset
from rationales.errors import DataError, DataNotFoundError


def test_english_paper_split_is_sklearns_split_in_file_order(fixtures_dir):
    train = load_dataset("xmutest", "train", data_dir=fixtures_dir, lang="en")
    test = load_dataset("xmutest", "test", data_dir=fixtures_dir, lang="en")
    tr, te = train_test_split(list(range(8)), test_size=0.15, random_state=42)
    assert len(train) == 6 and len(test) == 2  # ceil(0.15 * 8) = 2 test rows
    assert [ex.id for ex in test] == [f"en-{k}" for k in sorted(te)]
    assert [ex.id for ex in train] == [f"en-{k}" for k in sorted(tr)]
    assert "train_test_split" in test.report["split_method"]
    assert load_dataset("xmutest", "paper-test", data_dir=fixtures_dir).split == "test"


def test_english_rows(fixtures_dir):
    ds = load_dataset("xmutest", data_dir=fixtures_dir, lang="en")
    assert ds.label_names == ["normal", "hate"]
    ex = ds[0]
    assert ex.words == ("you", "are", "a", "total", "idiot", "go", "away")
    assert ex.rationale_words == ["idiot", "away"] and ex.label == 1 and ex.lang == "en"
    assert ex.meta["text"] == "You are a total idiot, go away!"
    assert ds[1].label == 0 and ds[1].rationale == (0,) * 8


def test_telugu_train_no_hateful_tokens_becomes_all_zero_and_is_counted(fixtures_dir):
    ds = load_dataset("xmutest", "train", data_dir=fixtures_dir, lang="te")
    assert [ex.id for ex in ds] == ["te-train-0", "te-train-1", "te-train-2", "te-train-3"]
    assert ds[0].words == ("నువ్వు", "పెద్ద", "మూర్ఖుడివి")
    assert ds[0].rationale_words == ["మూర్ఖుడివి"] and ds[0].lang == "te"
    assert ds[1].rationale == (0, 0, 0, 0, 0) and ds[3].rationale == (0, 0, 0, 0)
    assert ds.report["normalised"] == {"train: rationale 'no hateful tokens' -> all zeros": 2}
    assert ds.report["split_method"] == "files"


def test_telugu_test_short_zero_rationales_are_normalised_and_counted(fixtures_dir):
    ds = load_dataset("xmutest", "test", data_dir=fixtures_dir, lang="te")
    assert [len(ex.rationale) for ex in ds] == [6, 3, 5]
    assert ds[0].rationale == (0,) * 6 and ds[1].rationale == (1, 1, 1)
    assert ds[2].meta["index"] == "2"
    (key, n), = ds.report["normalised"].items()
    assert n == 2 and "wrong length" in key


def test_hindi_columns_are_found_by_name(fixtures_dir):
    ds = load_dataset("xmutest", data_dir=fixtures_dir, lang="hi")
    assert len(ds) == 5 and ds[0].lang == "hi"
    assert ds[2].rationale_words == ["गद्दार", "निकालो"]
    assert ds.label_counts() == {"normal": 2, "hate": 3}


def _write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_ambiguous_columns_fail_clearly_and_can_be_chosen(tmp_path):
    p = tmp_path / "hi.csv"
    _write(p, ["text", "text_hindi", "label", "tokens", "rationale"],
           [["a", "तुम बेवकूफ", 1, "['तुम', 'बेवकूफ']", "[0, 1]"]])
    with pytest.raises(DataError, match=r"hi.csv line 1: ambiguous text column.*text_column="):
        load_dataset("xmutest", path=p, lang="hi")
    ds = load_dataset("xmutest", path=p, lang="hi", text_column="text_hindi")
    assert ds[0].meta["text"] == "तुम बेवकूफ"


def test_a_hate_row_with_a_wrong_length_rationale_is_an_error(tmp_path):
    p = tmp_path / "en.csv"
    _write(p, ["text_english", "label", "tokens", "rationale"],
           [["go away", 1, "['go', 'away']", "[1, 1, 0]"], ["hi there", 2, "['hi', 'there']", "[0, 0]"]])
    with pytest.raises(DataError, match=r"en.csv line 2, field 'rationale': 3 rationale values for 2 words"):
        load_dataset("xmutest", path=p)
    ds = load_dataset("xmutest", path=p, on_error="skip")
    assert len(ds) == 0
    assert ds.report["skipped_by_reason"] == {"rationale length != words": 1, "unknown label": 1}


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"xmutest/te.*authors"):
        load_dataset("xmutest", data_dir=tmp_path, lang="te")

"""X-MuTeST CSVs in the published shapes (fixtures written for these tests)."""

from __future__ import annotations

import csv
import json

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


# -- the published files' quirks (tests/fixtures/xmutest/quirks/xmutest/<lang>/) ------------
# Written for these tests in the published shapes, with each quirk the issue measured on the
# real files: Telugu train notes on label-0 rows (empty cells, "no hateful tokens", "no
# context", the two sarcasm notes), Telugu test all-zero lists of the wrong length on label-0
# rows, and the English retweet made only of hashtags whose tokens are [] and cleaned text "".
# Hindi (not public) has every quirk, in the Telugu shape with its own column names.

NOTES = {
    "train: empty rationale -> all zeros": 12,
    "train: rationale 'no hateful tokens' -> all zeros": 4,
    "train: rationale 'no context' -> all zeros": 2,
    "train: rationale 'no hateful tokens but may be sarcastic' -> all zeros": 1,
    "train: rationale 'no hateful tokens but sarcasm' -> all zeros": 1,
}
SHORT_ZEROS = {"test: all-zero rationale of the wrong length on a non-hate row -> all zeros of the right length": 8}


@pytest.fixture(scope="module")
def quirks(fixtures_dir):
    return fixtures_dir / "xmutest" / "quirks"


def test_telugu_train_notes_on_normal_rows_become_all_zero_masks_counted_by_reason(quirks):
    ds = load_dataset("xmutest", "train", data_dir=quirks, lang="te")
    assert len(ds) == 30 and ds.label_counts() == {"normal": 20, "hate": 10}  # every row loads
    assert ds.report["normalised"] == NOTES and ds.report["skipped"] == 0
    normal = [ex for ex in ds if ex.label == 0]
    assert all(ex.rationale == (0,) * len(ex.words) for ex in normal)
    notes = [ex.meta.get("rationale_note") for ex in normal]
    assert notes.count(None) == 12 and notes.count("no context") == 2
    assert "no hateful tokens but may be sarcastic" in notes and "no hateful tokens but sarcasm" in notes
    assert all(sum(ex.rationale) >= 1 for ex in ds if ex.label == 1)
    assert {ex.meta["source"] for ex in ds} == {"Telugu Dataset Train.csv"}


def test_a_note_on_a_hate_row_is_an_error_naming_file_line_and_field(tmp_path):
    p = tmp_path / "te_train.csv"
    _write(p, ["text", "label", "rationale", "tokens"],
           [["ఈ రోజు బాగుంది", 0, "no context", "['ఈ', 'రోజు', 'బాగుంది']"],
            ["నోరు మూసుకో వెధవ", 1, "no context", "['నోరు', 'మూసుకో', 'వెధవ']"]])
    with pytest.raises(DataError, match=r"te_train.csv line 3, field 'rationale': rationale 'no context' "
                                        r"is not a list.*non-hate \(label 0\) row"):
        load_dataset("xmutest", path=p, lang="te")
    ds = load_dataset("xmutest", path=p, lang="te", on_error="skip")
    assert len(ds) == 1 and ds[0].meta["rationale_note"] == "no context"
    assert ds.report["skipped_by_reason"] == {"note instead of a rationale on a hate row": 1}


def test_english_row_without_tokens_is_skipped_and_the_paper_split_counts_it(quirks):
    train = load_dataset("xmutest", "train", data_dir=quirks, lang="en")
    test = load_dataset("xmutest", "test", data_dir=quirks, lang="en")
    tr, te = train_test_split(list(range(40)), test_size=0.15, random_state=42)
    assert 25 in tr  # the retweet (row 25, file line 27) falls in train, as line 3877 does
    assert [ex.id for ex in test] == [f"en-{k}" for k in sorted(te)]
    assert [ex.id for ex in train] == [f"en-{k}" for k in sorted(tr) if k != 25]
    assert (len(train), len(test)) == (33, 6)
    assert train.report["skipped"] == 1 and train.report["skipped_by_reason"] == {"empty text (no tokens)": 1}
    assert train.report["rows_without_tokens"] == ["xmutest_english.csv line 27"]
    assert "line 27, field 'tokens'" in train.report["skipped_examples"][0]
    assert test.report["skipped"] == 0 and "rows_without_tokens" not in test.report
    with pytest.raises(DataError, match=r"xmutest_english.csv line 27, field 'tokens': empty text"):
        load_dataset("xmutest", "train", data_dir=quirks, lang="en", empty_rows="error")


def test_telugu_test_short_zero_lists_are_kept_normalised_and_its_empty_row_skipped(quirks):
    ds = load_dataset("xmutest", "test", data_dir=quirks, lang="te")
    assert len(ds) == 20 and ds.label_counts() == {"normal": 12, "hate": 8}
    assert ds.report["normalised"] == SHORT_ZEROS
    assert ds.report["rows_without_tokens"] == ["Telugu Dataset Test.csv line 14"]
    assert all(len(ex.rationale) == len(ex.words) for ex in ds)
    assert [ex.meta["index"] for ex in ds][:3] == ["0", "1", "2"]


def test_hindi_has_every_quirk_and_its_columns_are_found_by_name(quirks):
    train = load_dataset("xmutest", "train", data_dir=quirks, lang="hi")
    test = load_dataset("xmutest", "test", data_dir=quirks, lang="hi")
    assert len(train) == 30 and train.report["normalised"] == NOTES
    assert train.report["rows_without_tokens"] == ["hindi_train.csv line 22"]
    assert len(test) == 20 and test.report["normalised"] == SHORT_ZEROS
    assert train[1].lang == "hi" and train[1].rationale_words == ["बेवकूफ"]
    assert train[1].meta["text"] == "तुम बहुत बेवकूफ हो"


def test_data_stats_loads_every_telugu_row_and_reports_the_reasons(quirks):
    from typer.testing import CliRunner

    from rationales.cli import app

    res = CliRunner().invoke(app, ["data", "stats", "xmutest:train", "-o", "lang=te", "--data-dir", str(quirks),
                                   "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["examples"] == 30 and s["report"]["normalised"] == NOTES

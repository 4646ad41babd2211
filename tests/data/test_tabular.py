"""A user's own CSV / JSONL files: formats, label handling and errors with file/line/field."""

from __future__ import annotations

import json

import pytest

from rationales.data import load_dataset, load_spec
from rationales.errors import DataError


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_csv_mask_rationales_over_segmented_text(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text('id,text,label,rationale\n'
                 'a,"you are a clown!",offensive,"[0, 0, 0, 1, 0]"\n'
                 'b,nice day,normal,\n', encoding="utf-8")
    ds = load_spec(str(p), id_column="id", label_names=["normal", "offensive"])
    assert [ex.id for ex in ds] == ["a", "b"]
    assert ds[0].words == ("you", "are", "a", "clown", "!")
    assert ds[0].rationale_words == ["clown"] and ds[0].label == 1
    assert ds[1].rationale is None and ds[1].label == 0
    assert ds.name == "mine" and ds[0].meta["source"] == "mine.csv"


def test_jsonl_indices_and_spans(tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl", [
        {"text": "तुम बहुत बेवकूफ हो", "label": 1, "rationale": [2]},
        {"text": "నువ్వు మూర్ఖుడివి", "label": 1, "rationale": [3]},
    ])
    ds = load_dataset("jsonl", path=p, rationale_format="indices", on_error="skip")
    assert len(ds) == 1 and ds[0].rationale_words == ["बेवकूफ"] and ds[0].lang == "hi"
    assert ds.report["skipped_by_reason"] == {"rationale index out of range": 1}
    assert ds.label_names == ["0", "1"]

    p2 = write_jsonl(tmp_path / "s.jsonl", [
        {"text": "what a stupid idea", "label": "toxic", "rationale": [[7, 13]]},
        {"text": "నువ్వు మూర్ఖుడివి", "label": "toxic", "rationale": [8, 9]},
    ])
    ds2 = load_dataset("jsonl", path=p2, rationale_format="spans", lang="en")
    assert ds2[0].rationale_words == ["stupid"] and ds2[0].lang == "en"
    assert ds2[1].rationale_words == ["మూర్ఖుడివి"]
    assert ds2.label_names == ["toxic"]


def test_words_column(tmp_path):
    p = write_jsonl(tmp_path / "w.jsonl", [{"words": ["a", "b", "c"], "label": 0,
                                            "rationale": [0, 1, 0]}])
    ds = load_dataset("jsonl", path=p, words_column="words")
    assert ds[0].words == ("a", "b", "c") and ds[0].rationale == (0, 1, 0)


def test_invalid_utf8_in_csv_names_line_and_field(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b'text,label\nfine text,0\n"caf\xe9\nsecond line",1\nlast one,1\n')
    with pytest.raises(DataError, match=r"bad.csv line 3, field 'text': invalid UTF-8"):
        load_dataset("csv", path=p)
    ds = load_dataset("csv", path=p, on_error="skip")
    # the bad row spans lines 3-4; the next row is still read, ids keep their positions
    assert [ex.id for ex in ds] == ["0", "2"]
    assert ds.report["skipped_by_reason"] == {"invalid UTF-8": 1}


def test_invalid_utf8_in_jsonl(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"text": "ok", "label": 0}\n{"text": "caf\xe9", "label": 1}\n')
    with pytest.raises(DataError, match=r"bad.jsonl line 2: invalid UTF-8"):
        load_dataset("jsonl", path=p)


def test_rationale_longer_or_shorter_than_words(tmp_path):
    p = write_jsonl(tmp_path / "r.jsonl", [
        {"text": "one two three", "label": 0, "rationale": [0, 1]},
        {"text": "one two three", "label": 0, "rationale": [0, 1, 0, 0]},
        {"text": "one two three", "label": 0, "rationale": [0, 1, 0]},
    ])
    with pytest.raises(DataError, match=r"r.jsonl line 1, field 'rationale': 2 rationale values for 3 words"):
        load_dataset("jsonl", path=p)
    ds = load_dataset("jsonl", path=p, on_error="skip")
    assert [ex.id for ex in ds] == ["2"]
    assert ds.report["skipped"] == 2
    assert ds.report["skipped_by_reason"] == {"rationale length != words": 2}


def test_empty_text(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("text,label\nhello,0\n  ,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"e.csv line 3, field 'text': empty text"):
        load_dataset("csv", path=p)


def test_unknown_label(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("text,label\nhello,pos\nbye,meh\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"l.csv line 3, field 'label': unknown label 'meh'"):
        load_dataset("csv", path=p, label_names=["neg", "pos"])
    ds = load_dataset("csv", path=p, label_names=["neg", "pos"], on_error="skip")
    assert len(ds) == 1 and ds.report["skipped_by_reason"] == {"unknown label": 1}


def test_missing_column_and_bad_option(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("body,label\nhello,0\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column 'text'.*\['body', 'label'\]"):
        load_dataset("csv", path=p)
    assert load_dataset("csv", path=p, text_column="body")[0].words == ("hello",)
    with pytest.raises(ValueError, match="no option 'colour'"):
        load_dataset("csv", path=p, colour="red")
    with pytest.raises(ValueError, match="on_error"):
        load_dataset("csv", path=p, text_column="body", on_error="ignore")


def test_duplicate_ids(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("id,text\nx,a\nx,b\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate id 'x'"):
        load_dataset("csv", path=p, id_column="id")


def test_round_trip_to_dict(tmp_path):
    from rationales.types import Dataset

    p = write_jsonl(tmp_path / "t.jsonl", [{"text": "a b", "label": 1, "rationale": [1, 0]}])
    ds = load_dataset("jsonl", path=p)
    again = Dataset.from_dict(json.loads(json.dumps(ds.to_dict())))
    assert again.examples == ds.examples and again.label_names == ds.label_names


@pytest.mark.parametrize("name, content, what", [
    ("empty.jsonl", "", "no JSON lines"),
    ("blank.jsonl", "\n  \n", "no JSON lines"),
    ("header.csv", "text,label\n", "only a header row"),
])
def test_a_file_without_examples_is_an_error_naming_it(tmp_path, name, content, what):
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    kind = name.rsplit(".", 1)[1]
    with pytest.raises(DataError, match=f"{name}: the file has {what}"):
        load_dataset(kind, path=p)
    with pytest.raises(DataError, match=name):
        load_spec(str(p))

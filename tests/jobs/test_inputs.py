"""Streaming readers: records with file/line, bad rows recorded instead of raised."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from rationales.errors import DataError
from rationales.jobs.inputs import BadRow, Record, count_rows, read_input


def _items(path: Path, **kw):
    return list(read_input(path, **kw))


def test_jsonl_bad_rows_are_recorded_with_their_line(tmp_path: Path) -> None:
    p = tmp_path / "in.jsonl"
    p.write_bytes(
        b'{"id": "a", "text": "hello world"}\n'
        b'\n'
        b'{"id": "b", "text": \n'
        b'[1, 2]\n'
        b'{"id": "c"}\n'
        b'{"id": "d", "text": "  "}\n'
        b'{"id": "e", "words": ["x", 3]}\n'
        b'{"id": "f", "text": "caf\xe9"}\n'
        b'{"post_id": 7, "post_tokens": ["you", "are"], "label": "offensive"}\n'
        b'{"text": "no id here", "label": "2"}\n'
    )
    items = _items(p, label_names=["hatespeech", "normal", "offensive"])
    bad = {b.line: b for b in items if isinstance(b, BadRow)}
    good = [r for r in items if isinstance(r, Record)]
    assert sorted(bad) == [3, 4, 5, 6, 7, 8]
    assert "not valid JSON" in bad[3].error
    assert "JSON object" in bad[4].error
    assert "no text" in bad[5].error and bad[5].id == "c"
    assert "empty" in bad[6].error
    assert "list of strings" in bad[7].error
    assert "UTF-8" in bad[8].error
    assert [(r.id, r.line, r.pos) for r in good] == [("a", 1, 0), ("7", 9, 1), ("line-10", 10, 2)]
    assert good[1].words == ("you", "are") and good[1].label == 2
    assert good[2].label == 2
    assert good[0].to_example().words == ("hello", "world")


def test_csv_multiline_fields_and_wrong_field_counts(tmp_path: Path) -> None:
    p = tmp_path / "in.csv"
    p.write_text('id,text,label\n1,"first\npost",0\n2,too,many,fields\n3,,1\n4,last one,1\n', encoding="utf-8")
    items = _items(p)
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Record", 2), ("BadRow", 4), ("BadRow", 5), ("Record", 6)]
    assert items[0].to_example().words == ("first", "post")
    assert "4 fields, the header has 3" in items[1].error
    assert count_rows(p) == 5


def test_reading_is_a_stream(tmp_path: Path) -> None:
    # The first record is available before the (invalid) rest of the file is looked at.
    p = tmp_path / "in.jsonl"
    p.write_text('{"id": "a", "text": "x"}\n' + "not json\n" * 1000)
    it = read_input(p)
    first = next(it)
    assert isinstance(first, Record) and first.id == "a"
    assert len(list(itertools.islice(it, 3))) == 3


def test_input_hash_changes_with_the_text(tmp_path: Path) -> None:
    a = Record("x", "s", 1, 0, text="one two")
    assert a.input_hash == Record("x", "t", 9, 3, text="one two").input_hash
    assert a.input_hash != Record("x", "s", 1, 0, text="one three").input_hash


def test_unknown_input_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="NAME:SPLIT"):
        list(read_input(tmp_path / "missing.jsonl"))
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="JSON Lines"):
        list(read_input(tmp_path / "x.json"))
    (tmp_path / "x.txt").write_text("a")
    with pytest.raises(DataError, match=".jsonl or .csv"):
        list(read_input(tmp_path / "x.txt"))


@pytest.mark.data
def test_dataset_spec_streams_hatexplain(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATIONALES_DATA", str(data_dir))
    items = list(itertools.islice(read_input("hatexplain:test"), 5))
    assert all(isinstance(r, Record) for r in items)
    assert [r.pos for r in items] == [0, 1, 2, 3, 4]
    assert all(r.words and r.rationale is None or len(r.rationale) == len(r.words) for r in items)

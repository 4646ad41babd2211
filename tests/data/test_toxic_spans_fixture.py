"""Toxic Spans CSV: character offsets map to the words they touch."""

from __future__ import annotations

import pytest

from rationales.data import load_dataset
from rationales.errors import DataError


def _write(tmp_path, body):
    folder = tmp_path / "toxic-spans"
    folder.mkdir(exist_ok=True)
    (folder / "tsd_trial.csv").write_text("spans,text\n" + body, encoding="utf-8")


def test_offsets_to_words(tmp_path):
    # "what a stupid idea!": "stupid" is characters 7-12, 14 is the "i" of "idea"
    _write(tmp_path, '"[7, 8, 9, 10, 11, 12, 14]",what a stupid idea!\n[],"all fine,\nreally"\n')
    ds = load_dataset("toxic_spans", "trial", data_dir=tmp_path)
    assert ds[0].words == ("what", "a", "stupid", "idea", "!")
    assert ds[0].rationale == (0, 0, 1, 1, 0)
    assert ds[0].meta["char_spans"] == [[7, 13], [14, 15]]
    assert ds[1].rationale == (0, 0, 0, 0) and ds.report["posts_without_spans"] == 1
    assert [ex.id for ex in ds] == ["trial-0", "trial-1"]
    # no post has a class label: counted as unlabelled, not as "toxic 0"
    assert ds.label_counts() == {"(unlabelled)": 2}


def test_offset_outside_text(tmp_path):
    _write(tmp_path, '"[40]",short text\n')
    with pytest.raises(DataError, match=r"tsd_trial.csv line 2, field 'spans': character offset 40"):
        load_dataset("toxic_spans", "trial", data_dir=tmp_path)

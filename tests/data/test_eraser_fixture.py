"""ERASER format from a tiny dataset built here: archive and folder, evidence checks."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from rationales.data import load_dataset
from rationales.errors import DataError

DOCS = {
    "negR_001.txt": "a dull , lifeless film .\nthe plot goes nowhere .\n",
    "posR_002.txt": "a warm and funny story .\n\ni loved it .\n",
}


def _ann(aid, label, evs):
    return {"annotation_id": aid, "classification": label, "query": "What is the sentiment?",
            "query_type": None,
            "evidences": [[{"docid": aid, "start_token": s, "end_token": e, "text": t,
                            "start_sentence": 0, "end_sentence": 1}] for s, e, t in evs]}


def _files(bad_text=False):
    train = [_ann("negR_001.txt", "NEG", [(1, 4, "dull , lifeless"), (8, 10, "goes nowhere")]),
             _ann("posR_002.txt", "POS", [(1, 5, "warm and funny story" if not bad_text else "warm")])]
    files = {f"movies/docs/{k}": v for k, v in DOCS.items()}
    files["movies/train.jsonl"] = "".join(json.dumps(a) + "\n" for a in train)
    files["movies/val.jsonl"] = json.dumps(_ann("posR_002.txt", "POS", [(7, 9, "loved it")])) + "\n"
    return files


def _tar(path, files):
    with tarfile.open(path, "w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_archive_is_read_without_extracting(tmp_path):
    arc = _tar(tmp_path / "movies.tar.gz", _files())
    ds = load_dataset("eraser", "train", path=arc)
    assert ds.label_names == ["NEG", "POS"] and len(ds) == 2
    neg = ds[0]
    assert neg.words[:6] == ("a", "dull", ",", "lifeless", "film", ".")
    assert neg.rationale_words == ["dull", ",", "lifeless", "goes", "nowhere"]
    assert neg.meta["sentence_starts"] == [0, 6]
    assert ds.report["evidence_spans"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["movies.tar.gz"]


def test_folder_form_and_data_dir_layout(tmp_path):
    root = tmp_path / "eraser-movies" / "movies"
    for name, text in _files().items():
        f = tmp_path / "eraser-movies" / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    ds = load_dataset("eraser-movies", "val", data_dir=tmp_path)
    assert ds[0].rationale_words == ["loved", "it"]  # blank line skipped, like ERASER
    assert load_dataset("eraser", "val", path=root)[0].rationale == ds[0].rationale


def test_evidence_text_mismatch_names_the_annotation(tmp_path):
    arc = _tar(tmp_path / "movies.tar.gz", _files(bad_text=True))
    with pytest.raises(DataError, match=r"train.jsonl line 2.*annotation 'posR_002.txt': evidence text 'warm'"):
        load_dataset("eraser", "train", path=arc)
    ds = load_dataset("eraser", "train", path=arc, on_error="skip")
    assert len(ds) == 1 and ds.report["skipped_by_reason"] == {"evidence text mismatch": 1}


def test_missing_movies_says_where(tmp_path):
    from rationales.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match=r"movies.tar.gz.*eraser-movies.*rationales data fetch eraser-movies"):
        load_dataset("eraser-movies", "val", data_dir=tmp_path)

"""The GECO loader on the published files: counts, labels, quirks, pairs."""

import pytest

from rationales.data import load_dataset
from rationales.errors import DataError, ParameterError

pytestmark = pytest.mark.data


@pytest.mark.parametrize("variant, split, n, fraction, normalised", [
    ("all", "test", 644, 0.163, {"stray spaces stripped from words": 2,
                                 "words of only spaces dropped (marked as ground truth)": 1}),
    ("all", "train", 2576, 0.174, {"stray spaces stripped from words": 10, "words of only spaces dropped": 2}),
    ("subj", "test", 644, 0.084, {"stray spaces stripped from words": 1}),
])
def test_counts_labels_and_quirks(data_dir, variant, split, n, fraction, normalised):
    ds = load_dataset("geco", split, variant=variant, data_dir=data_dir)
    assert len(ds) == n and ds.label_names == ["female", "male"]
    assert ds.label_counts() == {"female": n // 2, "male": n // 2}
    gt = sum(sum(ex.rationale) for ex in ds) / sum(len(ex.words) for ex in ds)
    assert gt == pytest.approx(fraction, abs=5e-4)
    assert ds.report["normalised"] == normalised
    assert all(w == w.strip() and w for ex in ds for w in ex.words)
    pairs = {}
    for ex in ds:
        pairs.setdefault(ex.meta["pair"], []).append(ex.label)
    assert all(sorted(v) == [0, 1] for v in pairs.values())          # each sentence in both forms


def test_bad_rows_and_options_are_clear_errors(tmp_path):
    folder = tmp_path / "geco" / "gender_all"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text(
        '{"sentence": ["He", "ran"], "ground_truth": [1], "gender": "male", "target": 1, "sentence_idx": 0}\n')
    with pytest.raises(DataError, match="test.jsonl line 1, field 'ground_truth': 1 ground_truth values for 2 words"):
        load_dataset("geco", "test", data_dir=tmp_path)
    with pytest.raises(ParameterError, match="variant='object'"):
        load_dataset("geco", "test", data_dir=tmp_path, variant="object")

"""Export to JSONL, CSV and Parquet reads back to the stored results."""

from __future__ import annotations

from pathlib import Path

import pytest

from rationales.jobs import Store, export, read_export, run_evaluate, run_explain
from rationales.types import Explanation

from .helpers import results_by_key


@pytest.fixture(scope="module")
def job(tfidf_dir: Path, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    run_explain(tfidf_dir, corpus, ["occlusion", "_jobs_flaky"], out, chunk_size=8)
    return out


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_round_trips(job: Path, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"res.{fmt}"
    n = export(job, path)
    rows = list(read_export(path))
    assert n == len(rows) == 82
    stored = results_by_key(job)
    for row in rows:
        e = stored[(row["example_id"], row["method"])]
        back = Explanation.from_dict({**row, "params": row["params"], "info": row["info"]})
        assert back == Explanation.from_dict(e)
        assert back.params == e["params"] and back.info == e["info"] and row["failed"] == e["failed"]
    # input order, then method
    ids = [r["example_id"] for r in rows[::2]]
    assert ids[:3] == ["p0", "p1", "p2"] and ids.index("boom") == 18


def test_export_filters_by_method_and_latest(job: Path, tmp_path: Path, tfidf_dir: Path, corpus: Path) -> None:
    assert export(job, tmp_path / "o.jsonl", methods=["occlusion"]) == 41
    with Store(job, create=False) as store:
        h = store.param_sets()[0]["params_hash"]
    assert export(job, tmp_path / "h.csv", params_hashes=[h]) == 41
    run_explain(tfidf_dir, corpus, ["occlusion"], job, limit=4, params={"occlusion": {"removal": "mask"}})
    assert export(job, tmp_path / "l.jsonl", latest=True) == 4
    with pytest.raises(ValueError, match="format"):
        export(job, tmp_path / "x.xlsx")


def test_evaluate_job_stores_per_example_metrics(tfidf_dir: Path, corpus: Path, tmp_path: Path) -> None:
    s = run_evaluate(tfidf_dir, corpus, ["occlusion"], tmp_path, chunk_size=10)
    names = {m["metric"] for m in s.metrics}
    assert any(n.startswith("hatexplain/comprehensiveness") for n in names)
    # pooled variants are never reported as a mean of per-example values
    assert not names & set(s.non_mean_metrics)
    rows = list(read_export(tmp_path / "e.jsonl")) if export(tmp_path, tmp_path / "e.jsonl") else []
    comp = [m for m in s.metrics if m["metric"].startswith("hatexplain/comprehensiveness")][0]
    vals = [v for r in rows for k, v in r["metrics"].items() if k == comp["metric"] and v is not None]
    assert len(vals) == comp["n"] and sum(vals) / len(vals) == pytest.approx(comp["value"])
    again = run_evaluate(tfidf_dir, corpus, ["occlusion"], tmp_path, chunk_size=4)
    assert again.new_results == 0 and again.metrics == s.metrics

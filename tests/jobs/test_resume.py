"""The local engine: results per key, resume without loss or duplicates, bad rows counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from rationales.jobs import Store, job_status, model_fingerprint, run_explain
from rationales.jobs.plan import hash_directory
from rationales.models import load_classifier

from .helpers import results_by_key, synthetic_posts, write_jsonl

METHODS = ["occlusion", "_jobs_flaky"]


@pytest.fixture(scope="module")
def reference(tfidf_dir: Path, corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """An uninterrupted run of the whole corpus: the results every other run must match."""
    out = tmp_path_factory.mktemp("ref")
    summary = run_explain(tfidf_dir, corpus, METHODS, out, chunk_size=7)
    return summary, results_by_key(out)


def test_a_full_run_stores_one_result_per_example_and_method(reference) -> None:
    summary, got = reference
    assert summary.status == "finished"
    assert summary.rows == 43  # 40 posts + boom + two bad rows
    assert summary.bad_rows == 2 and summary.new_results == 82 and summary.skipped == 0
    assert len(got) == 41 * 2
    assert summary.failed == 1
    boom = got[("boom", "_jobs_flaky")]
    assert boom["failed"].startswith("RuntimeError: cannot explain boom")
    assert boom["scores"] == [0.0] * len(boom["words"])
    # the other method still explained the row
    assert got[("boom", "occlusion")]["failed"] is None


def test_bad_rows_are_recorded_with_file_and_line(reference) -> None:
    summary, _ = reference
    st = job_status(summary.out)
    bad = {(Path(e["source"]).name, e["line"]): e["error"] for e in st["bad_rows"]}
    assert set(bad) == {("posts.jsonl", 6), ("posts.jsonl", 13)}
    assert "not valid JSON" in bad[("posts.jsonl", 6)]
    assert "empty" in bad[("posts.jsonl", 13)]


def test_rerunning_a_finished_job_does_nothing(reference, tfidf_dir: Path, corpus: Path) -> None:
    summary, got = reference
    again = run_explain(tfidf_dir, corpus, METHODS, summary.out, chunk_size=5)
    assert again.new_results == 0 and again.skipped == 82 and again.examples == 0
    assert again.bad_rows == 2  # recorded once, not again
    assert results_by_key(summary.out) == got


def test_interrupted_run_resumes_to_the_same_results(reference, tfidf_dir: Path, corpus: Path, tmp_path: Path) -> None:
    _, expected = reference

    def stop_after_three(summary, engine) -> None:
        if summary.rows >= 15:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_explain(tfidf_dir, corpus, METHODS, tmp_path, chunk_size=5, on_chunk=stop_after_three)
    with Store(tmp_path, create=False) as store:
        partial = store.count()
        assert store.runs()[-1]["status"] == "interrupted"
    assert 0 < partial < 82
    first_limit = run_explain(tfidf_dir, corpus, METHODS, tmp_path, chunk_size=3, limit=30)
    assert first_limit.new_results > 0
    final = run_explain(tfidf_dir, corpus, METHODS, tmp_path, chunk_size=9)
    assert final.skipped + final.new_results == 82
    assert results_by_key(tmp_path) == expected


def test_changed_parameters_or_model_are_new_keys(reference, tfidf_dir: Path, other_tfidf_dir: Path,
                                                  corpus: Path, tmp_path: Path) -> None:
    base = run_explain(tfidf_dir, corpus, ["occlusion"], tmp_path, limit=10)
    masked = run_explain(tfidf_dir, corpus, ["occlusion"], tmp_path, limit=10, params={"occlusion": {"removal": "mask"}})
    other = run_explain(other_tfidf_dir, corpus, ["occlusion"], tmp_path, limit=10)
    hashes = {base.params_hashes["occlusion"], masked.params_hashes["occlusion"], other.params_hashes["occlusion"]}
    assert len(hashes) == 3
    assert masked.skipped == 0 and other.skipped == 0 and masked.new_results == 9 == other.new_results
    with Store(tmp_path, create=False) as store:
        sets = {p["params_hash"]: p for p in store.param_sets()}
        assert {h: sets[h]["results"] for h in hashes} == dict.fromkeys(hashes, 9)
        assert sets[masked.params_hashes["occlusion"]]["params"]["params"] == {"removal": "mask"}
        rows = list(store.iter_results(params_hashes=[other.params_hashes["occlusion"]]))
        assert {r["explanation"]["params"]["removal"] for r in rows} == {"delete"}


def test_fingerprint_follows_the_model_not_the_name(tfidf_dir: Path, other_tfidf_dir: Path) -> None:
    a = model_fingerprint(load_classifier(tfidf_dir), tfidf_dir)
    assert a == model_fingerprint(load_classifier(tfidf_dir), tfidf_dir)
    assert a != model_fingerprint(load_classifier(other_tfidf_dir), other_tfidf_dir)
    assert a.endswith(hash_directory(tfidf_dir))


def test_reused_id_with_another_text_is_an_error_row_not_a_mix(tfidf_dir: Path, tmp_path: Path) -> None:
    posts = synthetic_posts(4)
    src = write_jsonl(tmp_path / "a.jsonl", posts)
    run_explain(tfidf_dir, src, ["occlusion"], tmp_path / "out")
    changed = [dict(p) for p in posts]
    changed[1]["words"] = ["entirely", "different", "words"]
    changed.append(dict(posts[2]))  # same id, same text: simply done
    src2 = write_jsonl(tmp_path / "b.jsonl", changed)
    s = run_explain(tfidf_dir, src2, ["occlusion"], tmp_path / "out")
    assert s.new_results == 0 and s.skipped == 4 and s.bad_rows == 1
    err = job_status(tmp_path / "out")["bad_rows"][0]
    assert err["line"] == 2 and "different text" in err["error"]
    assert results_by_key(tmp_path / "out")[("p1", "occlusion")]["words"] == posts[1]["words"]


def test_retry_failed_recomputes_only_failures(tfidf_dir: Path, tmp_path: Path) -> None:
    posts = synthetic_posts(3)
    posts[0]["words"] = posts[0]["words"] + ["BOOM"]
    src = write_jsonl(tmp_path / "a.jsonl", posts)
    s = run_explain(tfidf_dir, src, ["_jobs_flaky"], tmp_path / "out")
    assert s.failed == 1
    assert run_explain(tfidf_dir, src, ["_jobs_flaky"], tmp_path / "out").new_results == 0
    again = run_explain(tfidf_dir, src, ["_jobs_flaky"], tmp_path / "out", retry_failed=True)
    assert again.examples == 1 and again.failed == 1 and again.new_results == 0
    assert len(results_by_key(tmp_path / "out")) == 3


def test_results_equal_the_in_memory_explain(reference, tfidf_dir: Path) -> None:
    from rationales import explain
    from rationales.types import Example

    _, got = reference
    clf = load_classifier(tfidf_dir)
    exs = [Example(p["id"], p["words"]) for p in synthetic_posts(6)]
    for e in explain(clf, exs, methods=["occlusion"]):
        stored = got[(e.example_id, "occlusion")]
        assert stored["scores"] == pytest.approx(list(e.scores), abs=1e-12)
        assert stored["target"] == e.target


def test_unknown_things_fail_before_any_work(tfidf_dir: Path, corpus: Path, tmp_path: Path) -> None:
    from rationales.errors import ParameterError, UnknownNameError
    from rationales.jobs import run_job

    with pytest.raises(ParameterError, match="nope"):
        run_explain(tfidf_dir, corpus, ["nope"], tmp_path)
    with pytest.raises(ParameterError, match="unknown parameter"):
        run_explain(tfidf_dir, corpus, ["occlusion"], tmp_path, params={"occlusion": {"bogus": 1}})
    with pytest.raises(ParameterError, match="protocol"):
        run_job("evaluate", tfidf_dir, corpus, ["occlusion"], tmp_path)
    with pytest.raises(UnknownNameError, match="nope"):
        run_job("evaluate", tfidf_dir, corpus, ["occlusion"], tmp_path, protocol="nope")
    with pytest.raises(ParameterError, match="kind"):
        run_job("benchmark", tfidf_dir, corpus, ["occlusion"], tmp_path, protocol="hatexplain")
    with pytest.raises(ParameterError, match="unknown job option"):
        run_explain(tfidf_dir, corpus, ["occlusion"], tmp_path, chunksize=3)
    assert not (tmp_path / "results.sqlite").exists()


def test_a_target_name_and_its_id_are_the_same_key(tfidf_dir: Path, corpus: Path, tmp_path: Path) -> None:
    a = run_explain(tfidf_dir, corpus, ["occlusion"], tmp_path, limit=6, target="offensive")
    b = run_explain(tfidf_dir, corpus, ["occlusion"], tmp_path, limit=6, target=2)
    assert a.params_hashes == b.params_hashes and b.new_results == 0 and b.skipped == 5
    assert {e["target"] for e in results_by_key(tmp_path).values()} == {2}
    with pytest.raises(ValueError, match="unknown target label 'nope'"):
        run_explain(tfidf_dir, corpus, ["occlusion"], tmp_path, target="nope")


def test_a_method_the_model_cannot_serve_fails_before_any_work(tfidf_dir: Path, corpus: Path, tmp_path: Path) -> None:
    from rationales.errors import ModelError

    with pytest.raises(ModelError, match="needs gradients"):
        run_explain(tfidf_dir, corpus, ["gradient"], tmp_path)
    assert not (tmp_path / "results.sqlite").exists()


def test_a_setup_error_stops_the_job_instead_of_failing_every_row(tfidf_dir: Path, tmp_path: Path) -> None:
    from rationales.errors import ModelError

    posts = synthetic_posts(12)
    posts[6]["words"] = posts[6]["words"] + ["OFFLINE"]
    src = write_jsonl(tmp_path / "a.jsonl", posts)
    with pytest.raises(ModelError, match="unreachable"):
        run_explain(tfidf_dir, src, ["_jobs_flaky"], tmp_path / "out", chunk_size=4)
    with Store(tmp_path / "out", create=False) as store:
        # the chunk before is stored; nothing of the failing chunk is, not even as failed rows
        assert store.count() == 4 and store.count(failed=True) == 0
        assert store.runs()[-1]["status"] == "failed"

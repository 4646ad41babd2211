"""The Ray engine: same results as the local engine, and a killed worker loses nothing."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'rationales[ray]'")

from rationales.jobs import run_evaluate, run_explain  # noqa: E402

from . import helpers  # noqa: E402
from .helpers import KeywordClassifier, results_by_key, synthetic_posts, write_jsonl  # noqa: E402

METHODS = ["occlusion", "_jobs_flaky"]


@pytest.fixture(scope="module")
def local_ray():
    """One in-process Ray instance with 2 CPUs for the whole module (start-up is slow)."""
    # The test classifier and explainer live in the tests folder: let workers import them
    # under the same module name pytest gave them here.
    package_root = Path(helpers.__file__).resolve().parents[helpers.__name__.count(".")]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(
                 [str(package_root), os.environ.get("PYTHONPATH", "")])}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def posts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = synthetic_posts(60, seed=7)
    rows[9]["words"] = rows[9]["words"] + ["BOOM"]
    rows.insert(30, "{broken")
    return write_jsonl(tmp_path_factory.mktemp("ray") / "posts.jsonl", rows)


@pytest.fixture(scope="module")
def local_results(posts: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("local")
    run_explain(KeywordClassifier(), posts, METHODS, out, chunk_size=4)
    return results_by_key(out)


def test_ray_gives_the_local_results(local_ray, posts: Path, local_results, tmp_path: Path) -> None:
    s = run_explain(KeywordClassifier(), posts, METHODS, tmp_path, chunk_size=4, engine="ray", workers=2)
    assert s.engine == "ray" and s.workers == 2 and s.status == "finished"
    assert s.bad_rows == 1 and s.failed == 1 and s.new_results == 120
    assert results_by_key(tmp_path) == local_results


def test_a_killed_worker_loses_and_duplicates_nothing(local_ray, posts: Path, local_results, tmp_path: Path) -> None:
    killed: list[int] = []

    def kill_one_worker(summary, engine) -> None:
        if not killed and summary.new_results >= 8:
            pid = engine.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    s = run_explain(KeywordClassifier(), posts, METHODS, tmp_path, chunk_size=2, engine="ray", workers=2,
                    on_chunk=kill_one_worker)
    assert killed and s.status == "finished"
    assert results_by_key(tmp_path) == local_results


def test_a_stopped_ray_job_resumes_on_the_local_engine(local_ray, posts: Path, local_results, tmp_path: Path) -> None:
    def stop(summary, engine) -> None:
        if summary.rows >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_explain(KeywordClassifier(), posts, METHODS, tmp_path, chunk_size=4, engine="ray", workers=2, on_chunk=stop)
    partial = len(results_by_key(tmp_path))
    assert 0 < partial < 120
    # the store is the same whatever engine wrote it: the local engine finishes the job
    s = run_explain(KeywordClassifier(), posts, METHODS, tmp_path, chunk_size=5)
    assert s.skipped == partial and s.new_results == 120 - partial
    assert results_by_key(tmp_path) == local_results


def test_ray_evaluates_under_the_protocol_resolved_for_the_whole_input(local_ray, tmp_path: Path) -> None:
    from .helpers import with_rationales

    src = write_jsonl(tmp_path / "posts.jsonl", with_rationales(synthetic_posts(24, seed=5)))
    local = run_evaluate(KeywordClassifier(), src, ["occlusion"], tmp_path / "local", protocol="eraser", chunk_size=4)
    on_ray = run_evaluate(KeywordClassifier(), src, ["occlusion"], tmp_path / "ray", protocol="eraser", chunk_size=4,
                          engine="ray", workers=2)
    assert on_ray.protocol == local.protocol and local.protocol["hard"] != "top_fraction=mean_gold"
    assert on_ray.params_hashes == local.params_hashes
    assert on_ray.non_mean_metrics == local.non_mean_metrics
    assert [(m["metric"], m["n"]) for m in on_ray.metrics] == [(m["metric"], m["n"]) for m in local.metrics]
    for a, b in zip(on_ray.metrics, local.metrics):
        assert a["value"] == pytest.approx(b["value"], abs=1e-12)

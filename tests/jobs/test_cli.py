"""`rationales run ...` drives the same jobs; Ray missing gives the install command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rationales.cli.jobs  # noqa: F401  (registers `run` on the app)
from rationales.cli import app


def test_explain_status_export_from_the_command_line(tfidf_dir: Path, corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "job"
    args = ["run", "explain", "--model", str(tfidf_dir), "--input", str(corpus), "--methods", "occlusion",
            "--out", str(out), "--chunk-size", "8", "--limit", "20", "--quiet", "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    first = json.loads(r.output)
    assert first["rows"] == 20 and first["bad_rows"] == 2 and first["new_results"] == 18
    r = runner.invoke(app, args[:-4] + ["--quiet", "--json"])  # the whole input: resumes
    second = json.loads(r.output)
    assert second["skipped"] == 18 and second["new_results"] == 41 - 18
    r = runner.invoke(app, ["run", "status", "--out", str(out), "--errors"])
    assert r.exit_code == 0 and "line 6" in r.output and "41 results" in r.output
    r = runner.invoke(app, ["run", "export", "--out", str(out), "--to", str(tmp_path / "r.csv")])
    assert r.exit_code == 0 and "41 results" in r.output
    r = runner.invoke(app, ["run", "explain", "--model", str(tfidf_dir), "--input", str(corpus), "--out",
                            str(out), "--params", "{bad", "--quiet"])
    assert r.exit_code != 0 and "not valid JSON" in r.output


def test_status_of_an_empty_folder_says_what_to_do(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["run", "status", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "run `rationales run explain" in r.output


def test_engine_ray_without_ray_says_how_to_install(tfidf_dir: Path, corpus: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    r = CliRunner().invoke(app, ["run", "explain", "--model", str(tfidf_dir), "--input", str(corpus),
                                 "--out", str(tmp_path), "--engine", "ray", "--quiet"])
    assert r.exit_code == 2
    assert "pip install 'rationales[ray]'" in r.output


def test_param_and_target_reach_the_job(tfidf_dir: Path, corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "job"
    r = runner.invoke(app, ["run", "explain", "--model", str(tfidf_dir), "--input", str(corpus), "--out", str(out),
                            "--methods", "occlusion", "--param", "occlusion.removal=mask", "--target", "1",
                            "--limit", "4", "--quiet", "--json"])
    assert r.exit_code == 0, r.output
    status = json.loads(runner.invoke(app, ["run", "status", "--out", str(out), "--json"]).stdout)
    (param_set,) = status["param_sets"]
    assert param_set["params"]["params"]["removal"] == "mask" and param_set["params"]["target"] == 1

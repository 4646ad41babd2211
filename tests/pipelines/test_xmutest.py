"""`rx.pipelines.xmutest`: the whole recipe on a tiny random model and a scripted LLM,
resumed after failures and kills, and `rationales xmutest` in Telugu and Hindi."""

from __future__ import annotations

import importlib
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rationales as rx
from rationales.pipelines.report import markdown
from rationales.pipelines.xmutest import XmutestRun, carve

from .helpers import FAST, QUIRKS, replay, tiny

# the module (rationales.pipelines.xmutest is also the name of the function it exports)
pipeline_module = importlib.import_module("rationales.pipelines.xmutest")

MODELS = ["baseline", "stage1", "stage2"]
METHODS = ["ngram", "llm", "union", "attention", "lime"]


@pytest.fixture(scope="module")
def telugu(tmp_path_factory):
    """One full run in Telugu: baseline, stage 1, explanations, stage 2, evaluations, report."""
    out = tmp_path_factory.mktemp("xmutest-te")
    llm = replay()
    run = rx.pipelines.xmutest("te", out=out, data_dir=QUIRKS, llm=llm, **FAST)
    return run, out, llm


def test_the_whole_pipeline_writes_the_report_in_the_papers_layout(telugu):
    run, out, llm = telugu
    assert list(run.classification) == MODELS
    for figures in run.classification.values():
        assert {"accuracy", "macro_f1", "auroc"} <= set(figures) and figures["best_epoch"] == 1
    assert [(r["model"], r["method"]) for r in run.explanations] == [(m, x) for m in MODELS for x in METHODS]
    for row in run.explanations:
        assert {"token_f1", "iou_f1", "comprehensiveness", "sufficiency"} <= set(row)
        assert row["token_f1_n"] == 8  # the 8 hate posts of the Telugu test fixture
        assert row["hard_rationale"] == ("own" if row["method"] in ("llm", "union") else "xmutest rule")
    # llm and union are scored at their own hard rationale, which threshold=0.5 gives back exactly
    record = json.loads((out / "stages" / "eval-stage1.json").read_text())
    assert record["own_rationale"] == {"methods": ["llm", "union"], "rule": "threshold=0.5", "mismatched": 0}
    assert run.settings["n_fit"] + run.settings["n_selection"] == 30 and run.settings["n_selection"] == 3
    assert "validation split carved from train" in run.settings["selection"]
    assert "never the test split" in run.settings["selection"]
    text = Path(run.files["markdown"]).read_text(encoding="utf-8")
    assert "| stage 2 (union rationales) | union |" in text and "Token-F1" in text and "IOU-F1" in text
    assert json.loads(Path(run.files["json"]).read_text(encoding="utf-8"))["settings"]["lang"] == "te"
    assert (out / "eval-stage2" / "report.html").is_file() and "<table>" in Path(run.files["html"]).read_text()
    # stage 2 learnt from the union: every fitted post got a machine rationale, from the LLM's answers too
    stage2 = json.loads((out / "stages" / "stage2.json").read_text())
    assert stage2["rationales_from"]["with_rationale"] == run.settings["n_fit"]
    assert llm.calls and all("<<<" in c[-1]["content"] for c in llm.calls)
    unions = [json.loads(line) for line in (out / "explanations" / "union.jsonl").open(encoding="utf-8")]
    assert len(unions) == 27 + 8 and all(sum(u["info"]["rationale"]) >= 1 for u in unions)
    assert all(s["status"] == "done" for s in run.stages.values())


def test_a_rerun_does_no_work_twice(telugu, monkeypatch):
    run, out, llm = telugu

    def no(*a, **k):
        raise AssertionError("a finished stage ran again")

    monkeypatch.setattr("rationales.models.train.train", no)
    monkeypatch.setattr("rationales.jobs.run_explain", no)
    monkeypatch.setattr("rationales.evaluation.benchmark.benchmark", no)
    again = rx.pipelines.xmutest("te", out=out, data_dir=QUIRKS, llm=llm, **FAST)
    assert {s["status"] for s in again.stages.values()} == {"skipped"}
    assert again.classification == run.classification and again.explanations == run.explanations


def _counting_train(monkeypatch):
    from rationales.models import train as train_module

    calls = []
    real = train_module.train

    def train(*args, **kwargs):
        calls.append(kwargs.get("rationales_from"))
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "train", train)
    return calls


def test_a_failure_between_stages_resumes_after_the_last_finished_stage(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("injected: killed before the explanations")

    fast = {**FAST, "baseline": False, "methods": ["ngram"]}
    with monkeypatch.context() as m:
        m.setattr(pipeline_module._Pipeline, "explain", boom)
        with pytest.raises(RuntimeError, match="injected"):
            rx.pipelines.xmutest("hi", out=tmp_path, data_dir=QUIRKS, llm=replay(), **fast)
    assert sorted(p.stem for p in (tmp_path / "stages").glob("*.json")) == ["data", "stage1"]
    calls = _counting_train(monkeypatch)
    run = rx.pipelines.xmutest("hi", out=tmp_path, data_dir=QUIRKS, llm=replay(), **fast)
    assert len(calls) == 1 and calls[0] is not None  # only stage 2 trained
    assert run.stages["stage1"]["status"] == "skipped" and run.stages["explanations"]["status"] == "done"


def test_a_stage_killed_half_way_is_redone_and_its_job_resumes(tmp_path, monkeypatch):
    out = tmp_path / "out"
    script = Path(__file__).with_name("kill_midway.py")
    proc = subprocess.run([sys.executable, str(script), str(out), "12"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert (out / "stages" / "stage1.json").is_file() and not (out / "stages" / "explanations.json").exists()
    with sqlite3.connect(out / "explain-job" / "results.sqlite") as db:
        stored = dict(db.execute("SELECT method, COUNT(*) FROM results GROUP BY method").fetchall())
    assert stored["ngram"] == 27 + 8 and 0 < stored.get("llm", 0) < 35  # killed between two chunks' LLM calls

    calls = _counting_train(monkeypatch)
    run = rx.pipelines.xmutest("te", out=out, data_dir=QUIRKS, llm=replay(), baseline=False, methods=["ngram"],
                               **{k: v for k, v in FAST.items()})
    assert len(calls) == 1  # stage 1 was finished: only stage 2 trains
    record = json.loads((out / "stages" / "explanations.json").read_text())
    ngram_job = record["jobs"][0]
    assert ngram_job["skipped"] == 35 and ngram_job["new_results"] == 0  # the job resumed: nothing redone
    assert run.stages["explanations"]["status"] == "done" and Path(run.files["markdown"]).is_file()


def test_validation_is_carved_from_train_seeded_and_test_selection_is_labelled():
    ds = rx.load_dataset("xmutest", "train", data_dir=QUIRKS, lang="te")
    fit, val, how = carve(ds, 0.1, 0)
    assert (len(fit), len(val)) == (27, 3) and how == "stratified by label"
    assert [ex.id for ex in val] == [ex.id for ex in carve(ds, 0.1, 0)[1]]
    assert [ex.id for ex in val] != [ex.id for ex in carve(ds, 0.1, 1)[1]]
    assert not {ex.id for ex in fit} & {ex.id for ex in val}
    settings = {"lang": "en", "train": "t", "test": "s", "n_fit": 1, "n_selection": 1, "n_test": 1,
                "selection": "best epoch on TEST", "select_on": "test", "backbone": "b", "alpha": 0.7,
                "epochs": 1, "max_length": 8, "batch_size": 1, "lr": 1.0, "seed": 0, "llm": "x",
                "n_llm_train": 0, "n_table_posts": 0, "stage2_from": "backbone", "protocol": "p"}
    text = markdown(XmutestRun("o", settings, {}, [], {}))
    assert "Model selection on the TEST split, as the paper's notebooks did" in text


@pytest.mark.parametrize("lang", ["te", "hi"])
def test_the_command_in_telugu_and_hindi(lang, tmp_path, monkeypatch):
    from rationales.cli import app

    backbone = tmp_path / "tiny"
    tiny(["normal", "hate"]).save(backbone)
    llm = replay()
    monkeypatch.setattr("rationales.llm.get_backend", lambda spec=None, **kw: llm)
    monkeypatch.setattr("rationales.methods.llm.get_backend", lambda spec=None, **kw: llm)
    args = ["xmutest", "--lang", lang, "--data-dir", str(QUIRKS), "--out", str(tmp_path / "out"),
            "--backbone", str(backbone), "--epochs", "1", "--max-length", "32", "--methods", "ngram,union",
            "--no-baseline", "--limit-test", "4", "--llm-train", "5", "-o", "empty_rows=skip", "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert f"# X-MuTeST pipeline: {lang}" in res.output and "| stage 1 (human rationales) | union |" in res.output
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["settings"]["n_table_posts"] == 4 and report["settings"]["n_llm_train"] == 5
    assert report["settings"]["train"] == f"xmutest-{lang}:train"
    record = json.loads((tmp_path / "out" / "stages" / "explanations.json").read_text())
    assert (record["stage2_union"], record["stage2_ngram_only"]) == (5, 22)
    res = CliRunner().invoke(app, args)  # the same command again: every stage finished before
    assert res.exit_code == 0, res.output
    stages = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))["stages"]
    assert {s["status"] for s in stages.values()} == {"skipped"}

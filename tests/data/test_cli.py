"""`rationales data ...`: thin commands over the data functions."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rationales.cli import app

runner = CliRunner()


def test_list_json():
    res = runner.invoke(app, ["data", "list", "--json"])
    assert res.exit_code == 0, res.output
    names = [d["name"] for d in json.loads(res.output)]
    assert {"hatexplain", "eraser-movies", "eraser", "toxic_spans", "xmutest", "csv", "jsonl"} <= set(names)


def test_stats_and_show_on_fixtures(fixtures_dir):
    res = runner.invoke(app, ["data", "stats", "xmutest:train", "--data-dir", str(fixtures_dir),
                              "-o", "lang=te", "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["examples"] == 4 and s["label_counts"] == {"normal": 2, "hate": 2}
    assert s["mean_rationale_words"] == pytest.approx((1 + 0 + 2 + 0) / 4)
    assert s["mean_words"] == pytest.approx((3 + 5 + 4 + 4) / 4)
    res = runner.invoke(app, ["data", "show", "hatexplain:test", "--data-dir",
                              str(fixtures_dir / "data"), "--limit", "1"])
    assert res.exit_code == 0, res.output
    assert "send those [filthy] [invaders] [back] now" in res.output
    assert "label=hatespeech" in res.output


def test_stats_all_and_table(fixtures_dir):
    res = runner.invoke(app, ["data", "stats", "--all", "--data-dir", str(fixtures_dir), "--json"])
    assert res.exit_code == 0, res.output
    specs = {r["spec"] for r in json.loads(res.output)}
    assert {"xmutest:train lang=te", "xmutest:test lang=hi"} <= specs
    res = runner.invoke(app, ["data", "stats", "xmutest:test", "--data-dir", str(fixtures_dir),
                              "-o", "lang=hi"])
    assert res.exit_code == 0 and "mean words per text" in res.output


def test_errors_are_one_clear_line(tmp_path):
    res = runner.invoke(app, ["data", "stats", "nope:test"])
    assert res.exit_code == 2 and "unknown dataset 'nope'" in res.output
    res = runner.invoke(app, ["data", "stats", "toxic_spans:train", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2 and "rationales data fetch toxic_spans" in res.output

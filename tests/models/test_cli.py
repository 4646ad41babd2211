"""`rationales train` and `rationales backbones` through the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rationales.cli import app


def test_backbones_lists_the_registry():
    result = CliRunner().invoke(app, ["backbones", "--json"])
    assert result.exit_code == 0, result.output
    names = [e["name"] for e in json.loads(result.output)]
    assert {"minilm-en", "tfidf"} <= set(names)


@pytest.mark.data
def test_train_tfidf_on_hatexplain(data_dir, tmp_path):
    out = tmp_path / "hx-tfidf"
    result = CliRunner().invoke(app, [
        "train", "--data", "hatexplain:val", "--eval-data", "hatexplain:test",
        "--data-dir", str(data_dir), "--backbone", "tfidf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "rationales.json").read_text())
    assert manifest["label_names"] == ["hatespeech", "normal", "offensive"]
    metrics = json.loads((out / "metrics.json").read_text())["eval"]
    assert metrics["n"] == 1924 and 0.4 < metrics["macro_f1"] <= 1.0
    assert "macro-F1" in result.output

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


def test_train_with_the_prior_loss_grad_accum_and_bf16(tmp_path, tokenizer):
    """`rationales train --rationale-loss prior --rationales-from priors.jsonl` on a tiny
    saved model, with --grad-accum and --bf16; posts without a prior are counted."""
    from rationales.data import load_spec
    from rationales.models.tiny import tiny_classifier
    from rationales.types import Explanation

    posts = [{"text": f"the {w} people are here", "label": "pos" if w in ("kind", "lovely") else "neg"}
             for w in ("kind", "vile", "lovely", "cruel") * 3]
    data = tmp_path / "posts.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in posts))
    ds = load_spec(str(data))
    priors = tmp_path / "priors.jsonl"
    priors.write_text("".join(
        json.dumps(Explanation(ex.id, ex.words, [1.0 if i == 1 else 0.0 for i in range(len(ex.words))],
                               int(ex.label or 0), "occlusion").to_dict()) + "\n" for ex in list(ds)[:9]))
    tiny_classifier(ds.label_names, seed=0, tokenizer=tokenizer, max_length=16).save(tmp_path / "tiny")
    out = tmp_path / "trained"
    result = CliRunner().invoke(app, [
        "train", "--data", str(data), "--backbone", str(tmp_path / "tiny"), "--out", str(out),
        "--rationale-loss", "prior", "--rationales-from", str(priors), "--prior-alignment", "mse",
        "--prior-weight", "2", "--epochs", "1", "--batch-size", "2", "--grad-accum", "2", "--bf16"])
    assert result.exit_code == 0, result.output
    assert "priors: 9 posts; without a prior (CE only): 3" in result.output
    config = json.loads((out / "rationales.json").read_text())["train_config"]
    assert config["rationale_loss"] == "prior" and config["prior_alignment"] == "mse"
    assert config["prior_weight"] == 2.0 and config["grad_accum"] == 2 and config["bf16"] is True
    assert config["group_by_length"] is True


def test_train_prior_without_rationales_from_is_a_clear_error(tmp_path):
    data = tmp_path / "posts.jsonl"
    data.write_text('{"text": "a b", "label": 0}\n{"text": "c d", "label": 1}\n')
    result = CliRunner().invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "m"),
                                      "--rationale-loss", "prior"])
    assert result.exit_code != 0
    assert "needs rationales_from" in result.output

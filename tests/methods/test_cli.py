"""`rationales explain` and `rationales explainers` on a saved tiny model."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from rationales.cli import app
from rationales.cli._options import parse_params, parse_value
from rationales.types import Explanation

runner = CliRunner()


def plain(output: str) -> str:
    """The output without rich's box drawing and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from rationales.models.tiny import tiny_classifier

    out = tmp_path_factory.mktemp("tiny")
    tiny_classifier(label_names=("hate", "normal"), seed=1).save(out)
    return out


def test_parse_values_and_params():
    assert parse_value("500") == 500 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("mask") == "mask"
    assert parse_value("1,2") == [1, 2]
    assert parse_params(["lime.n_samples=50", "ngram.sizes=1,2"], ["lime", "ngram"]) == {
        "lime": {"n_samples": 50}, "ngram": {"sizes": [1, 2]}}


def test_explain_json_and_jsonl(model_dir, tmp_path):
    out = tmp_path / "exps.jsonl"
    result = runner.invoke(app, [
        "explain", "--model", str(model_dir), "--text", "they should go back home",
        "--text", "ये लोग देश के दुश्मन हैं", "--methods", "ngram,occlusion,lime",
        "-p", "lime.n_samples=40", "-p", "occlusion.removal=mask", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout[result.stdout.index("["):])
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(printed) == len(lines) == 6   # 2 texts × 3 methods, example by example
    exps = [Explanation.from_dict(json.loads(line)) for line in lines]
    assert [e.method for e in exps] == ["ngram", "occlusion", "lime"] * 2
    assert exps[1].params["removal"] == "mask" and exps[2].params["n_samples"] == 40
    assert exps[3].words == ("ये", "लोग", "देश", "के", "दुश्मन", "हैं")
    assert printed[0]["scores"] == list(exps[0].scores)


def test_explain_terminal_view_and_target(model_dir):
    result = runner.invoke(app, ["explain", "--model", str(model_dir), "--text", "go home now",
                                 "--methods", "occlusion", "--target", "normal"])
    assert result.exit_code == 0, result.output
    assert "predicted" in result.output and "explaining: normal" in result.output
    assert "occlusion" in result.output and "home" in result.output


@pytest.mark.parametrize("args, message", [
    (["--methods", "oclusion"], "Did you mean 'occlusion'"),
    (["--methods", "ngram", "-p", "lime.n_samples=5"], "not among --methods"),
    (["--methods", "ngram", "-p", "ngram.bogus=1"], "unknown parameter"),
    (["--methods", "ngram", "--target", "nope"], "unknown target label"),
])
def test_explain_bad_input_is_a_clear_error(model_dir, args, message):
    result = runner.invoke(app, ["explain", "--model", str(model_dir), "--text", "hi there", *args])
    assert result.exit_code != 0
    assert message in plain(result.output)


def test_explain_empty_text_is_a_clear_error(model_dir):
    result = runner.invoke(app, ["explain", "--model", str(model_dir), "--text", "  "])
    assert result.exit_code != 0 and "no words" in plain(result.output)


@pytest.mark.data
def test_explain_a_dataset(model_dir, data_dir, tmp_path):
    out = tmp_path / "hx.jsonl"
    result = runner.invoke(app, ["explain", "--model", str(model_dir), "--data", "hatexplain:test",
                                 "--data-dir", str(data_dir), "--limit", "3", "--methods", "ngram",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and all(len(r["scores"]) == len(r["words"]) for r in rows)


def test_explainers_listing():
    result = runner.invoke(app, ["explainers", "--json"])
    assert result.exit_code == 0
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert entries["ngram"]["params"]["weights"] == [0.5, 0.3, 0.2]
    assert entries["lime"]["stochastic"] is True and entries["gradient"]["needs_gradients"] is True
    table = runner.invoke(app, ["explainers"])
    assert table.exit_code == 0 and "kernel_shap" in table.output


def test_explain_sends_every_example_to_rx_explain_in_one_call(model_dir, monkeypatch):
    import rationales.methods as methods

    calls = []
    real = methods.explain

    def spy(classifier, inputs, names, target=None, **kw):
        calls.append((len(inputs), list(names), kw.get("chunk", 64)))
        return real(classifier, inputs, names, target, **kw)

    monkeypatch.setattr(methods, "explain", spy)
    texts = ["go home now", "they are kind", "what a day"]
    result = runner.invoke(app, ["explain", "--model", str(model_dir), "--methods", "ngram,occlusion", "--json",
                                 *[a for t in texts for a in ("--text", t)]])
    assert result.exit_code == 0, result.output
    assert calls == [(3, ["ngram", "occlusion"], 64)]
    assert "explaining: 6/6" in result.stderr  # the progress bar's plain line when stderr is no terminal

"""Loader options: one KEY=VALUE syntax (`-o/--opt`, or `?KEY=VALUE&...` inside a spec), one parser,
in every command that reads data."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rationales.cli import app
from rationales.data import load_spec
from rationales.data.base import parse_options, split_options, with_options
from rationales.errors import ParameterError

runner = CliRunner()


@pytest.fixture(scope="module")
def quirks(fixtures_dir):
    return fixtures_dir / "xmutest" / "quirks"


def test_one_parser_values_are_json_or_text():
    assert parse_options(["lang=te", "limit=3", "flag=true", "cols=[\"a\", \"b\"]", "path=/d/x y.csv"]) == {
        "lang": "te", "limit": 3, "flag": True, "cols": ["a", "b"], "path": "/d/x y.csv"}
    assert parse_options(["lang=hi", "lang=te"]) == {"lang": "te"}  # the last one wins
    for bad in ("lang", "=te", "la ng=te"):
        with pytest.raises(ParameterError, match="expected KEY=VALUE"):
            parse_options([bad])


def test_the_spec_form_carries_the_same_options(quirks):
    assert split_options("xmutest:test?lang=te&empty_rows=error") == ("xmutest:test", {"lang": "te", "empty_rows": "error"})
    assert split_options("hatexplain:test") == ("hatexplain:test", {})
    assert with_options("xmutest:test?lang=hi", {"lang": "te", "n": 2}) == "xmutest:test?lang=te&n=2"
    assert with_options("xmutest:test", {}) == "xmutest:test"
    ds = load_spec("xmutest:train?lang=te", quirks)
    assert len(ds) == 30 and ds[0].lang == "te"
    assert load_spec("xmutest:train?lang=te", quirks, lang="hi")[0].lang == "hi"  # keywords win


@pytest.mark.parametrize("command", [
    ["explain", "-m", "tfidf", "--data", "xmutest:test", "--opt", "bogus=1"],
    ["evaluate", "--model", "tfidf", "--explanations", "EXPL", "--data", "xmutest:test", "-o", "bogus=1"],
    ["benchmark", "--model", "tfidf", "--data", "xmutest:test", "-o", "bogus=1"],
    ["train", "--data", "xmutest:train", "--out", "OUT", "--backbone", "tfidf", "-o", "bogus=1"],
    ["serve", "-m", "tfidf", "--data", "xmutest:test", "-o", "bogus=1"],
    ["data", "show", "xmutest:test", "-o", "bogus=1"],
])
def test_every_command_that_reads_data_passes_loader_options_on(command, quirks, tmp_path):
    expl = tmp_path / "e.jsonl"
    expl.write_text(json.dumps({"example_id": "x", "words": ["a"], "scores": [1.0], "target": 0,
                                "method": "occlusion"}) + "\n")
    args = [str(expl) if a == "EXPL" else str(tmp_path / "m") if a == "OUT" else a for a in command]
    res = runner.invoke(app, [*args, "--data-dir", str(quirks)])
    assert res.exit_code == 2, res.output
    assert "has no option 'bogus'" in " ".join(res.output.split())


def test_where_o_is_out_a_loader_option_is_caught(quirks):
    res = runner.invoke(app, ["explain", "-m", "tfidf", "--data", "xmutest:test", "--data-dir", str(quirks),
                              "-o", "lang=te"])
    assert res.exit_code == 2 and "--opt lang=te" in " ".join(res.output.split())


def test_train_run_and_benchmark_on_telugu_with_loader_options(quirks, tmp_path):
    model = tmp_path / "m"
    res = runner.invoke(app, ["train", "--data", "xmutest:train", "--eval-data", "xmutest:test", "-o", "lang=te",
                              "--data-dir", str(quirks), "--backbone", "tfidf", "--out", str(model)])
    assert res.exit_code == 0, res.output
    assert "xmutest-te:train (30 examples" in res.output
    te = quirks / "xmutest" / "te"
    res = runner.invoke(app, ["run", "explain", "-m", str(model), "--input", "xmutest:test", "--opt", "lang=te",
                              "--opt", f"path={te}", "--methods", "occlusion", "-o", str(tmp_path / "job"),
                              "--quiet", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["new_results"] == 20
    res = runner.invoke(app, ["benchmark", "--model", str(model), "--data", "xmutest:test", "-o", "lang=te",
                              "--data-dir", str(quirks), "--methods", "occlusion", "--protocol", "xmutest",
                              "--limit", "2", "--out", str(tmp_path / "bench")])
    assert res.exit_code == 0, res.output

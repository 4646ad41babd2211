"""What the commands share (rationales.cli._options): errors, method parameters, targets."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from rationales.cli import app
from rationales.cli._options import cli_errors, method_params, parse_target, printable
from rationales.errors import DataError, ParameterError, UnknownNameError

runner = CliRunner()


def test_a_wrong_value_is_shown_against_its_option():
    with pytest.raises(typer.BadParameter) as info, cli_errors("--target"):
        raise ParameterError("unknown target label 'x'")
    assert info.value.param_hint == "--target" and "unknown target label 'x'" in info.value.message


def test_other_errors_are_one_line_and_exit_2(capsys):
    with pytest.raises(typer.Exit) as info, cli_errors("--data"):
        raise DataError("31 rationale values for 32 words", path="hx.jsonl", line=17)
    assert info.value.exit_code == 2
    assert capsys.readouterr().err.strip() == "error: hx.jsonl line 17: 31 rationale values for 32 words"
    with pytest.raises(typer.Exit), cli_errors():
        raise UnknownNameError("unknown dataset 'nope'")
    assert capsys.readouterr().err.strip() == "error: unknown dataset 'nope'"  # no KeyError quotes


def test_param_items_lie_over_the_deprecated_json(capsys):
    got = method_params(["lime.n_samples=50", "ngram.sizes=1,2"], '{"lime": {"n_samples": 9, "seed": 1}}',
                        ["lime", "ngram"])
    assert got == {"lime": {"n_samples": 50, "seed": 1}, "ngram": {"sizes": [1, 2]}}
    err = capsys.readouterr().err
    assert "--params is deprecated" in err and "--param lime.n_samples=9 --param lime.seed=1" in err
    assert method_params(None, None, ["ngram"]) == {}
    assert capsys.readouterr().err == ""


def test_defaults_for_methods_not_asked_for_are_dropped_only_when_told():
    base = {"lime": {"n_samples": 200}, "kernel_shap": {"n_samples": 200}}
    assert method_params(["ngram.sizes=1"], None, ["ngram", "lime"], base=base, only_listed=True) == {
        "lime": {"n_samples": 200}, "ngram": {"sizes": 1}}
    with pytest.raises(typer.BadParameter, match="not among --methods"):
        method_params(None, '{"lime": {"n_samples": 5}}', ["ngram"])


def test_target_is_passed_as_written():
    assert parse_target(None) is None and parse_target(" ") is None
    assert parse_target("1") == "1" and parse_target(" offensive ") == "offensive"


def test_printable_replaces_what_a_terminal_cannot_show():
    assert printable("caf\udce9") == "caf\ufffd" and printable("ये लोग") == "ये लोग"


@pytest.mark.parametrize("command", [["benchmark", "--model", "no-such-model"], ["demo"],
                                     ["run", "explain", "--model", "m", "--input", "x.jsonl", "--out", "o"],
                                     ["run", "evaluate", "--model", "m", "--input", "x.jsonl", "--out", "o"]])
def test_every_command_takes_param_and_checks_it_before_any_work(command):
    ok = runner.invoke(app, [*command, "--methods", "ngram", "--param", "ngram.bogus=1"])
    assert ok.exit_code == 2 and "unknown parameter" in " ".join(ok.output.split())
    old = runner.invoke(app, [*command, "--methods", "ngram", "--params", '{"ngram": {"bogus": 1}}'])
    assert old.exit_code == 2 and "--params is deprecated" in old.stderr
    assert "--param ngram.bogus=1" in old.stderr


def test_run_benchmark_is_gone_run_evaluate_does_it():
    result = runner.invoke(app, ["run", "benchmark", "--help"])
    assert result.exit_code != 0 and "No such command" in result.output


class _Stop(Exception):
    """Raised by the stand-in benchmark: the demo got as far as benchmarking."""


@pytest.mark.parametrize("extra, expected", [
    ([], {"lime": {"n_samples": 200}}),                          # the demo's own default
    (["--param", "lime.n_samples=30"], {"lime": {"n_samples": 30}}),
    (["--method-defaults"], {}),
    (["--params", "{}"], {}),                                    # deprecated, same as --method-defaults
])
def test_demo_parameters(extra, expected, fixtures_dir, tmp_path, monkeypatch):
    import rationales.evaluation.benchmark as bench
    from rationales.models.tiny import tiny_classifier

    seen = {}

    def fake_benchmark(clf, ds, methods, protocol, limit=None, params=None, **kw):
        seen.update(methods=methods, params=params)
        raise _Stop

    monkeypatch.setattr(bench, "benchmark", fake_benchmark)
    model = tmp_path / "model"
    tiny_classifier(label_names=("hatespeech", "normal", "offensive")).save(model)
    result = runner.invoke(app, ["demo", "--model-dir", str(model), "--data-dir", str(fixtures_dir / "data"),
                                 "--methods", "ngram,lime", "--out", str(tmp_path / "report"), *extra])
    assert isinstance(result.exception, _Stop), result.output
    assert seen == {"methods": ["ngram", "lime"], "params": expected}
    assert ("--method-defaults" in result.stderr) == (extra[:1] == ["--params"])

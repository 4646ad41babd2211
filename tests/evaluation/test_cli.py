"""The evaluate-stage commands that need no model: protocols and metrics."""

import json

import pytest
from typer.testing import CliRunner

from rationales.cli import app


def test_protocols_command_prints_resolved_choices():
    out = CliRunner().invoke(app, ["protocols"])
    assert out.exit_code == 0, out.output
    assert "hatexplain:" in out.output and "hard rationale=xmutest" in out.output
    data = json.loads(CliRunner().invoke(app, ["protocols", "--json"]).output)
    assert {p["name"]: p["hard"] for p in data} == {"hatexplain": "top_k=5", "eraser": "top_fraction=mean_gold",
                                                   "xmutest": "xmutest", "geco": "top_fraction=mean_gold"}


def test_metrics_command_lists_definitions():
    out = CliRunner().invoke(app, ["metrics"])
    assert out.exit_code == 0 and "iou_f1" in out.output and "partial match" in out.output


@pytest.mark.data
def test_benchmark_geco_by_hardness_from_the_command_line(tmp_path, data_dir):
    """The issue's command: ground-truth metrics beside the random baseline, and --by."""
    env = {"RATIONALES_DATA": str(data_dir)}
    model = tmp_path / "geco-tfidf"
    out = CliRunner().invoke(app, ["train", "--backbone", "tfidf", "--data", "geco:train", "-o", "variant=all",
                                   "--out", str(model)], env=env)
    assert out.exit_code == 0, out.output
    out = CliRunner().invoke(app, ["benchmark", "--model", str(model), "--data", "geco:test", "-o", "variant=all",
                                   "--protocol", "geco", "--methods", "occlusion", "--limit", "12",
                                   "--by", "hardness,length", "--out", str(tmp_path / "r")], env=env)
    assert out.exit_code == 0, out.output
    assert "mass_accuracy[" in out.output and "random" in out.output
    assert "### By margin" in out.output and "### By length" in out.output
    assert (tmp_path / "r" / "report.html").read_text().count("<h2>Metrics by hardness") == 2
    bad = CliRunner().invoke(app, ["benchmark", "--model", str(model), "--data", "geco:test", "--protocol", "geco",
                                   "--methods", "occlusion", "--limit", "3", "--by", "shape",
                                   "--out", str(tmp_path / "r2")], env=env)
    assert bad.exit_code == 2 and "unknown hardness signal 'shape'" in bad.output

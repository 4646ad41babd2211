"""The evaluate-stage commands that need no model: protocols and metrics."""

import json

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

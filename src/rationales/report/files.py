"""Write a benchmark run as JSON (everything), CSV (one row per metric value), Markdown and HTML."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from ..jsonio import write_json as write_json_file
from .table import markdown_table, strata_lines

if TYPE_CHECKING:
    from ..evaluation.benchmark import BenchmarkRun


def write_json(run: "BenchmarkRun", path: Path) -> Path:
    return write_json_file(path, run.to_dict())


def write_csv(run: "BenchmarkRun", path: Path) -> Path:
    """Long format: method, metric, variant, label, value, n, excluded (JSON)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["method", "metric", "variant", "label", "value", "n", "excluded"])
        for r in run.results:
            w.writerow([r.method or "", r.name, r.variant, r.label, "" if math.isnan(r.value) else r.value,
                        r.n, json.dumps(r.excluded)])
        for m, t in run.timing.items():
            for k in ("seconds_per_explanation", "forward_passes", "cache_hits"):
                w.writerow([m, k, "measured in this run", k, t.get(k), int(t.get("explanations", 0)), "{}"])
    return path


def write_markdown(run: "BenchmarkRun", path: Path) -> Path:
    text = "\n".join([
        f"# Benchmark: {run.model.get('name')} on {run.dataset}",
        "",
        f"{run.n_examples} examples. {run.protocol_text}.",
        "",
        markdown_table(run.results, run.timing),
        "",
        *([f"Evaluation: {run.evaluation_cost.get('seconds', 0):.1f} s, "
           f"{int(run.evaluation_cost.get('forward_passes', 0))} forward passes, "
           f"{int(run.evaluation_cost.get('cache_hits', 0))} of {int(run.evaluation_cost.get('requests', 0))} "
           f"requests answered from the engine's cache ({run.evaluation_cost['cache_share']:.1%}).", ""]
          if run.evaluation_cost.get("cache_share") is not None else []),
        *strata_lines(run),
    ])
    path.write_text(text, encoding="utf-8")
    return path


def write_all(run: "BenchmarkRun", out: str | Path) -> dict[str, str]:
    """Write results.json, results.csv, report.md and report.html into ``out``; return their paths."""
    from .html import write_html

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "json": folder / "results.json",
        "csv": folder / "results.csv",
        "markdown": folder / "report.md",
        "html": folder / "report.html",
    }
    run.files = {k: str(v) for k, v in files.items()}
    write_csv(run, files["csv"])
    write_markdown(run, files["markdown"])
    write_html(run, files["html"])
    write_json(run, files["json"])
    return run.files

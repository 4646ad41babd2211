"""Tables of metric results: methods as rows, metrics as columns, every variant named.

Cells hold short metric names; the legend under each table gives the full label
(``name[variant]``) and how many examples each value averaged, so a number is never shown
without its definition.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from ..types import MetricResult

if TYPE_CHECKING:
    from ..evaluation.benchmark import BenchmarkRun

#: column order: plausibility, faithfulness, then the rest
ORDER = ["token_f1", "token_precision", "token_recall", "iou_f1", "auprc", "comprehensiveness",
         "sufficiency", "aopc_comprehensiveness", "aopc_sufficiency", "tau_loo", "failure_rate",
         "llm_failure_rate", "hallucination_rate", "flip_rate", "words_changed", "mass_accuracy",
         "top_k_precision", "gt_roc_auc", "gt_average_precision", "precision_at_specificity", "pair_difference"]
CLASSIFICATION = ["accuracy", "macro_f1", "auroc"]
#: short column heads for the terminal; the legend below the table names every variant
SHORT = {"token_f1": "tok F1", "token_precision": "tok P", "token_recall": "tok R", "iou_f1": "IOU F1",
         "auprc": "AUPRC", "comprehensiveness": "comp", "sufficiency": "suff",
         "aopc_comprehensiveness": "AOPC comp", "aopc_sufficiency": "AOPC suff", "tau_loo": "tau LOO",
         "failure_rate": "failed", "llm_failure_rate": "LLM failed", "hallucination_rate": "halluc.",
         "flip_rate": "flipped", "words_changed": "words chg", "mass_accuracy": "mass acc",
         "top_k_precision": "top-k P", "gt_roc_auc": "GT AUC", "gt_average_precision": "GT AP",
         "precision_at_specificity": "P@spec>.5", "pair_difference": "pair diff"}


def result_matrix(results: Sequence[MetricResult]) -> tuple[list[str], list[str], dict[tuple[str, str], MetricResult]]:
    """(methods, metric names in display order, {(method, metric): result}) of per-method results."""
    cells = {(str(r.method), r.name): r for r in results if r.method is not None}
    methods = [m for m in dict.fromkeys(r.method for r in results) if m is not None]
    present = {r.name for r in results if r.method is not None}
    names = [n for n in ORDER if n in present] + sorted(present - set(ORDER))
    return methods, names, cells


def legend(results: Sequence[MetricResult]) -> list[str]:
    """One line per distinct metric label: ``label  (n=..., excluded ...)``."""
    seen: dict[str, MetricResult] = {}
    for r in results:
        seen.setdefault(r.label, r)
    lines = []
    for label in seen:
        ns = sorted({x.n for x in results if x.label == label})
        excl: dict[str, int] = {}
        for x in results:
            if x.label == label:
                for k, v in x.excluded.items():
                    excl[k] = max(excl.get(k, 0), v)
        extra = ", excluded " + ", ".join(f"{k}: {v}" for k, v in excl.items()) if excl else ""
        lines.append(f"{label}  (n={'/'.join(map(str, ns))}{extra})")
    return lines


def fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3f}"


def _rows(run_or_results: Any, timing: dict[str, dict[str, float]] | None) -> tuple[list[str], list[list[str]]]:
    results = run_or_results
    methods, names, cells = result_matrix(results)
    header = ["method", *names] + (["s/explanation", "forward/explanation"] if timing else [])
    rows = []
    for m in methods:
        row = [m] + [fmt(cells[(m, n)].value) if (m, n) in cells else "" for n in names]
        if timing:
            t = timing.get(m, {})
            per = t.get("explanations") or 1
            row += [f"{t.get('seconds_per_explanation', float('nan')):.3f}", f"{t.get('forward_passes', 0) / per:.1f}"]
        rows.append(row)
    return header, rows


def markdown_table(results: Sequence[MetricResult], timing: dict[str, dict[str, float]] | None = None) -> str:
    """The per-method table and the classification line as Markdown, with the variant legend."""
    header, rows = _rows(results, timing)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    cls = [r for r in results if r.method is None]
    if cls:
        out += ["", "Classifier: " + ", ".join(f"{r.name} {fmt(r.value)}" for r in cls)]
    out += ["", "Variants:", ""] + [f"- `{line}`" for line in legend(results)]
    return "\n".join(out)


def print_results(results: Sequence[MetricResult], header: str | None = None,
                  timing: dict[str, dict[str, float]] | None = None, console: Any = None) -> None:
    """Print the table in the terminal with rich, the header (protocol) first, the legend after."""
    import sys

    from rich.console import Console
    from rich.table import Table

    # a pipe or a file gets a wide table instead of rich's 80 columns
    console = console or (Console() if sys.stdout.isatty() else Console(width=200))
    if header:
        console.print(f"[bold]{header}[/bold]")
    head, rows = _rows(results, timing)
    head = [SHORT.get(h, h) for h in head]
    table = Table(show_lines=False)
    for i, h in enumerate(head):
        table.add_column(h, justify="left" if i == 0 else "right", overflow="fold")
    for r in rows:
        table.add_row(*r)
    console.print(table)
    cls = [r for r in results if r.method is None]
    if cls:
        console.print("Classifier: " + ", ".join(f"{r.name} {fmt(r.value)}" for r in cls))
    console.print("Variants (column = name[variant], n = examples averaged):", style="dim", markup=False)
    for line in legend(results):
        console.print(f"  {line}", style="dim", highlight=False, markup=False, overflow="fold")


def print_run(run: "BenchmarkRun", console: Any = None) -> None:
    """A benchmark run: model, data, protocol header, table with timings, legend."""
    header = (f"{run.model.get('name')} on {run.dataset}, {run.n_examples} examples\n{run.protocol_text}")
    print_results(run.results, header, run.timing, console)


def strata_lines(run: "BenchmarkRun") -> list[str]:
    """Markdown tables of every metric per hardness tercile (one per signal), with n and the
    hardest − easiest difference and its bootstrap 95 % interval."""
    out: list[str] = []
    for signal, rows in run.strata.items():
        out += [f"### By {signal} (terciles, hardest → easiest)", "",
                "| method | metric | hardest | middle | easiest | hardest − easiest [95 % CI] |",
                "|---|---|---|---|---|---|"]
        for r in rows:
            cells = [f"{fmt(r[t]['mean'])} (n={r[t]['n']})" for t in ("hardest", "middle", "easiest")]
            lo, hi = r["ci95"]
            diff = r["hardest_minus_easiest"]
            ci = f"{fmt(diff)} [{fmt(lo)}, {fmt(hi)}]" if diff is not None else "-"
            out.append(f"| {r['method']} | {r['metric']} | " + " | ".join(cells) + f" | {ci} |")
        out.append("")
    return out


def print_strata(run: "BenchmarkRun", console: Any = None) -> None:
    """The per-tercile tables of a run made with ``strata=`` (nothing otherwise)."""
    if not run.strata:
        return
    from rich.console import Console

    console = console or Console()
    for line in strata_lines(run):
        console.print(line, markup=False, highlight=False, soft_wrap=True)

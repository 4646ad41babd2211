"""CLI commands for the evaluate stage: evaluate, benchmark, protocols, metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional

import typer

from . import app
from ._options import (
    DATA_DIR,
    LOADER_OPTIONS,
    PARAM,
    PARAMS,
    check_params,
    cli_errors,
    echo_json,
    load_data,
    method_names,
    method_params,
)

#: the methods `benchmark` and `demo` run when --methods is not given
DEFAULT_METHODS = "attention,grad_input,integrated_gradients,occlusion,lime,ngram"


def _overrides(sets: list[str] | None) -> dict[str, str]:
    out = {}
    for s in sets or []:
        key, eq, value = s.partition("=")
        if not eq or not key.strip():
            raise typer.BadParameter(f"--set expects FIELD=VALUE (e.g. top_k=10), got {s!r}")
        out[key.strip()] = value.strip()
    return out


def _protocol_options(protocol: str, top_k: Optional[int], removal: Optional[str], sets: list[str] | None) -> dict[str, Any]:
    over: dict[str, Any] = _overrides(sets)
    if top_k is not None:
        over["top_k"] = top_k
    if removal is not None:
        over["removal"] = removal
    return over


@app.command("protocols")
def protocols_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the evaluation protocols and every choice each one fixes."""
    from ..evaluation import protocols
    from ..evaluation.protocols import get_protocol

    items = protocols()
    if as_json:
        echo_json(items, indent=1)
        return
    for p in items:
        typer.echo(f"{p['name']}: {p['description']}")
        typer.echo(f"    {get_protocol(p['name']).describe()}")


@app.command("metrics")
def metrics_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the metrics with their family and exact definition."""
    from ..evaluation import metrics

    items = metrics()
    if as_json:
        echo_json(items, indent=1)
        return
    for m in items:
        typer.echo(f"{m['name']:<24} {m['family']:<15} {m['description']}")


@app.command("evaluate")
def evaluate_command(
    model: str = typer.Option(..., "--model", help="Model folder or backbone name."),
    explanations: Path = typer.Option(..., "--explanations", help="JSONL of explanations (rationales explain --out)."),
    data: str = typer.Option("hatexplain:test", "--data", help="NAME:SPLIT or a data file."),
    protocol: str = typer.Option("hatexplain", "--protocol", help="hatexplain, eraser or xmutest (see `rationales protocols`)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", help="Override the hard rationale: the top K words."),
    removal: Optional[str] = typer.Option(None, "--removal", help="Override removal: delete or mask."),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="Override any protocol field: FIELD=VALUE (repeatable)."),
    data_dir: Optional[Path] = DATA_DIR,
    opt: Optional[List[str]] = LOADER_OPTIONS,
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as JSON here."),
    all_examples: bool = typer.Option(False, "--all-examples", help="Evaluate every example the protocol selects; "
                                      "unexplained ones count as excluded."),
) -> None:
    """Evaluate saved explanations against a dataset under a protocol."""
    from ..evaluation import evaluate
    from ..evaluation.protocols import get_protocol
    from ..jsonio import write_json
    from ..models import load_classifier
    from ..report.table import print_results
    from ..types import Explanation

    if not explanations.is_file():
        raise typer.BadParameter(f"{explanations} does not exist", param_hint="--explanations")
    exps = []
    for i, line in enumerate(explanations.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                exps.append(Explanation.from_dict(json.loads(line)))
            except (ValueError, KeyError) as err:
                raise typer.BadParameter(f"{explanations} line {i}: not an explanation ({err})") from None
    ds = load_data(data, data_dir, opt=opt)
    with cli_errors("--model"):
        clf = load_classifier(model)
    over = _protocol_options(protocol, top_k, removal, sets)
    with cli_errors("--protocol/--set"):
        proto = get_protocol(protocol, **over).resolve(ds)
    if not all_examples:
        # a file from `explain --limit N` covers a few posts: score those, say how many
        explained = {e.example_id for e in exps}
        n_sel = len(proto.select(ds))
        ds = ds.filter(lambda ex: ex.id in explained)
        typer.echo(f"{len(proto.select(ds))} of the {n_sel} examples protocol {proto.name} selects have an "
                   f"explanation; metrics (classification included) cover those (--all-examples: every one)")
    with cli_errors():
        results = evaluate(clf, exps, ds, proto)
    print_results(results, proto.describe(ds))
    if out:
        with cli_errors("--out"):
            write_json(out, [r.to_dict() for r in results])
        typer.echo(f"results: {out}")


@app.command("benchmark")
def benchmark_command(
    model: str = typer.Option(..., "--model", help="Model folder or backbone name."),
    data: str = typer.Option("hatexplain:test", "--data", help="NAME:SPLIT or a data file."),
    protocol: str = typer.Option("hatexplain", "--protocol", help="hatexplain, eraser or xmutest."),
    methods: str = typer.Option(DEFAULT_METHODS, "--methods", help="Comma-separated explainers."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N examples the protocol selects (0 = all)."),
    out: Path = typer.Option(Path("reports/benchmark"), "--out", help="Folder for results.json/.csv, report.md, report.html."),
    top_k: Optional[int] = typer.Option(None, "--top-k", help="Override the hard rationale: the top K words."),
    removal: Optional[str] = typer.Option(None, "--removal", help="Override removal: delete or mask."),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="Override any protocol field: FIELD=VALUE (repeatable)."),
    param: Optional[List[str]] = PARAM,
    params: Optional[str] = PARAMS,
    data_dir: Optional[Path] = DATA_DIR,
    opt: Optional[List[str]] = LOADER_OPTIONS,
    compare: Optional[Path] = typer.Option(None, "--compare", help="An earlier run's folder or results.json: print the "
                                           "differences."),
    by: Optional[str] = typer.Option(None, "--by", help="Also report every metric per tercile of a hardness signal: "
                                     "hardness (= margin), margin, loss, correct, agreement, length (comma list)."),
) -> None:
    """Explain with several methods, evaluate under a protocol, print the table, write the report."""
    from ..evaluation.benchmark import benchmark
    from ..evaluation.protocols import get_protocol
    from ..models import load_classifier
    from ..report import write_all
    from ..report.table import print_run, print_strata

    names = method_names(methods)
    method_kw = method_params(param, params, names)
    check_params(names, method_kw)
    over = _protocol_options(protocol, top_k, removal, sets)
    with cli_errors("--protocol/--set"):
        get_protocol(protocol, **over)  # a typo fails before the model is loaded
    ds = load_data(data, data_dir, opt=opt)
    with cli_errors("--model"):
        clf = load_classifier(model)
    with cli_errors():
        run = benchmark(clf, ds, names, protocol, limit=limit or None, params=method_kw, strata=by, **over)
        write_all(run, out)
    print_run(run)
    print_strata(run)
    if compare is not None:
        from ..evaluation.benchmark import BenchmarkRun
        from ..report.table import fmt

        typer.echo(f"\nCompared with {compare} (mean per-example difference on shared examples):")
        with cli_errors("--compare"):
            rows = run.compare(BenchmarkRun.load(compare))
        for row in rows:
            diff = row["per_example_mean_diff"]
            note = "different variants: not comparable" if not row["same_variant"] else (
                f"{diff:+.3f} over {row['n_shared']}" if diff is not None else "no shared examples")
            typer.echo(f"  {row['method'] or 'classifier'} {row['metric']}: {fmt(row['this'])} vs {fmt(row['other'])} ({note})")
    typer.echo(f"report: {run.files.get('html')}")

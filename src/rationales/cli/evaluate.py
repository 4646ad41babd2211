"""CLI commands for the evaluate stage: evaluate, benchmark, protocols, metrics, demo."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, List, Optional

import typer

from . import app

DEFAULT_METHODS = "attention,grad_input,integrated_gradients,occlusion,lime,ngram"
#: The demo's defaults keep `make demo` within 20 minutes on two cores, training
#: included (the timing is in the closing note of issue 5): 2 epochs (3 gain about 0.01
#: macro-F1 for half as much time again), 50 posts, LIME/KernelSHAP at 200 samples.
#: `--limit 0` benchmarks all 1,142 posts; `--params '{}'` restores method defaults.
DEMO_LIMIT = 50
DEMO_EPOCHS = 2
DEMO_PARAMS = '{"lime": {"n_samples": 200}, "kernel_shap": {"n_samples": 200}}'
DEMO_MODEL = Path("models/demo-minilm")


def _method_params(params: Optional[str]) -> dict[str, Any] | None:
    """Parse --params JSON: {method: {parameter: value}}."""
    try:
        parsed = json.loads(params) if params else None
    except ValueError as err:
        raise typer.BadParameter(f"not JSON: {err}", param_hint="--params") from None
    if parsed is not None and not isinstance(parsed, dict):
        raise typer.BadParameter('expected a JSON object such as {"lime": {"n_samples": 200}}',
                                 param_hint="--params")
    return parsed


def _overrides(sets: list[str] | None) -> dict[str, str]:
    out = {}
    for s in sets or []:
        key, eq, value = s.partition("=")
        if not eq or not key.strip():
            raise typer.BadParameter(f"--set expects FIELD=VALUE (e.g. top_k=10), got {s!r}")
        out[key.strip()] = value.strip()
    return out


def _load_data(spec: str, data_dir: Optional[Path]):
    from ..data import load_spec

    return load_spec(spec, data_dir=str(data_dir) if data_dir else None)


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
        typer.echo(json.dumps(items, indent=1))
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
        typer.echo(json.dumps(items, indent=1))
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
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the datasets."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as JSON here."),
    all_examples: bool = typer.Option(False, "--all-examples", help="Evaluate every example the protocol selects; unexplained ones count as excluded."),
) -> None:
    """Evaluate saved explanations against a dataset under a protocol."""
    from ..evaluation import evaluate
    from ..evaluation.protocols import get_protocol
    from ..models import load_classifier
    from ..jsonio import write_json
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
    ds = _load_data(data, data_dir)
    clf = load_classifier(model)
    over = _protocol_options(protocol, top_k, removal, sets)
    proto = get_protocol(protocol, **over).resolve(ds)
    if not all_examples:
        # a file from `explain --limit N` covers a few posts: score those, say how many
        explained = {e.example_id for e in exps}
        n_sel = len(proto.select(ds))
        ds = ds.filter(lambda ex: ex.id in explained)
        typer.echo(f"{len(proto.select(ds))} of the {n_sel} examples protocol {proto.name} selects have an "
                   f"explanation; metrics (classification included) cover those (--all-examples: every one)")
    results = evaluate(clf, exps, ds, proto)
    print_results(results, proto.describe(ds))
    if out:
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
    params: Optional[str] = typer.Option(None, "--params", help='Explainer parameters as JSON: {"lime": {"n_samples": 200}}.'),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the datasets."),
    compare: Optional[Path] = typer.Option(None, "--compare", help="An earlier run's folder or results.json: print the differences."),
) -> None:
    """Explain with several methods, evaluate under a protocol, print the table, write the report."""
    from ..evaluation.benchmark import benchmark
    from ..report import write_all
    from ..models import load_classifier
    from ..report.table import print_run

    ds = _load_data(data, data_dir)
    clf = load_classifier(model)
    method_params = _method_params(params)
    run = benchmark(clf, ds, methods, protocol, limit=limit or None, params=method_params,
                    **_protocol_options(protocol, top_k, removal, sets))
    write_all(run, out)
    print_run(run)
    if compare is not None:
        from ..evaluation.benchmark import BenchmarkRun
        from ..report.table import fmt

        typer.echo(f"\nCompared with {compare} (mean per-example difference on shared examples):")
        for row in run.compare(BenchmarkRun.load(compare)):
            diff = row["per_example_mean_diff"]
            note = "different variants: not comparable" if not row["same_variant"] else (
                f"{diff:+.3f} over {row['n_shared']}" if diff is not None else "no shared examples")
            typer.echo(f"  {row['method'] or 'classifier'} {row['metric']}: {fmt(row['this'])} vs {fmt(row['other'])} ({note})")
    typer.echo(f"report: {run.files.get('html')}")


@app.command("demo")
def demo_command(
    limit: int = typer.Option(DEMO_LIMIT, "--limit", help="Posts to benchmark (0 = all 1,142 non-normal test posts)."),
    methods: str = typer.Option(DEFAULT_METHODS, "--methods", help="Comma-separated explainers."),
    model_dir: Path = typer.Option(DEMO_MODEL, "--model-dir", help="Where the demo classifier lives (trained if missing)."),
    out: Path = typer.Option(Path("reports/demo"), "--out", help="Report folder."),
    epochs: int = typer.Option(DEMO_EPOCHS, "--epochs", help="Training epochs when the model folder does not exist."),
    params: str = typer.Option(DEMO_PARAMS, "--params", help="Explainer parameters as JSON ('{}' = each method's defaults)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the datasets."),
) -> None:
    """The main job: dataset statistics, train MiniLM on HateXplain (once), benchmark, report."""
    from ..data import available, dataset_stats, load_dataset
    from ..evaluation.benchmark import benchmark
    from ..report import write_all
    from ..models import load_classifier
    from ..report.table import print_run

    t_start = time.perf_counter()
    ddir = str(data_dir) if data_dir else None
    typer.echo("== Datasets found ==")
    for name, split, _ in available(ddir):
        try:
            st = dataset_stats(load_dataset(name, split, data_dir=ddir))
        except Exception as err:  # noqa: BLE001 - one unreadable dataset must not stop the demo
            typer.echo(f"{name}:{split}: could not load ({err})")
            continue
        counts = ", ".join(f"{k} {v}" for k, v in (st.get("label_counts") or {}).items())
        frac = st.get("mean_rationale_fraction")
        typer.echo(f"{name}:{split}: {st['examples']} examples; {counts}; with rationale {st.get('with_rationale')}; "
                   f"mean words {st.get('mean_words', 0):.1f}; mean rationale fraction "
                   f"{'n/a' if frac is None else f'{frac:.3f}'}")

    test = load_dataset("hatexplain", "test", data_dir=ddir)
    if model_dir.is_dir():
        typer.echo(f"\n== Classifier: {model_dir} (exists; delete it to retrain) ==")
        clf = load_classifier(model_dir)
    else:
        from ..models.train import train

        typer.echo(f"\n== Training MiniLM on HateXplain val ({epochs} epochs, max_length 96) into {model_dir} ==")
        t0 = time.perf_counter()
        val = load_dataset("hatexplain", "val", data_dir=ddir)
        clf = train(val, backbone="minilm-en", epochs=epochs, max_length=96, batch_size=16, lr=5e-5,
                    out=model_dir, label_names=val.label_names)
        typer.echo(f"trained in {time.perf_counter() - t0:.0f} s")

    typer.echo(f"\n== Benchmark on the hatexplain protocol ({'all' if not limit else limit} posts; "
               f"`rationales demo --limit 0` runs all 1,142) ==")
    t0 = time.perf_counter()
    wanted = {m.strip() for m in methods.split(",")}
    method_params = {m: p for m, p in (_method_params(params) or {}).items() if m in wanted}
    run = benchmark(clf, test, methods, "hatexplain", limit=limit or None, params=method_params)
    write_all(run, out)
    print_run(run)
    typer.echo(f"benchmark: {time.perf_counter() - t0:.0f} s; whole demo: {time.perf_counter() - t_start:.0f} s")
    typer.echo(f"report: {run.files.get('html')}")


"""`rationales demo`: dataset statistics, train MiniLM on HateXplain (once), benchmark, report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from . import app
from ._options import DATA_DIR, PARAM, PARAMS, check_params, cli_errors, load_data, method_names, method_params
from .evaluate import DEFAULT_METHODS

#: The demo's defaults keep `make demo` within 20 minutes on two cores, training
#: included (the timing is in the closing note of issue 5): 2 epochs (3 gain about 0.01
#: macro-F1 for half as much time again), 50 posts, LIME/KernelSHAP at 200 samples.
#: `--limit 0` benchmarks all 1,142 posts; `--method-defaults` restores each method's own.
DEMO_LIMIT = 50
DEMO_EPOCHS = 2
DEMO_PARAMS = {"lime": {"n_samples": 200}, "kernel_shap": {"n_samples": 200}}
DEMO_MODEL = Path("models/demo-minilm")


@app.command("demo")
def demo_command(
    limit: int = typer.Option(DEMO_LIMIT, "--limit", help="Posts to benchmark (0 = all 1,142 non-normal test posts)."),
    methods: str = typer.Option(DEFAULT_METHODS, "--methods", help="Comma-separated explainers."),
    model_dir: Path = typer.Option(DEMO_MODEL, "--model-dir", help="Where the demo classifier lives (trained if missing)."),
    out: Path = typer.Option(Path("reports/demo"), "--out", help="Report folder."),
    epochs: int = typer.Option(DEMO_EPOCHS, "--epochs", help="Training epochs when the model folder does not exist."),
    param: Optional[List[str]] = PARAM,
    params: Optional[str] = PARAMS,
    method_defaults: bool = typer.Option(False, "--method-defaults", help="Each method's own parameters instead of "
                                         "the demo's (LIME and KernelSHAP at 200 samples)."),
    data_dir: Optional[Path] = DATA_DIR,
) -> None:
    """The main job: dataset statistics, train MiniLM on HateXplain (once), benchmark, report."""
    from ..data import available, dataset_stats, load_dataset
    from ..evaluation.benchmark import benchmark
    from ..models import load_classifier
    from ..report import write_all
    from ..report.table import print_run

    names = method_names(methods)
    # the demo's defaults (and the deprecated --params) may name methods --methods leaves out
    method_kw = method_params(param, params, names, base=None if method_defaults else DEMO_PARAMS,
                              only_listed=True, empty_form="--method-defaults")
    check_params(names, method_kw)

    t_start = time.perf_counter()
    typer.echo("== Datasets found ==")
    for name, split, _ in available(data_dir):
        try:
            st = dataset_stats(load_dataset(name, split, data_dir=data_dir))
        except Exception as err:  # noqa: BLE001 - one unreadable dataset must not stop the demo
            typer.echo(f"{name}:{split}: could not load ({err})")
            continue
        counts = ", ".join(f"{k} {v}" for k, v in (st.get("label_counts") or {}).items())
        frac = st.get("mean_rationale_fraction")
        typer.echo(f"{name}:{split}: {st['examples']} examples; {counts}; with rationale {st.get('with_rationale')}; "
                   f"mean words {st.get('mean_words', 0):.1f}; mean rationale fraction "
                   f"{'n/a' if frac is None else f'{frac:.3f}'}")

    test = load_data("hatexplain:test", data_dir, hint="--data-dir")
    if model_dir.is_dir():
        typer.echo(f"\n== Classifier: {model_dir} (exists; delete it to retrain) ==")
        with cli_errors("--model-dir"):
            clf = load_classifier(model_dir)
    else:
        from ..models.train import train

        typer.echo(f"\n== Training MiniLM on HateXplain val ({epochs} epochs, max_length 96) into {model_dir} ==")
        t0 = time.perf_counter()
        val = load_data("hatexplain:val", data_dir, hint="--data-dir")
        with cli_errors():
            clf = train(val, backbone="minilm-en", epochs=epochs, max_length=96, batch_size=16, lr=5e-5,
                        out=model_dir, label_names=val.label_names)
        typer.echo(f"trained in {time.perf_counter() - t0:.0f} s")

    typer.echo(f"\n== Benchmark on the hatexplain protocol ({'all' if not limit else limit} posts; "
               f"`rationales demo --limit 0` runs all 1,142) ==")
    t0 = time.perf_counter()
    with cli_errors():
        run = benchmark(clf, test, names, "hatexplain", limit=limit or None, params=method_kw)
        write_all(run, out)
    print_run(run)
    typer.echo(f"benchmark: {time.perf_counter() - t0:.0f} s; whole demo: {time.perf_counter() - t_start:.0f} s")
    typer.echo(f"report: {run.files.get('html')}")

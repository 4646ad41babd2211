"""`rationales xmutest`: the X-MuTeST pipeline for one language, resumable (rx.pipelines.xmutest)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from . import app
from ._options import (
    DATA_DIR,
    LOADER_OPTIONS,
    PARAM,
    check_params,
    cli_errors,
    echo_json,
    loader_options,
    method_names,
    method_params,
)

_TABLE = "ngram,llm,union,attention,lime"


@app.command("xmutest")
def xmutest_command(
    out: Path = typer.Option(..., "--out", help="Folder for every stage and the report; rerun the same command "
                             "to resume (finished stages are skipped)."),
    lang: str = typer.Option("en", "--lang", help="en, hi or te."),
    data_dir: Optional[Path] = DATA_DIR,
    opt: Optional[List[str]] = LOADER_OPTIONS,
    train: Optional[str] = typer.Option(None, "--train", help="Training data, NAME:SPLIT or a file (default: "
                                        "xmutest:train in --lang)."),
    test: Optional[str] = typer.Option(None, "--test", help="Test data (default: xmutest:test in --lang)."),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="Backbone name or model folder (default: "
                                           "minilm-en for en, e5-multilingual for hi and te)."),
    alpha: float = typer.Option(0.7, "--alpha", help="Weight of the attention BCE in the xmutest loss."),
    epochs: int = typer.Option(3, "--epochs", min=1),
    max_length: int = typer.Option(128, "--max-length", min=8, help="Subword tokens per input."),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    lr: float = typer.Option(2e-5, "--lr"),
    seed: int = typer.Option(0, "--seed"),
    validation: float = typer.Option(0.1, "--validation", help="Share of train held out to pick each model's "
                                     "best epoch."),
    select_on: str = typer.Option("validation", "--select-on", help="validation (default) or test: pick the "
                                  "best epoch on the test split as the paper's notebooks did (to reproduce "
                                  "the paper only; the report says so)."),
    llm: Optional[str] = typer.Option(None, "--llm", help="LLM backend spec for llm/union (default: the "
                                      "package's default LLM)."),
    methods: str = typer.Option(_TABLE, "--methods", help="The explanation table's methods."),
    param: Optional[List[str]] = PARAM,
    limit_test: Optional[int] = typer.Option(None, "--limit-test", min=1, help="Explanation table on the first N "
                                             "test posts the xmutest protocol selects (default: all)."),
    llm_train: Optional[int] = typer.Option(None, "--llm-train", min=0, help="Ask the LLM about the first N "
                                            "training posts only (default: all); the others' stage-2 "
                                            "rationale is the n-gram half of the union."),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also train a model without rationales."),
    stage2_from: str = typer.Option("backbone", "--stage2-from", help="backbone (default) or stage1: where "
                                    "stage 2's fine-tuning starts."),
    chunk_size: int = typer.Option(32, "--chunk-size", min=1, help="Posts per stored chunk of the explanation job."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads (default: torch's choice)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    as_json: bool = typer.Option(False, "--json", help="Print the run as JSON instead of the Markdown report."),
) -> None:
    """X-MuTeST end to end: stage 1 on human rationales, n-gram + LLM explanations and their
    union, stage 2 on the union, a baseline, evaluation on test and the report."""
    from ..pipelines import xmutest

    names = method_names(methods)
    all_names = list(dict.fromkeys([*names, "ngram", "llm", "union"]))
    params = method_params(param, None, all_names)
    check_params(all_names, params)
    options = loader_options(opt)
    try:
        with cli_errors():
            run = xmutest(lang, out=out, train=train, test=test, data_dir=data_dir, options=options,
                          backbone=backbone, alpha=alpha, epochs=epochs, max_length=max_length,
                          batch_size=batch_size, lr=lr, seed=seed, validation=validation,
                          select_on=select_on, llm=llm, methods=names, params=params,
                          limit_test=limit_test, llm_train=llm_train, baseline=baseline,
                          stage2_from=stage2_from, chunk_size=chunk_size, threads=threads,
                          progress=not quiet)
    except KeyboardInterrupt:
        typer.echo(f"\ninterrupted: finished stages are kept in {out}; rerun the same command to resume.", err=True)
        raise typer.Exit(130) from None
    if as_json:
        echo_json(run.to_dict())
        return
    typer.echo(Path(run.files["markdown"]).read_text(encoding="utf-8"))
    typer.echo(f"report: {run.files['markdown']}, {run.files['html']}, {run.files['json']}")

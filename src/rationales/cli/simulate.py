"""CLI command `rationales simulate`: forward and counterfactual simulatability (``rx.simulate``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app
from ._options import (
    DATA_DIR,
    LOADER_OPTIONS_LONG,
    PARAM,
    check_out,
    check_params,
    cli_errors,
    echo_json,
    load_data,
    method_names,
    method_params,
)


@app.command("simulate")
def simulate_command(
    model: str = typer.Option(..., "--model", "-m", help="A saved model folder, a Hugging Face folder, or a backbone "
                              "name."),
    data: str = typer.Option(..., "--data", help="The posts: NAME:SPLIT (hatexplain:test) or a .jsonl/.csv file."),
    data_dir: Optional[Path] = DATA_DIR,
    opt: Optional[list[str]] = LOADER_OPTIONS_LONG,
    methods: str = typer.Option("ngram,lime,occlusion,attention,random", "--methods",
                                help="Comma-separated explainers to test; keep `random` as the control."),
    param: Optional[list[str]] = PARAM,
    simulator: str = typer.Option("learned", "--simulator", help="learned (bag-of-words logistic regression) "
                                  "or llm."),
    llm: Optional[str] = typer.Option(None, "--llm", help="The LLM of --simulator llm (a spec such as "
                                      "llamacpp:qwen2.5-1.5b; default: the best installed)."),
    n_shown: int = typer.Option(200, "--n-shown", help="Posts shown to the simulator with the model's labels."),
    n_test: int = typer.Option(100, "--n-test", help="Unseen posts whose labels the simulator predicts."),
    k: int = typer.Option(5, "--k", help="Highlighted words per explanation (top-k with score > 0)."),
    modes: str = typer.Option("forward,counterfactual", "--modes", help="forward, counterfactual or both."),
    rationale_weight: float = typer.Option(1.0, "--rationale-weight", help="learned: sample weight of each "
                                           "highlight-only training row."),
    seed: int = typer.Option(0, "--seed", help="Seed of the shown/test split and the bootstrap."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples of the gain's interval."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON instead of a table."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the result (JSON) to this file."),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Write the Markdown table to this file."),
) -> None:
    """Does each method's explanation help a simulator predict the model's labels on unseen posts?"""
    from ..evaluation.simulate import MODES, SIMULATORS, simulate
    from ..jsonio import write_json
    from ..models import load_classifier

    check_out(out)
    if simulator not in SIMULATORS:
        raise typer.BadParameter(f"{simulator!r}: use one of {', '.join(SIMULATORS)}", param_hint="--simulator")
    bad = [m for m in (x.strip() for x in modes.split(",")) if m not in MODES]
    if bad:
        raise typer.BadParameter(f"{bad}: modes are {', '.join(MODES)}", param_hint="--modes")
    names = method_names(methods)
    params = method_params(param, None, names)
    check_params(names, params)
    ds = load_data(data, data_dir, opt=opt)
    with cli_errors("--model"):
        classifier = load_classifier(model)
    with cli_errors():
        result = simulate(classifier, ds, names, simulator=simulator, llm=llm, n_shown=n_shown, n_test=n_test, k=k,
                          modes=modes, params=params, rationale_weight=rationale_weight, seed=seed, n_boot=n_boot,
                          progress=True)
    if out is not None:
        with cli_errors("--out"):
            write_json(out, result.to_dict())
        typer.echo(f"wrote {out}", err=True)
    if markdown is not None:
        with cli_errors("--markdown"):
            markdown.write_text(result.to_markdown(), encoding="utf-8")
    if as_json:
        echo_json(result.to_dict())
    else:
        typer.echo(result.to_markdown())

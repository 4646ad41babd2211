"""CLI commands for the explain stage: `rationales explain` and `rationales explainers`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from . import app
from ._options import (
    DATA_DIR,
    LOADER_OPTIONS_LONG,
    PARAM,
    TARGET,
    check_out,
    check_params,
    cli_errors,
    echo_json,
    load_data,
    method_names,
    method_params,
    parse_params,
    parse_target,
    parse_value,
    printable,
)

# parse_params and parse_value live in ._options; still importable from here
__all__ = ["explain_command", "explainers_command", "parse_params", "parse_value", "render"]


def _shade(score: float, scale: float) -> str:
    """A background colour: red for positive (responsible), blue for negative."""
    a = 0.0 if scale <= 0 else max(-1.0, min(1.0, score / scale))
    if a >= 0:
        g = int(255 - 200 * a)
        return f"black on rgb(255,{g},{g})"
    b = int(255 + 200 * a)
    return f"black on rgb({b},{b},255)"


def render(console: Any, example: Any, explanations: list[Any], label_names: list[str]) -> None:
    """One example: the prediction with probabilities, then one shaded line per method."""
    from rich.table import Table
    from rich.text import Text

    probs = next((e.info.get("probs") for e in explanations if e.info.get("probs")), None)
    head = Text(f"[{printable(str(example.id))}] ", style="bold")
    if probs:
        pred = int(max(range(len(probs)), key=probs.__getitem__))
        head.append(f"predicted {label_names[pred]}  ", style="bold")
        head.append("  ".join(f"{n}={p:.3f}" for n, p in zip(label_names, probs)))
    if explanations:
        head.append(f"   explaining: {label_names[explanations[0].target]}", style="italic")
    console.print(head)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("method", style="cyan", no_wrap=True)
    table.add_column("words")
    for exp in explanations:
        line = Text()
        if exp.failed:
            line.append(f"failed: {printable(str(exp.failed))}", style="red")
        else:
            scale = max((abs(s) for s in exp.scores), default=0.0)
            for i, (word, score) in enumerate(zip(exp.words, exp.scores)):
                if i:
                    line.append(" ")
                line.append(printable(word), style=_shade(score, scale))
            if "truncated_at" in exp.info:
                line.append(f"  (model saw the first {exp.info['truncated_at']} words)", style="dim")
        table.add_row(exp.method, line)
        if not exp.failed and isinstance(exp.info.get("nle"), str):  # an explanation in words, under its highlight
            table.add_row("", Text(printable(exp.info["nle"]), style="italic"))
    console.print(table)
    console.print()


@app.command("explain")
def explain_command(
    model: str = typer.Option(..., "--model", "-m", help="A saved model folder, a Hugging Face folder, or a backbone "
                              "name (minilm-en, e5-multilingual, tfidf)."),
    text: Optional[list[str]] = typer.Option(None, "--text", "-t", help="A text to explain (repeat for several)."),
    data: Optional[str] = typer.Option(None, "--data", help="Explain a dataset: NAME:SPLIT (hatexplain:test) or a "
                                       ".jsonl/.csv file."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Explain only the first N examples of --data."),
    data_dir: Optional[Path] = DATA_DIR,
    opt: Optional[list[str]] = LOADER_OPTIONS_LONG,
    methods: str = typer.Option("ngram,occlusion", "--methods", help="Comma-separated explainer names (see "
                                "`rationales explainers`)."),
    param: Optional[list[str]] = PARAM,
    target: Optional[str] = TARGET,
    as_json: bool = typer.Option(False, "--json", help="Print the explanations as a JSON list instead of the shaded view."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write one explanation per line "
                                       "(Explanation.to_dict) to this .jsonl file."),
) -> None:
    """Explain a classifier's predictions word by word with one or more methods."""
    from rich.console import Console

    from ..jsonio import write_jsonl
    from ..methods import explain
    from ..methods.request import check_capabilities, check_examples, target_id
    from ..models import load_classifier
    from ..models.base import as_examples
    from ..progress import Progress

    # what needs no model is checked before one is loaded; rx.explain checks it all again
    # (check_request), the steps here only name the option at fault
    check_out(out)
    names = method_names(methods)
    params = method_params(param, None, names)
    check_params(names, params)
    if bool(text) == bool(data):
        raise typer.BadParameter("give either --text (one or more) or --data NAME:SPLIT", param_hint="--text/--data")
    if data:
        ds = load_data(data, data_dir, opt=opt)
        examples = list(ds.examples[:limit] if limit is not None else ds.examples)
    else:
        examples = as_examples(list(text or []))
    with cli_errors("--text/--data"):
        check_examples(examples)
    with cli_errors("--model"):
        classifier = load_classifier(model)
    with cli_errors("--methods"):
        check_capabilities(names, classifier)
    tgt: Any = parse_target(target)
    if tgt is not None:
        with cli_errors("--target"):
            tgt = target_id(classifier, tgt)

    with cli_errors(), Progress(len(examples) * len(names), "explaining", unit="expl",
                                transient=True, enabled=len(examples) >= 2) as bar:
        flat = explain(classifier, examples, names, tgt, params=params,
                       progress=lambda done, total: bar.update(done))
    rows = [flat[i:i + len(names)] for i in range(0, len(flat), len(names))]

    if out is not None:
        with cli_errors("--out"):
            write_jsonl(out, (e.to_dict() for e in flat))
        Console(stderr=True).print(f"wrote {len(flat)} explanations to {printable(str(out))}",
                                   markup=False, highlight=False)
    if as_json:
        echo_json([e.to_dict() for e in flat])
    elif out is None or len(examples) <= 20:
        console = Console()
        for ex, row in zip(examples, rows):
            render(console, ex, row, list(classifier.label_names))


def _short(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command("explainers")
def explainers_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the registered explainers: name, capability flags, parameters."""
    from ..methods import explainers

    entries = explainers()
    if as_json:
        echo_json(entries)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "needs", "random", "parameters (defaults)", "description")
    table.columns[0].no_wrap = True
    table.columns[1].min_width = 9  # "gradients", "llm"
    table.columns[2].min_width = 3
    table.columns[3].no_wrap = True
    for e in entries:
        needs = [k.removeprefix("needs_") for k, v in e.items() if k.startswith("needs_") and v]
        # one line per parameter, long defaults shortened so the table keeps its columns
        # (``--json`` gives them whole)
        params = "\n".join(_short(f"{k}={json.dumps(v, ensure_ascii=False)}") for k, v in e["params"].items())
        table.add_row(e["name"], ", ".join(needs) or "-", "yes" if e["stochastic"] else "no",
                      params, e["description"])
    Console().print(table)

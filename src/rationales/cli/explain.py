"""CLI commands for the explain stage: `rationales explain` and `rationales explainers`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from . import app


def parse_value(text: str) -> Any:
    """A parameter value: JSON when it parses (500, 0.5, true, [1,2]), a comma list of
    such values (``1,2,3``), else the plain string (``mask``)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [parse_value(part.strip()) for part in text.split(",")]
    return text


def parse_params(items: list[str], methods: list[str]) -> dict[str, dict[str, Any]]:
    """``["lime.n_samples=500", "ngram.sizes=1,2"]`` → ``{"lime": {"n_samples": 500}, ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        method, dot, name = key.partition(".")
        if not eq or not dot or not method or not name:
            raise typer.BadParameter(f"{item!r}: expected METHOD.PARAM=VALUE, e.g. lime.n_samples=500",
                                     param_hint="--param")
        if method not in methods:
            raise typer.BadParameter(f"{item!r}: method {method!r} is not among --methods {methods}",
                                     param_hint="--param")
        out.setdefault(method, {})[name] = parse_value(value)
    return out


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
    head = Text(f"[{example.id}] ", style="bold")
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
            line.append(f"failed: {exp.failed}", style="red")
        else:
            scale = max((abs(s) for s in exp.scores), default=0.0)
            for i, (word, score) in enumerate(zip(exp.words, exp.scores)):
                if i:
                    line.append(" ")
                line.append(word, style=_shade(score, scale))
            if "truncated_at" in exp.info:
                line.append(f"  (model saw the first {exp.info['truncated_at']} words)", style="dim")
        table.add_row(exp.method, line)
    console.print(table)
    console.print()


@app.command("explain")
def explain_command(
    model: str = typer.Option(..., "--model", "-m", help="A saved model folder, a Hugging Face folder, or a backbone name (minilm-en, e5-multilingual, tfidf)."),
    text: Optional[list[str]] = typer.Option(None, "--text", "-t", help="A text to explain (repeat for several)."),
    data: Optional[str] = typer.Option(None, "--data", help="Explain a dataset: NAME:SPLIT (hatexplain:test) or a .jsonl/.csv file."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Explain only the first N examples of --data."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the datasets."),
    methods: str = typer.Option("ngram,occlusion", "--methods", help="Comma-separated explainer names (see `rationales explainers`)."),
    param: Optional[list[str]] = typer.Option(None, "--param", "-p", help="A method parameter, METHOD.NAME=VALUE (repeatable): lime.n_samples=500, ngram.sizes=1,2."),
    target: Optional[str] = typer.Option(None, "--target", help="Label (name or id) to explain; default: each example's predicted label."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanations as a JSON list instead of the shaded view."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write one explanation per line (Explanation.to_dict) to this .jsonl file."),
) -> None:
    """Explain a classifier's predictions word by word with one or more methods."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..methods import EXPLAINERS, get_explainer, resolve_targets
    from ..models import load_classifier
    from ..models.base import as_examples

    method_list = [m.strip() for m in methods.split(",") if m.strip()]
    if not method_list:
        raise typer.BadParameter("give at least one method", param_hint="--methods")
    for m in method_list:
        if m not in EXPLAINERS:
            raise typer.BadParameter(_unknown(m), param_hint="--methods")
    params = parse_params(list(param or []), method_list)
    if bool(text) == bool(data):
        raise typer.BadParameter("give either --text (one or more) or --data NAME:SPLIT", param_hint="--text/--data")
    if data:
        from ..data import load_spec

        ds = load_spec(data, data_dir=data_dir)
        examples = list(ds.examples[:limit] if limit is not None else ds.examples)
    else:
        examples = as_examples(list(text or []))
    err = Console(stderr=True)
    try:
        explainers = [get_explainer(m, **params.get(m, {})) for m in method_list]
    except (TypeError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--param") from None
    classifier = load_classifier(model)
    tgt: Any = None
    if target is not None:
        tgt = int(target) if target.lstrip("-").isdigit() else target
    for ex in examples:
        if not ex.words:
            raise typer.BadParameter(f"example {ex.id!r} has no words: there is nothing to explain",
                                     param_hint="--text/--data")
    try:
        targets = resolve_targets(classifier, examples, tgt)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--target") from None

    results: list[list[Any]] = []
    with Progress(TextColumn("explaining"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=len(examples) < 2) as progress:
        task = progress.add_task("", total=len(examples))
        for ex, t in zip(examples, targets):
            results.append([e.explain(classifier, [ex], [t])[0] for e in explainers])
            progress.advance(task)

    flat = [e for row in results for e in row]
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as fh:
            for e in flat:
                fh.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
        err.print(f"wrote {len(flat)} explanations to {out}")
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in flat], ensure_ascii=False, indent=2))
    elif out is None or len(examples) <= 20:
        console = Console()
        for ex, row in zip(examples, results):
            render(console, ex, row, list(classifier.label_names))


def _unknown(name: str) -> str:
    from ..methods import EXPLAINERS

    try:
        EXPLAINERS.entry(name)
    except KeyError as exc:
        return str(exc.args[0])
    return name


@app.command("explainers")
def explainers_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the registered explainers: name, capability flags, parameters."""
    from ..methods import explainers

    entries = explainers()
    if as_json:
        typer.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "needs", "stochastic", "parameters (defaults)", "description")
    table.columns[0].no_wrap = True
    table.columns[3].no_wrap = True
    for e in entries:
        needs = [k.removeprefix("needs_") for k, v in e.items() if k.startswith("needs_") and v]
        params = "\n".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in e["params"].items())
        table.add_row(e["name"], ", ".join(needs) or "-", "yes" if e["stochastic"] else "no",
                      params, e["description"])
    Console().print(table)

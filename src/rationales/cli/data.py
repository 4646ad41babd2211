"""CLI commands for the data stage: `rationales data list|stats|show|fetch`.

A thin shell over :mod:`rationales.data`: every command calls the same functions a
Python user calls and prints their values (``--json`` prints them as JSON).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from . import app
from ._options import LOADER_OPTIONS, cli_errors, echo_json, load_data, loader_options

data_app = typer.Typer(help="Datasets with human word rationales: list, stats, show, fetch.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")

_DATA_DIR = typer.Option(None, "--data-dir", help="Data folder (default: $RATIONALES_DATA, then the download cache).")
_ON_ERROR = typer.Option("raise", "--on-error", help="raise (default) or skip malformed rows (counted in the report).")
_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


@data_app.command("list")
def list_command(as_json: bool = _JSON) -> None:
    """List the registered datasets with their splits and options."""
    from ..data import datasets

    entries = datasets()
    if as_json:
        echo_json(entries)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "splits", "options", "description", show_lines=True)
    for e in entries:
        table.add_row(e["name"], ", ".join(e["splits"]) or "-", ", ".join(e["options"]) or "-",
                      e["description"])
    Console().print(table)


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "-"
    if pct:
        return f"{100 * v:.1f}%"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def _stats_table(rows: list[dict[str, Any]]):
    from rich.table import Table

    table = Table("dataset", "examples", "labels", "with rationale", "non-empty",
                  "rationale words", "rationale share", "words/text", "skipped",
                  title="Dataset statistics (rationale figures over examples with a rationale)")
    for s in rows:
        if "error" in s:
            table.add_row(s["spec"], "-", f"[red]{s['error']}[/red]", *["-"] * 6)
            continue
        labels = ", ".join(f"{k} {v}" for k, v in s["label_counts"].items())
        table.add_row(s["spec"], str(s["examples"]), labels,
                      f"{s['with_rationale']} ({_fmt(s['share_with_rationale'], True)})",
                      f"{s['with_nonempty_rationale']} ({_fmt(s['share_with_nonempty_rationale'], True)})",
                      _fmt(s["mean_rationale_words"]), _fmt(s["mean_rationale_fraction"], True),
                      _fmt(s["mean_words"]), str(s["skipped"]))
    return table


def _spec_name(name: str, split: str | None, opts: dict) -> str:
    base = f"{name}:{split}" if split else name
    return base + "".join(f" {k}={v}" for k, v in opts.items())


@data_app.command("stats")
def stats_command(
    spec: Optional[str] = typer.Argument(None, help="NAME[:SPLIT] (hatexplain:test) or a .csv/.jsonl file."),
    data_dir: Optional[Path] = _DATA_DIR,
    all_: bool = typer.Option(False, "--all", help="Every dataset and split found in the data folder."),
    opt: Optional[List[str]] = LOADER_OPTIONS,
    on_error: str = _ON_ERROR,
    as_json: bool = _JSON,
) -> None:
    """Counts per label, share with rationales, mean rationale length, mean words per text."""
    from ..data import available, dataset_stats, load_dataset
    from ..errors import RationalesError

    options = loader_options(opt)
    rows: list[dict[str, Any]] = []
    with cli_errors():
        if all_:
            found = available(data_dir)
            if not found:
                from ..data import candidate_dirs

                raise RationalesError("no datasets found in "
                                      + ", ".join(map(str, candidate_dirs(data_dir))))
            for name, split, opts in found:
                spec_name = _spec_name(name, split, opts)
                try:
                    ds = load_dataset(name, split, data_dir=data_dir, on_error=on_error,
                                      **{**opts, **options})
                except RationalesError as e:
                    rows.append({"spec": spec_name, "error": str(e)})
                    continue
                rows.append({"spec": spec_name, **dataset_stats(ds)})
        elif spec is None:
            raise typer.BadParameter("give NAME[:SPLIT] or --all")
        else:
            ds = load_data(spec, data_dir, hint=None, on_error=on_error, **options)
            rows.append({"spec": _spec_name(spec, None, options), **dataset_stats(ds),
                         "report": ds.report})
    if as_json:
        echo_json(rows if all_ else rows[0])
        return
    from rich.console import Console

    console = Console()
    if all_:
        if not console.is_terminal:
            console = Console(width=170)  # a pipe or a log: do not squeeze the columns
        console.print(_stats_table(rows))
        return
    console.print(_stats_card(rows[0]))
    if rows[0].get("report", {}).get("skipped"):
        console.print(f"[yellow]skipped rows:[/yellow] {rows[0]['report']['skipped_by_reason']}")


def _stats_card(s: dict[str, Any]):
    """One dataset's figures as a two-column table."""
    from rich.table import Table

    table = Table("figure", "value", title=f"{s['spec']}", title_justify="left")
    table.add_row("examples", str(s["examples"]))
    for k, v in s["label_counts"].items():
        table.add_row(f"  label {k}", f"{v} ({_fmt(v / s['examples'] if s['examples'] else None, True)})")
    table.add_row("with a rationale", f"{s['with_rationale']} ({_fmt(s['share_with_rationale'], True)})")
    table.add_row("with a non-empty rationale",
                  f"{s['with_nonempty_rationale']} ({_fmt(s['share_with_nonempty_rationale'], True)})")
    table.add_row("mean rationale length (words)", _fmt(s["mean_rationale_words"]))
    table.add_row("mean rationale length (share of words)", _fmt(s["mean_rationale_fraction"], True))
    table.add_row("mean words per text", _fmt(s["mean_words"]))
    table.add_row("max words per text", str(s["max_words"]))
    table.add_row("languages", ", ".join(f"{k} {v}" for k, v in s["languages"].items()))
    table.add_row("skipped rows", str(s["skipped"]))
    return table


@data_app.command("show")
def show_command(
    spec: str = typer.Argument(..., help="NAME[:SPLIT] (hatexplain:test) or a .csv/.jsonl file."),
    limit: int = typer.Option(5, "--limit", "-n", help="How many examples to show."),
    offset: int = typer.Option(0, "--offset", help="Start at this example."),
    data_dir: Optional[Path] = _DATA_DIR,
    opt: Optional[List[str]] = LOADER_OPTIONS,
    on_error: str = _ON_ERROR,
    as_json: bool = _JSON,
) -> None:
    """Print examples: their words, with the rationale words highlighted."""
    ds = load_data(spec, data_dir, hint=None, opt=opt, on_error=on_error)
    part = ds.examples[offset: offset + limit]
    if as_json:
        echo_json([ex.to_dict() for ex in part])
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    # Without colours (a pipe, NO_COLOR) the highlight would vanish: bracket the words.
    colour = console.is_terminal and console.color_system is not None
    for ex in part:
        label = "-" if ex.label is None else ds.label_names[ex.label]
        n_r = "no rationale" if ex.rationale is None else f"{sum(ex.rationale)}/{len(ex.words)} rationale words"
        console.print(f"[bold]{escape(ex.id)}[/bold]  label={escape(label)}  lang={ex.lang}  {n_r}")
        marks = ex.rationale or [0] * len(ex.words)
        shown = [(f"[bold black on yellow]{escape(w)}[/]" if colour else escape(f"[{w}]"))
                 if r else escape(w) for w, r in zip(ex.words, marks)]
        console.print(" ".join(shown), highlight=False)
        console.print()
    console.print(f"[dim]{len(part)} of {len(ds)} examples of {ds.full_name}[/dim]")


@data_app.command("fetch")
def fetch_command(
    name: str = typer.Argument(..., help="hatexplain, eraser-movies or toxic_spans."),
    dest: Optional[Path] = typer.Option(None, "--dest", help="Data folder to write into (default: the download cache)."),
    force: bool = typer.Option(False, "--force", help="Download again even if the files are present."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Check pinned sha256 hashes."),
    as_json: bool = _JSON,
) -> None:
    """Download a dataset's public files into the cache folder and check their sha256."""
    from ..data.fetch import fetch

    with cli_errors():
        records = fetch(name, dest, force=force, verify=verify)
    if as_json:
        echo_json(records)
        return
    for r in records:
        check = "sha256 ok" if r["pinned"] and verify else "sha256 not pinned"
        typer.echo(f"{r['status']:10s} {r['path']}  ({check}: {r['sha256']})")

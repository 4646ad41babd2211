"""The `rationales` command: a thin shell over the same functions a Python user calls.

Each sub-command lives in its own module and registers itself on ``app``.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="rationales",
    help="Train, explain and audit text classifiers at the level people read: words.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Train, explain and audit text classifiers at the level people read: words."""


# Every module of this package registers its commands on `app` when imported, so a new
# stage adds a file and nothing here changes.

for _mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")


@app.command("version")
def version() -> None:
    """Print the installed version."""
    from .. import __version__

    typer.echo(__version__)


def main() -> None:
    app()

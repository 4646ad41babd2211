"""The `rationales` command: a thin shell over the same functions a Python user calls.

Each sub-command lives in its own module and registers itself on ``app``.
"""

from __future__ import annotations

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


# Sub-command modules import `app` (or add their own sub-app) when imported.
from . import data as _data  # noqa: E402,F401
from . import models as _models  # noqa: E402,F401
from . import explain as _explain  # noqa: E402,F401
from . import evaluate as _evaluate  # noqa: E402,F401


@app.command("version")
def version() -> None:
    """Print the installed version."""
    from .. import __version__

    typer.echo(__version__)


def main() -> None:
    app()

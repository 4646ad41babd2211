"""`rationales serve`: the web page and JSON API on uvicorn (registered on the main app)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import List, Optional

import typer

from . import app
from ._options import DATA_DIR, LOADER_OPTIONS, cli_errors, spec_with_options


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command("serve")
def serve(
    model: List[str] = typer.Option(..., "--model", "-m",
                                    help="A model folder or backbone name (minilm-en, tfidf); repeat for several."),
    data: List[str] = typer.Option([], "--data", "-d",
                                   help="A dataset to browse, NAME:SPLIT (hatexplain:test); repeat for several."),
    host: str = typer.Option("127.0.0.1", help="Address to bind. The default is reachable from this machine only."),
    port: int = typer.Option(8000, help="Port to listen on."),
    token: Optional[str] = typer.Option(None, "--token", envvar="RATIONALES_SERVE_TOKEN", show_envvar=True,
                                        help="Require 'Authorization: Bearer TOKEN' on every API call but /api/health."),
    reports: Path = typer.Option(Path("reports"), "--reports", help="Folder whose benchmark reports the page links to."),
    data_dir: Optional[Path] = DATA_DIR,
    opt: Optional[List[str]] = LOADER_OPTIONS,
    workers: int = typer.Option(2, min=1, help="Threads that run explain requests."),
    llm: Optional[str] = typer.Option(None, "--llm", help="LLM backend for llm/union/counterfactual "
                                      "(qwen2.5-1.5b, llamacpp:PATH, smollm2, gguf:PATH, hf:PATH, openai:URL/MODEL); "
                                      "default: the best installed model (rationales llm list)."),
    max_chars: int = typer.Option(5000, min=1, help="Limit: characters in one post."),
    max_words: int = typer.Option(300, min=1, help="Limit: words in one post."),
    max_methods: int = typer.Option(4, min=1, help="Limit: methods in one request."),
    time_limit: float = typer.Option(60.0, min=0.1, help="Limit: seconds one request may take."),
    max_body_bytes: int = typer.Option(64 * 1024, min=1, help="Limit: bytes of a request body."),
    max_page_size: int = typer.Option(100, min=1, help="Limit: examples in one page of /api/examples."),
    cache_mb: float = typer.Option(256, "--cache-mb", min=0,
                                   help="Per model: MB the forward engine's results cache may hold (0: no cache)."),
    cache_entries: int = typer.Option(200_000, "--cache-entries", min=0,
                                      help="Per model: results the forward engine's cache may hold."),
    encoding_cache_mb: float = typer.Option(64, "--encoding-cache-mb", min=0,
                                            help="Per model: MB the cache of tokenised posts may hold."),
    log_level: str = typer.Option("info", help="uvicorn's log level."),
) -> None:
    """Serve the page and the JSON API: explain posts, compare methods, browse a dataset."""
    import uvicorn

    from ..serve.app import create_app
    from ..serve.limits import Limits

    if not _is_loopback(host) and not (token or os.environ.get("RATIONALES_SERVE_TOKEN")):
        typer.secho(f"warning: binding {host} without --token lets anyone who can reach this "
                    f"machine use the models; pass --token (or set RATIONALES_SERVE_TOKEN).",
                    fg=typer.colors.YELLOW, err=True)
    data = [spec_with_options(d, opt, "--data") for d in data]  # -o applies to every --data
    limits = Limits(max_chars=max_chars, max_words=max_words, max_methods=max_methods,
                    time_limit_s=time_limit, max_body_bytes=max_body_bytes, max_page_size=max_page_size)
    typer.echo(f"loading {len(model)} model(s) and {len(data)} dataset(s)…", err=True)
    with cli_errors():
        asgi = create_app(model, data, limits=limits, token=token or "", reports_dir=reports,
                          data_dir=data_dir, workers=workers, llm=llm, cache_entries=cache_entries,
                          cache_bytes=int(cache_mb * 2**20),
                          encoding_cache_bytes=int(encoding_cache_mb * 2**20))
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    typer.echo(f"serving on http://{shown}:{port}/  (API schema: http://{shown}:{port}/docs)", err=True)
    uvicorn.run(asgi, host=host, port=port, log_level=log_level)

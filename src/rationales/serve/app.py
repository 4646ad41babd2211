"""The web app: the JSON API under /api and the page (plain HTML, CSS and JS) at /.

``create_app`` loads every model and dataset once, makes each model safe to share
between request threads, and returns an ASGI app for uvicorn (``rationales serve``) or
FastAPI's test client.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..errors import ParameterError, RationalesError
from ..models.base import Classifier
from ..models.engine import classifier_caches
from ..types import Dataset
from .api import ServeState, protected, router
from .limits import BodySizeLimit, LimitExceeded, Limits, guard_classifier

STATIC = Path(__file__).resolve().parent / "static"
TOKEN_ENV = "RATIONALES_SERVE_TOKEN"


def _model_id(spec: str, taken: set[str]) -> str:
    """A short id for a model given as a folder or a backbone name (unique among ``taken``)."""
    base = Path(spec.rstrip("/\\")).name or spec
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


#: a cache's bounds as (max entries, max bytes); None keeps the model's own setting
CacheBounds = tuple[int | None, int | None]


def limit_caches(classifier: Classifier, bounds: Mapping[str, CacheBounds]) -> None:
    """Re-bound a model's caches by name (``engine``, ``encodings``), evicting what no
    longer fits; a cache not named, or a None, keeps its bound."""
    for name, cache in classifier_caches(classifier).items():
        entries, nbytes = bounds.get(name, (None, None))
        if entries is not None or nbytes is not None:
            cache.resize(cache.max_entries if entries is None else entries,
                         cache.max_bytes if nbytes is None else nbytes)


def load_models(specs: Iterable[str | Classifier] | Mapping[str, str | Classifier],
                cache_bounds: Mapping[str, CacheBounds] | None = None,
                ) -> tuple[dict[str, Classifier], dict[str, str]]:
    """Load each model once: a folder or backbone name (``load_classifier``) or a Classifier.

    ``cache_bounds`` re-bounds every model's caches (see :func:`limit_caches`).
    Returns ({id: classifier}, {id: what it was loaded from}).
    """
    from ..models import load_classifier

    items = list(specs.items()) if isinstance(specs, Mapping) else [(None, s) for s in specs]
    models: dict[str, Classifier] = {}
    sources: dict[str, str] = {}
    for given_id, spec in items:
        if isinstance(spec, Classifier):
            clf, source = spec, f"(in memory) {spec.name}"
        else:
            clf, source = load_classifier(str(spec)), str(spec)
        model_id = given_id or _model_id(source if not isinstance(spec, Classifier) else clf.name, set(models))
        if model_id in models:
            raise ParameterError(f"two models share the id {model_id!r}")
        limit_caches(clf, cache_bounds or {})
        models[model_id] = guard_classifier(clf)
        sources[model_id] = source
    if not models:
        raise ParameterError("give at least one model: a model folder or a backbone name such as 'minilm-en'")
    return models, sources


def load_datasets(specs: Iterable[str | Dataset] | None, data_dir: str | os.PathLike | None = None) -> dict[str, Dataset]:
    """Load each dataset once: ``NAME:SPLIT`` (``load_spec``) or a Dataset; keyed by NAME:SPLIT."""
    from ..data import load_spec

    out: dict[str, Dataset] = {}
    for spec in specs or []:
        ds = spec if isinstance(spec, Dataset) else load_spec(str(spec), data_dir)
        key = spec if isinstance(spec, str) else ds.full_name
        out[key] = ds
    return out


def create_app(
    models: Iterable[str | Classifier] | Mapping[str, str | Classifier],
    data: Iterable[str | Dataset] | None = None,
    *,
    limits: Limits | None = None,
    token: str | None = None,
    reports_dir: str | os.PathLike | None = "reports",
    data_dir: str | os.PathLike | None = None,
    workers: int = 2,
    llm: Any = None,
    cache_entries: int | None = None,
    cache_bytes: int | None = None,
    encoding_cache_bytes: int | None = None,
) -> Any:
    """The ASGI app serving the API and the page.

    ``models``: folders, backbone names or Classifier objects (a mapping gives them ids).
    ``data``: ``NAME:SPLIT`` specs or Datasets to browse. ``token``: a bearer token every
    API call (but /api/health) must send; None reads $RATIONALES_SERVE_TOKEN, "" turns it
    off. ``reports_dir``: the folder whose benchmark reports the page links to.
    ``workers``: threads that run explain requests (each model itself runs one forward
    pass at a time; more workers let requests interleave). ``llm``: the backend spec the
    LLM-consulted methods use (``rationales.llm.get_backend``; None = the package
    default; a backend object works too); requests cannot choose it, since a spec can name
    a file. ``cache_entries`` and ``cache_bytes`` re-bound each model's forward-engine
    cache, ``encoding_cache_bytes`` its cache of tokenised posts (None keeps the model's
    own bound: by default 200,000 entries and 256 MiB, and 64 MiB); GET /api/health
    reports every cache's entries and bytes.
    """
    limits = limits or Limits()
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    loaded, sources = load_models(models, {"engine": (cache_entries, cache_bytes),
                                           "encodings": (None, encoding_cache_bytes)})
    state = ServeState(models=loaded, datasets=load_datasets(data, data_dir), limits=limits,
                       token=token or None,
                       reports_dir=Path(reports_dir) if reports_dir is not None else None,
                       workers=max(1, int(workers)), sources=sources, llm=llm)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="rationales",
        version=__version__,
        description="Explain a post word by word with several methods, see how faithful each "
                    "explanation is, and browse a dataset against its human rationales.",
        lifespan=lifespan,
    )
    app.state.rx = state

    @app.exception_handler(LimitExceeded)
    async def _limit(request: Request, exc: LimitExceeded) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable sentence per problem ("body.methods: Field required"), not a raw list.
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(parts) or "invalid request", "errors": _plain(exc.errors())},
                            status_code=422)

    @app.exception_handler(RationalesError)
    async def _rationales(request: Request, exc: RationalesError) -> JSONResponse:
        # The one place the package's errors (ParameterError, InputError, ModelError,
        # UnknownNameError, ...) become HTTP answers: 422 with the package's own message,
        # the same words `rx.explain` and the CLI give.
        return JSONResponse({"detail": str(exc)}, status_code=422)

    app.include_router(router)
    app.include_router(protected)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/{rest:path}", include_in_schema=False)
    def api_not_found(rest: str) -> None:
        raise HTTPException(404, f"no API endpoint /api/{rest}; see /docs for the list")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # The body-size guard wraps everything, so an oversized body is refused before any
    # handler (or Starlette's own error page) answers.
    return _Wrapped(BodySizeLimit(app, limits.max_body_bytes), app)


class _Wrapped:
    """The guarded ASGI callable, still exposing the FastAPI app's ``state`` and routes."""

    def __init__(self, asgi: Any, app: FastAPI) -> None:
        self._asgi = asgi
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self._asgi(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


def _plain(errors: Any) -> Any:
    from ..jsonio import json_safe

    return json_safe([{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors])

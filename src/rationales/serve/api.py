"""The JSON API: explain a post, list models, methods and datasets, page through examples.

Every endpoint is a thin shell over the public functions (``rationales.methods``,
``rationales.evaluation``); the service's own work is checking limits and shaping JSON.
This module holds the app's state, the bearer token and the routes; explaining lives in
:mod:`.explain` (CPU-heavy, run in a worker pool, never on the event loop, so a slow
request does not stop the page or the other endpoints from answering) and the reports
listing in :mod:`.reports`.
"""

from __future__ import annotations

import hmac
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse

from .. import __version__
from ..jsonio import json_safe
from ..models.base import CAPABILITIES, Classifier
from ..models.engine import classifier_caches
from ..types import Dataset, Example
from . import explain
from .limits import LimitExceeded, Limits, guard_llm
from .reports import list_reports, public


@dataclass
class ServeState:
    """What the app holds for its lifetime: loaded models and datasets, limits, the pool."""

    models: dict[str, Classifier]
    datasets: dict[str, Dataset]
    limits: Limits
    token: str | None = None
    reports_dir: Path | None = None
    workers: int = 2
    sources: dict[str, str] = field(default_factory=dict)
    #: the LLM backend (spec or object) for LLM-consulted methods (None = the package default)
    llm: Any = None
    executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="rx-serve")
        self._llm_backend: Any = None
        self._llm_lock = threading.Lock()

    def llm_backend(self) -> Any:
        """The one LLM backend every request shares, built on first use (loading it is slow)."""
        from ..llm.backends import get_backend

        with self._llm_lock:
            if self._llm_backend is None:
                self._llm_backend = guard_llm(get_backend(self.llm))
            return self._llm_backend

    @property
    def default_model(self) -> str:
        return next(iter(self.models))


def state_of(request: Request) -> ServeState:
    return request.app.state.rx


# -- the bearer token -----------------------------------------------------------------
def require_token(request: Request) -> None:
    """With a token configured, every API call but /api/health must present it."""
    token = state_of(request).token
    if not token:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise HTTPException(
            401, "this server needs a bearer token: send the header 'Authorization: Bearer TOKEN' "
                 "(the token the server was started with, --token or RATIONALES_SERVE_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(401, "the bearer token is not the one this server was started with",
                            headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/api")
protected = APIRouter(prefix="/api", dependencies=[Depends(require_token)])


# -- endpoints ---------------------------------------------------------------------------
@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Liveness, what is loaded, the limits, whether a token is needed, and memory: the
    process's RSS and every model's caches (entries and bytes held, and their bounds)."""
    st = state_of(request)
    return {"status": "ok", "version": __version__, "models": list(st.models),
            "datasets": list(st.datasets), "limits": st.limits.to_dict(),
            "token_required": bool(st.token), "memory": memory(st.models)}


def rss_bytes() -> int | None:
    """This process's resident set size in bytes (None where it cannot be read)."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:  # pragma: no cover - psutil comes with accelerate
        pass
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return None


def memory(models: dict[str, Classifier]) -> dict[str, Any]:
    """RSS, and per model each cache's ``entries``, ``bytes``, ``max_entries``, ``max_bytes``."""
    caches = {m: {name: cache.info() for name, cache in classifier_caches(clf).items()}
              for m, clf in models.items()}
    rss = rss_bytes()
    return {"rss_bytes": rss, "rss_mb": None if rss is None else round(rss / 2**20, 1),
            "cache_bytes": sum(c["bytes"] for per_model in caches.values() for c in per_model.values()),
            "caches": caches}


@protected.get("/models")
def models(request: Request) -> list[dict[str, Any]]:
    """The models loaded at start: id, label names, and the capabilities some methods need."""
    st = state_of(request)
    out = []
    for model_id, clf in st.models.items():
        out.append({"id": model_id, "name": clf.name, "label_names": list(clf.label_names),
                    "differentiable": bool(clf.differentiable), "capabilities": capabilities(clf),
                    "default": model_id == st.default_model,
                    "source": st.sources.get(model_id, model_id)})
    return out


@protected.get("/explainers")
def explainers_endpoint(request: Request) -> list[dict[str, Any]]:
    """Every registered explainer with its flags and, per loaded model, whether it applies
    (the model has every capability the method needs: the check a request goes through)."""
    from ..methods import explainers
    from ..methods.request import usable

    st = state_of(request)
    return [{**json_safe(entry), "usable_with": {m: usable(entry["name"], c) for m, c in st.models.items()}}
            for entry in explainers()]


@protected.get("/datasets")
def datasets_endpoint(request: Request) -> dict[str, Any]:
    """The datasets loaded at start (browsable), and the registered ones (loadable with --data)."""
    from ..data import datasets as registered

    st = state_of(request)
    loaded = []
    for name, ds in st.datasets.items():
        loaded.append({"name": name, "size": len(ds), "label_names": list(ds.label_names),
                       "label_counts": ds.label_counts(),
                       "with_rationale": sum(1 for ex in ds if ex.rationale is not None)})
    return {"loaded": loaded, "registered": json_safe(registered())}


@protected.get("/examples")
def examples_endpoint(
    request: Request,
    data: str = Query(..., description="a loaded dataset, NAME:SPLIT as listed by GET /api/datasets"),
    offset: int = Query(0, ge=0),
    limit: int = Query(20, ge=1),
    label: str | None = Query(None, description="keep only this label (name or id)"),
    id: str | None = Query(None, description="only the example with this id"),
) -> dict[str, Any]:
    """A page of a loaded dataset's examples, each with its gold rationale."""
    st = state_of(request)
    if limit > st.limits.max_page_size:
        raise LimitExceeded("max_page_size", st.limits.max_page_size,
                            f"limit={limit} is over the limit max_page_size={st.limits.max_page_size}; "
                            f"page through with offset instead")
    ds = st.datasets.get(data)
    if ds is None:
        loaded = ", ".join(st.datasets) or "none (start the server with --data NAME:SPLIT)"
        raise HTTPException(404, f"dataset {data!r} is not loaded; loaded: {loaded}")
    if label is not None and label != "":
        try:
            ds = ds.filter(label=int(label) if label.isdigit() else label)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
    examples = list(ds)
    if id is not None:
        examples = [ex for ex in examples if ex.id == id]
        if not examples:
            raise HTTPException(404, f"dataset {data!r} has no example with id {id!r}")
    page = examples[offset: offset + limit]
    return {"data": data, "label_names": list(ds.label_names), "total": len(examples),
            "offset": offset, "limit": limit, "label": label,
            "examples": [_example_json(ex, ds.label_names) for ex in page]}


@protected.get("/reports")
def reports(request: Request) -> list[dict[str, Any]]:
    """Benchmark reports found in the reports folder, newest first."""
    return [public(r) for r in list_reports(state_of(request).reports_dir)]


@protected.get("/reports/{key:path}", response_model=None)
def report_file(key: str, request: Request) -> FileResponse:
    """One listed report file. Only names the listing produced are served, never a path."""
    listed = {r["key"]: r for r in list_reports(state_of(request).reports_dir)}
    if key not in listed:
        raise HTTPException(404, f"no report {key!r}; GET /api/reports lists them")
    return FileResponse(listed[key]["path"])


@protected.post("/explain")
async def explain_endpoint(body: explain.ExplainRequest, request: Request) -> dict[str, Any]:
    """Prediction, per-method word scores, hard rationale and faithfulness for one post."""
    return await explain.answer(state_of(request), body)


# -- shaping values as JSON --------------------------------------------------------------
def capabilities(clf: Classifier) -> dict[str, bool]:
    """What some methods need, per capability: ``{"gradients": bool, "attentions": bool}``."""
    return {flag.removeprefix("needs_"): isinstance(clf, proto) for flag, (proto, _) in CAPABILITIES.items()}


def _example_json(ex: Example, label_names: list[str]) -> dict[str, Any]:
    d = json_safe(ex.to_dict())
    d["label_name"] = label_names[ex.label] if ex.label is not None and 0 <= ex.label < len(label_names) else None
    return d

"""The JSON API: explain a post, list models, methods and datasets, page through examples.

Every endpoint is a thin shell over the public functions (``rationales.methods``,
``rationales.evaluation``); the service's own work is checking limits and shaping JSON.
CPU-heavy work (``/api/explain``) runs in a worker pool, never on the event loop, so a
slow request does not stop the page or the other endpoints from answering.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from .. import __version__
from ..errors import RationalesError
from ..jsonio import finite, json_safe
from ..registry import unknown_name
from ..models.base import Classifier
from ..types import Dataset, Example, Explanation
from .limits import DeadlineExceeded, LimitExceeded, Limits, guard_llm, run_with_deadline

#: file kinds listed from the reports folder (benchmark reports and their tables)
REPORT_SUFFIXES = (".html", ".md", ".json", ".csv")
_REPORT_DEPTH = 3
_REPORT_MAX = 200


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
        from ..llm.base import get_backend

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


# -- requests and responses -------------------------------------------------------------
class ExplainRequest(BaseModel):
    """One post to explain: raw ``text`` (segmented into words) or pre-split ``words``."""

    text: str | None = Field(None, description="the post; segmented into words by rationales.words.segment")
    words: list[str] | None = Field(None, description="the post already split into words (used as given)")
    model: str | None = Field(None, description="a model id from GET /api/models (default: the first)")
    methods: list[str] = Field(..., description="explainer names from GET /api/explainers", examples=[["occlusion", "ngram"]])
    target: int | str | None = Field(None, description="label id or name to explain (default: the predicted label)")
    params: dict[str, dict[str, Any]] = Field(default_factory=dict, description="per-method parameters, e.g. {\"lime\": {\"n_samples\": 200}}")
    hard: str = Field("xmutest", description="hard-rationale rule: xmutest, top_k=K, top_fraction=F or threshold=T")
    removal: Literal["delete", "mask"] = Field("delete", description="how faithfulness removes words")
    faithfulness: bool = Field(True, description="compute comprehensiveness and sufficiency per method")


# -- endpoints ---------------------------------------------------------------------------
@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Liveness, what is loaded, the limits, and whether a token is needed."""
    st = state_of(request)
    return {"status": "ok", "version": __version__, "models": list(st.models),
            "datasets": list(st.datasets), "limits": st.limits.to_dict(),
            "token_required": bool(st.token)}


@protected.get("/models")
def models(request: Request) -> list[dict[str, Any]]:
    """The models loaded at start: id, label names, whether gradient methods apply."""
    st = state_of(request)
    out = []
    for model_id, clf in st.models.items():
        out.append({"id": model_id, "name": clf.name, "label_names": list(clf.label_names),
                    "differentiable": bool(clf.differentiable),
                    "default": model_id == st.default_model,
                    "source": st.sources.get(model_id, model_id)})
    return out


@protected.get("/explainers")
def explainers_endpoint(request: Request) -> list[dict[str, Any]]:
    """Every registered explainer with its flags and, per loaded model, whether it applies."""
    from ..methods import explainers

    st = state_of(request)
    out = []
    for entry in explainers():
        usable = {m: (not entry.get("needs_gradients")) or bool(c.differentiable)
                  for m, c in st.models.items()}
        out.append({**json_safe(entry), "usable_with": usable})
    return out


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
    return [{k: v for k, v in r.items() if k != "path"} for r in _list_reports(state_of(request).reports_dir)]


@protected.get("/reports/{key:path}", response_model=None)
def report_file(key: str, request: Request) -> FileResponse:
    """One listed report file. Only names the listing produced are served, never a path."""
    listed = {r["key"]: r for r in _list_reports(state_of(request).reports_dir)}
    if key not in listed:
        raise HTTPException(404, f"no report {key!r}; GET /api/reports lists them")
    return FileResponse(listed[key]["path"])


@protected.post("/explain")
async def explain_endpoint(body: ExplainRequest, request: Request) -> dict[str, Any]:
    """Prediction, per-method word scores, hard rationale and faithfulness for one post."""
    st = state_of(request)
    arrived = time.monotonic()
    job = _prepare(st, body)
    loop = asyncio.get_running_loop()
    deadline = arrived + st.limits.time_limit_s
    future = loop.run_in_executor(st.executor, run_with_deadline, deadline, _run_explain, job)
    try:
        result = await asyncio.wait_for(asyncio.shield(future), timeout=max(0.0, deadline - time.monotonic()))
    except (asyncio.TimeoutError, DeadlineExceeded):
        # The worker stops at its next forward pass (its deadline has passed too).
        raise _timeout(st.limits) from None
    result["seconds"] = round(time.monotonic() - arrived, 4)
    return result


def _timeout(limits: Limits) -> LimitExceeded:
    return LimitExceeded(
        "time_limit_s", limits.time_limit_s,
        f"the request took longer than the limit time_limit_s={limits.time_limit_s:g} s; "
        f"ask for fewer or faster methods (occlusion, ngram), fewer samples, or a shorter text",
        status_code=408)


# -- explain: checks on the event loop, the work in a thread ---------------------------
@dataclass
class _Job:
    state: ServeState
    classifier: Classifier
    model_id: str
    example: Example
    methods: list[str]
    target: int | str | None
    params: dict[str, dict[str, Any]]
    hard: str
    removal: str
    faithfulness: bool
    flags: dict[str, dict[str, Any]]


def _prepare(st: ServeState, body: ExplainRequest) -> _Job:
    """Check the request against the limits and the registries before any model work."""
    from ..rules import parse_rule
    from ..methods import EXPLAINERS
    from ..words import segment

    lim = st.limits
    if (body.text is None) == (body.words is None):
        raise HTTPException(422, "give exactly one of 'text' (a post) or 'words' (the post split into words)")
    chars = len(body.text) if body.text is not None else sum(len(w) for w in body.words or [])
    if chars > lim.max_chars:
        raise LimitExceeded("max_chars", lim.max_chars,
                            f"the text has {chars} characters, over the limit max_chars={lim.max_chars}; "
                            f"send a shorter text")
    words = segment(body.text) if body.text is not None else [str(w) for w in body.words or []]
    if body.words is not None and any(not w.strip() for w in words):
        raise HTTPException(422, "'words' must not contain empty or whitespace-only words")
    if not words:
        raise HTTPException(422, "the text has no words: there is nothing to explain")
    if len(words) > lim.max_words:
        raise LimitExceeded("max_words", lim.max_words,
                            f"the text has {len(words)} words, over the limit max_words={lim.max_words}; "
                            f"send a shorter text")
    methods = list(dict.fromkeys(m.strip() for m in body.methods if m.strip()))
    if not methods:
        raise HTTPException(422, "'methods' is empty: name at least one explainer (GET /api/explainers)")
    if len(methods) > lim.max_methods:
        raise LimitExceeded("max_methods", lim.max_methods,
                            f"{len(methods)} methods asked for, over the limit max_methods={lim.max_methods}; "
                            f"ask for fewer methods per request")
    model_id = body.model or st.default_model
    if model_id not in st.models:
        raise HTTPException(422, f"unknown model {model_id!r}; loaded models: {', '.join(st.models)}")
    clf = st.models[model_id]
    flags: dict[str, dict[str, Any]] = {}
    for m in methods:
        if m not in EXPLAINERS:
            raise HTTPException(422, unknown_name("method", m, EXPLAINERS.names()))
        info = EXPLAINERS.entry(m).info
        flags[m] = dict(info)
        if info.get("needs_gradients") and not clf.differentiable:
            raise HTTPException(422, f"method {m!r} needs gradients, and model {model_id!r} is not "
                                     f"differentiable; use a perturbation method (occlusion, ngram, lime)")
    extra = sorted(set(body.params) - set(methods))
    if extra:
        raise HTTPException(422, f"params given for {extra}, which are not among the methods {methods}")
    for m, p in body.params.items():
        if "llm" in p:
            # A backend spec can name a model file or folder: the server's operator
            # chooses it (serve --llm), never a request.
            raise HTTPException(422, f"params for {m!r}: 'llm' cannot be set by a request; "
                                     f"the server's LLM is chosen when it starts (rationales serve --llm SPEC)")
        try:
            EXPLAINERS.get(m)(**p)
        except (TypeError, ValueError) as exc:
            raise HTTPException(422, f"params for {m!r}: {exc}") from None
    target = body.target
    if isinstance(target, str) and target not in clf.label_names:
        raise HTTPException(422, f"unknown target label {target!r}; model {model_id!r} has labels {clf.label_names}")
    if isinstance(target, int) and not 0 <= target < len(clf.label_names):
        raise HTTPException(422, f"target {target} out of range for labels {clf.label_names}")
    try:
        parse_rule(body.hard)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if body.hard.startswith("top_fraction=mean_gold"):
        raise HTTPException(422, "hard rule top_fraction=mean_gold needs a dataset; give top_fraction=F")
    example = Example(id="post", words=tuple(words))
    return _Job(st, clf, model_id, example, methods, target, dict(body.params), body.hard,
                body.removal, body.faithfulness, flags)


def _run_explain(job: _Job) -> dict[str, Any]:
    """The CPU-heavy part, in a worker thread: predict, explain each method, faithfulness."""
    from ..evaluation.faithfulness import faithfulness
    from ..methods import explain

    clf, ex = job.classifier, job.example
    probs = np.asarray(clf.predict_proba([ex]))[0]
    predicted = int(probs.argmax())
    target = predicted if job.target is None else (
        clf.label_names.index(job.target) if isinstance(job.target, str) else int(job.target))
    rows: list[dict[str, Any]] = []
    done: list[tuple[Explanation, str, list[int]]] = []
    for m in job.methods:
        started = time.perf_counter()
        params = dict(job.params.get(m, {}))
        try:
            if job.flags[m].get("needs_llm"):
                params["llm"] = job.state.llm_backend()
            exp = explain(clf, [ex], methods=[m], target=target, params={m: params} if params else None)[0]
        except DeadlineExceeded:
            raise
        except RationalesError as exc:
            # An expected failure of one method (an LLM that cannot be reached, a model
            # that cannot do it) is shown in its row; the other methods still answer.
            rows.append({"method": m, "error": str(exc), "scores": None, "rationale": None})
            continue
        hard_rule, hard = _hard(job, exp)
        rows.append({"method": m, "scores": [finite(s) for s in exp.scores], "rationale": hard,
                     "hard": hard_rule, "failed": exp.failed, "target": exp.target,
                     "needs_llm": bool(job.flags[m].get("needs_llm")),
                     # the LLM's own words inside a combined method (union), for marking
                     "llm_words": json_safe(exp.info.get("llm_rationale", hard if m == "llm" else None)),
                     "params": json_safe(exp.params), "info": json_safe(exp.info),
                     "seconds": round(time.perf_counter() - started, 4)})
        if not exp.failed:
            done.append((exp, hard_rule, hard))
    if job.faithfulness and done:
        for exp, rule, hard in done:
            res = faithfulness(clf, [exp], {ex.id: ex}, hard=lambda e, h=hard: h,
                               hard_name=rule, removal=job.removal, tau_loo=False)
            figures = {r.name: {"value": finite(r.per_example.get(ex.id)), "variant": r.variant}
                       for r in res[exp.method]}
            next(r for r in rows if r["method"] == exp.method)["faithfulness"] = figures
    return {
        "model": job.model_id,
        "words": list(ex.words),
        "label_names": list(clf.label_names),
        "prediction": {"label": clf.label_names[predicted], "label_id": predicted,
                       "probabilities": {n: float(p) for n, p in zip(clf.label_names, probs)}},
        "target": {"label": clf.label_names[target], "label_id": target},
        "words_used": int(clf.n_words_used(ex)),
        "explanations": rows,
    }


def _hard(job: _Job, exp: Explanation) -> tuple[str, list[int] | None]:
    """The hard rationale shown and evaluated for one explanation, and the rule's name.

    A method that consults an LLM decides its own hard rationale (the words the LLM named;
    for ``union`` the X-MuTeST union, kept in ``info["rationale"]``): a top-k cut of its
    scores would change what it says. Every other method gets the request's rule.
    """
    from ..rules import hard_rationale, own_rationale

    if exp.failed:
        return job.hard, None
    if job.flags[exp.method].get("needs_llm"):
        own = own_rationale(exp)
        if own is not None:
            return f"{exp.method}'s own", own
        return "threshold=0", hard_rationale(exp, "threshold=0")
    return job.hard, hard_rationale(exp, job.hard)


# -- shaping values as JSON --------------------------------------------------------------
def _example_json(ex: Example, label_names: list[str]) -> dict[str, Any]:
    d = json_safe(ex.to_dict())
    d["label_name"] = label_names[ex.label] if ex.label is not None and 0 <= ex.label < len(label_names) else None
    return d


def _list_reports(folder: Path | None) -> list[dict[str, Any]]:
    """Report files under ``folder`` (a few levels deep), newest first, keyed by relative path."""
    if folder is None or not folder.is_dir():
        return []
    root = folder.resolve()
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if len(rel.parts) > _REPORT_DEPTH or path.suffix.lower() not in REPORT_SUFFIXES:
            continue
        if path.is_symlink() or not path.is_file() or any(p.startswith(".") for p in rel.parts):
            continue
        stat = path.stat()
        found.append({"key": rel.as_posix(), "name": path.name, "folder": rel.parent.as_posix(),
                      "kind": path.suffix.lower().lstrip("."), "bytes": stat.st_size,
                      "modified": stat.st_mtime, "path": path})
    found.sort(key=lambda r: (-r["modified"], r["key"]))
    return found[:_REPORT_MAX]

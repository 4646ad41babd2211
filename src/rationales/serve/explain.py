"""POST /api/explain: check a request on the event loop, do the work in a worker thread.

The checks about methods, their parameters and the target are the package's own
(:func:`rationales.methods.request.check_request`, the one every front door calls); this
module adds only what belongs to a web service: the limits, ``text`` or ``words``, which
loaded model, a request may not choose the LLM, and a hard rule that needs no dataset.
Errors are :class:`~rationales.errors.RationalesError` (or :class:`LimitExceeded`); the
app turns each into one JSON answer (422, or the limit's status).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, Field

from ..errors import InputError, ParameterError, RationalesError, UnknownNameError
from ..jsonio import finite, json_safe
from ..models.base import Classifier
from ..registry import unknown_name
from ..types import Example, Explanation
from .limits import DeadlineExceeded, LimitExceeded, Limits, run_with_deadline

if TYPE_CHECKING:
    from .api import ServeState


class ExplainRequest(BaseModel):
    """One post to explain: raw ``text`` (segmented into words) or pre-split ``words``."""

    text: str | None = Field(None, description="the post; segmented into words by rationales.words.segment")
    words: list[str] | None = Field(None, description="the post already split into words (used as given)")
    model: str | None = Field(None, description="a model id from GET /api/models (default: the first)")
    methods: list[str] = Field(..., description="explainer names from GET /api/explainers", examples=[["occlusion", "ngram"]])
    target: int | str | None = Field(None, description="label id or name to explain (default: the predicted label)")
    params: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                              description="per-method parameters, e.g. {\"lime\": {\"n_samples\": 200}}")
    hard: str = Field("xmutest", description="hard-rationale rule: xmutest, top_k=K, top_fraction=F or threshold=T")
    removal: Literal["delete", "mask"] = Field("delete", description="how faithfulness removes words")
    faithfulness: bool = Field(True, description="compute comprehensiveness and sufficiency per method")


@dataclass
class Job:
    """A checked request, ready for a worker thread."""

    classifier: Classifier
    model_id: str
    example: Example
    methods: list[str]
    #: a label id, or None for the predicted label
    target: int | None
    params: dict[str, dict[str, Any]]
    hard: str
    removal: str
    faithfulness: bool
    #: the methods that consult an LLM (they get the server's backend, and keep their own hard rationale)
    llm_methods: frozenset[str]
    #: the server's shared LLM backend, built on first use
    llm: Callable[[], Any]


async def answer(st: ServeState, body: ExplainRequest) -> dict[str, Any]:
    """Check ``body``, run it in the worker pool within the time limit, and time it."""
    arrived = time.monotonic()
    job = prepare(st, body)
    loop = asyncio.get_running_loop()
    deadline = arrived + st.limits.time_limit_s
    future = loop.run_in_executor(st.executor, run_with_deadline, deadline, run, job)
    try:
        result = await asyncio.wait_for(asyncio.shield(future), timeout=max(0.0, deadline - time.monotonic()))
    except (asyncio.TimeoutError, DeadlineExceeded):
        # The worker stops at its next forward pass (its deadline has passed too).
        raise timeout(st.limits) from None
    result["seconds"] = round(time.monotonic() - arrived, 4)
    return result


def timeout(limits: Limits) -> LimitExceeded:
    return LimitExceeded(
        "time_limit_s", limits.time_limit_s,
        f"the request took longer than the limit time_limit_s={limits.time_limit_s:g} s; "
        f"ask for fewer or faster methods (occlusion, ngram), fewer samples, or a shorter text",
        status_code=408)


def prepare(st: ServeState, body: ExplainRequest) -> Job:
    """Check the request against the limits and the registries before any model work."""
    from ..methods.request import check_examples, check_request, parse_methods
    from ..words import segment

    lim = st.limits
    if (body.text is None) == (body.words is None):
        raise ParameterError("give exactly one of 'text' (a post) or 'words' (the post split into words)")
    chars = len(body.text) if body.text is not None else sum(len(w) for w in body.words or [])
    if chars > lim.max_chars:
        raise LimitExceeded("max_chars", lim.max_chars,
                            f"the text has {chars} characters, over the limit max_chars={lim.max_chars}; "
                            f"send a shorter text")
    words = segment(body.text) if body.text is not None else [str(w) for w in body.words or []]
    if body.words is not None and any(not w.strip() for w in words):
        raise InputError("'words' must not contain empty or whitespace-only words")
    example = Example(id="post", words=tuple(words))
    check_examples([example])
    if len(words) > lim.max_words:
        raise LimitExceeded("max_words", lim.max_words,
                            f"the text has {len(words)} words, over the limit max_words={lim.max_words}; "
                            f"send a shorter text")
    methods = parse_methods(body.methods)
    if len(methods) > lim.max_methods:
        raise LimitExceeded("max_methods", lim.max_methods,
                            f"{len(methods)} methods asked for, over the limit max_methods={lim.max_methods}; "
                            f"ask for fewer methods per request")
    model_id = body.model or st.default_model
    if model_id not in st.models:
        raise UnknownNameError(unknown_name("model", model_id, st.models))
    for m, p in body.params.items():
        if "llm" in p:
            # A backend spec can name a model file or folder: the server's operator
            # chooses it (serve --llm), never a request.
            raise ParameterError(f"params for {m!r}: 'llm' cannot be set by a request; "
                                 f"the server's LLM is chosen when it starts (rationales serve --llm SPEC)")
    clf = st.models[model_id]
    request = check_request(clf, methods, body.params, body.target)
    hard = _hard_rule(body.hard)
    llm_methods = frozenset(m for m, e in zip(request.methods, request.explainers) if e.needs_llm)
    return Job(clf, model_id, example, request.methods, request.target, dict(body.params), hard,
               body.removal, body.faithfulness, llm_methods, st.llm_backend)


def _hard_rule(rule: str) -> str:
    """The request's hard rule in its one written form; one that needs a dataset is refused."""
    from ..rules import normalise_rule, parse_rule

    if parse_rule(rule) == ("top_fraction", None):
        raise ParameterError("hard rule top_fraction=mean_gold needs a dataset; give top_fraction=F")
    return normalise_rule(rule)


def run(job: Job) -> dict[str, Any]:
    """The CPU-heavy part, in a worker thread: predict, explain each method, faithfulness.

    All of it runs with torch's oneDNN off, gradient methods' own forward passes too: its
    per-shape primitives fragment a long-running server's heap (docs/serve.md, "Memory").
    """
    from ..models.engine import onednn_off

    with onednn_off():
        return _run(job)


def _run(job: Job) -> dict[str, Any]:
    from ..evaluation.faithfulness import faithfulness
    from ..methods import explain

    clf, ex = job.classifier, job.example
    probs = np.asarray(clf.predict_proba([ex]))[0]
    predicted = int(probs.argmax())
    target = predicted if job.target is None else int(job.target)
    rows: list[dict[str, Any]] = []
    done: list[tuple[Explanation, str, list[int]]] = []
    for m in job.methods:
        started = time.perf_counter()
        params = dict(job.params.get(m, {}))
        try:
            if m in job.llm_methods:
                params["llm"] = job.llm()
            exp = explain(clf, [ex], methods=[m], target=target, params={m: params} if params else None)[0]
        except DeadlineExceeded:
            raise
        except RationalesError as exc:
            # An expected failure of one method (an LLM that cannot be reached) is shown
            # in its row; the other methods still answer.
            rows.append({"method": m, "error": str(exc), "scores": None, "rationale": None})
            continue
        hard_rule, hard = _hard(job, exp)
        rows.append({"method": m, "scores": [finite(s) for s in exp.scores], "rationale": hard,
                     "hard": hard_rule, "failed": exp.failed, "target": exp.target,
                     "needs_llm": m in job.llm_methods,
                     # the LLM's own words inside a combined method (union), for marking
                     "llm_words": json_safe(exp.info.get("llm_rationale", hard if m == "llm" else None)),
                     "params": json_safe(exp.params), "info": json_safe(exp.info),
                     "seconds": round(time.perf_counter() - started, 4)})
        if not exp.failed and hard is not None:
            done.append((exp, hard_rule, hard))
    if job.faithfulness:
        for exp, rule, hard in done:
            res = faithfulness(clf, [exp], {ex.id: ex}, hard=_constant(hard),
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


def _hard(job: Job, exp: Explanation) -> tuple[str, list[int] | None]:
    """The hard rationale shown and evaluated for one explanation, and the rule's name.

    A method that consults an LLM decides its own hard rationale (the words the LLM named;
    for ``union`` the X-MuTeST union, kept in ``info["rationale"]``): a top-k cut of its
    scores would change what it says. Every other method gets the request's rule.
    """
    from ..rules import hard_rationale, machine_rationale, own_rationale

    if exp.failed:
        return job.hard, None
    if exp.method in job.llm_methods:
        # Without its own choice, an LLM method's words are those it scored above zero.
        name = f"{exp.method}'s own" if own_rationale(exp) is not None else "threshold=0"
        return name, machine_rationale(exp, "threshold=0")
    return job.hard, hard_rationale(exp, job.hard)


__all__ = ["ExplainRequest", "Job", "answer", "prepare", "run"]


def _constant(mask: list[int]) -> Callable[[Explanation], list[int]]:
    """A hard-rationale function that gives ``mask`` whatever it is asked (one explanation)."""
    return lambda _explanation: mask

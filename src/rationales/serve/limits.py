"""The service's limits and the guards that enforce them.

Every limit has a name (the one the ``serve`` command's flag and the error message use),
so a client that hits one is told which limit, its value, and how to stay within it.
The per-request time limit is enforced twice: the API answers 408 when it runs out, and
the worker thread stops at its next forward pass instead of burning the CPU for a client
that has gone (see :func:`guard_classifier`).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Awaitable, Callable

from ..errors import ParameterError
from ..models.base import Classifier


@dataclass(frozen=True)
class Limits:
    """What one request may ask for. Each field is also a ``serve`` flag (``--max-words``)."""

    #: characters of ``text`` (or of all ``words`` together)
    max_chars: int = 5000
    #: words after segmentation
    max_words: int = 300
    #: explanation methods in one request
    max_methods: int = 4
    #: seconds from arrival to answer (queueing included)
    time_limit_s: float = 60.0
    #: bytes of a request body
    max_body_bytes: int = 64 * 1024
    #: examples in one page of ``/api/examples``
    max_page_size: int = 100

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value <= 0:
                raise ParameterError(f"limit {name} must be positive, got {value}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LimitExceeded(Exception):
    """A request went past a named limit; becomes an HTTP 4xx naming that limit."""

    def __init__(self, limit: str, value: float, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value
        self.message = message
        self.status_code = status_code

    def to_dict(self) -> dict[str, Any]:
        return {"detail": self.message, "limit": self.limit, "limit_value": self.value}


class DeadlineExceeded(Exception):
    """Raised inside a worker thread when its request's time limit has run out."""


# -- the per-request deadline, seen by the worker thread that runs the request --------
_local = threading.local()


def run_with_deadline(deadline: float, fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)`` with ``deadline`` (a ``time.monotonic()`` value) set for this thread."""
    _local.deadline = deadline
    try:
        check_deadline()  # the request may have waited in the queue past its limit
        return fn(*args)
    finally:
        _local.deadline = None


def check_deadline() -> None:
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded("the per-request time limit ran out")


# Methods through which explainers reach the model. Wrapping them gives every request a
# place to stop when its time is up, and serialises the model: the forward engine's cache
# and the tokenizer are not safe to use from two threads at once.
_GUARDED = ("predict_proba", "predict_proba_masked", "predict_proba_masked_many",
            "predict_proba_masked_many_counted", "encode",
            "forward_from_embeddings", "attentions")


def guard_classifier(classifier: Classifier) -> Classifier:
    """Make a loaded classifier safe to share between request threads (in place).

    Each model method in ``_GUARDED`` that the classifier has runs under the model's own
    re-entrant lock and first checks the calling thread's deadline. The lock is per
    forward call, not per request, so a slow LIME request and a quick occlusion request
    on the same model take turns instead of the quick one waiting for the slow one.
    Returns the same object (``isinstance`` checks by explainers keep working).
    """
    return _guard(classifier, _GUARDED)


def guard_llm(backend: Any) -> Any:
    """The same for an LLM backend shared by requests: one generation at a time, and a
    request whose time is up stops before its next call to the LLM."""
    return _guard(backend, ("chat", "chat_many"))


def _guard(obj: Any, names: tuple[str, ...]) -> Any:
    if getattr(obj, "_serve_guarded", False):
        return obj
    lock = threading.RLock()
    for name in names:
        method = getattr(obj, name, None)
        if method is None or not callable(method):
            continue

        def guarded(*args: Any, __method: Callable[..., Any] = method, **kwargs: Any) -> Any:
            check_deadline()
            with lock:
                check_deadline()
                return __method(*args, **kwargs)

        functools.update_wrapper(guarded, method)
        setattr(obj, name, guarded)
    obj._serve_guarded = True
    obj._serve_lock = lock
    return obj


# -- request body size: an ASGI middleware --------------------------------------------
class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413, before the app parses them.

    A declared ``Content-Length`` over the limit is refused at once. A body sent without
    one (chunked) is counted as it arrives; past the limit the app is told the client
    went away, whatever it answers is dropped, and the 413 is sent instead. Wrap the
    whole app with it (outside Starlette's error middleware) so nothing answers first.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = int(max_bytes)

    def _error(self) -> LimitExceeded:
        return LimitExceeded(
            "max_body_bytes", self.max_bytes,
            f"request body is larger than the limit max_body_bytes={self.max_bytes} bytes; "
            f"send a shorter text (or start the server with a larger --max-body-bytes)",
            status_code=413,
        )

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._send_413(send)
            return
        seen = 0
        exceeded = started = False

        async def counting_receive() -> dict:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if not exceeded:
                started = started or message["type"] == "http.response.start"
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._send_413(send)

    async def _send_413(self, send: Callable) -> None:
        body = json.dumps(self._error().to_dict()).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

"""A GGUF model run in-process by llama.cpp (the ``xllamacpp`` package), answers JSON-constrained.

llama.cpp runs the quantised file as it is (no de-quantisation: a 1.5B Q4 model loads in
seconds) and, given a JSON schema, constrains decoding to it, so an answer cannot be
anything but, say, an object holding a list of strings. Decoding is greedy
(temperature 0, fixed seed); llama.cpp's prompt cache reuses the shared prefix of
consecutive prompts (the system message and the few-shot examples).

One model is loaded per process and per (file, context, threads): every backend object
for the same file shares it, so ``llm``, ``union`` and ``counterfactual`` in one run load
it once. Requests go through llama.cpp's own server loop (no HTTP), which queues them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ..errors import ModelError, ParameterError
from .base import LLMBackend, LLMError, Messages, Reply, TokenLogprob

_SERVERS: dict[tuple[str, int, int], Any] = {}
_LOCK = threading.Lock()
XLLAMACPP = "xllamacpp==2026.10.11549"


def default_threads() -> int:
    """The CPU cores this process may use and nobody else is using (1 to 8).

    llama.cpp's threads wait for each other at every step, so on a busy machine one
    descheduled thread stalls the rest: on 2 cores at load 13, 2 threads answered 15x
    slower than 1. Beyond 8 threads decoding does not speed up.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(8, n, int(n - busy + 0.5)))


def load_server(path: str, n_ctx: int, n_threads: int) -> Any:
    """The llama.cpp server for this file and settings, loaded once per process."""
    key = (path, int(n_ctx), int(n_threads))
    with _LOCK:
        server = _SERVERS.get(key)
        if server is not None:
            return server
        try:
            import xllamacpp
        except ImportError:
            raise ModelError(f"the llama.cpp runtime is not installed: `pip install {XLLAMACPP}`") from None
        p = xllamacpp.CommonParams()
        p.model.path = path
        p.n_ctx = int(n_ctx)
        p.n_parallel = 1  # one slot: on a few cores, concurrent requests only slow each other
        p.n_batch = 512
        p.n_ubatch = 512
        p.cpuparams.n_threads = int(n_threads)
        p.cpuparams_batch.n_threads = int(n_threads)
        p.sampling.seed = 0
        p.sampling.temp = 0.0
        p.n_gpu_layers = 0
        p.warmup = False
        p.verbosity = 0
        p.endpoint_metrics = False
        try:
            server = xllamacpp.Server(p)  # blocks until the model is loaded
        except Exception as err:
            raise ModelError(f"llama.cpp could not load {path}: {err}") from err
        _SERVERS[key] = server
        return server


def unload_all() -> None:
    """Free every loaded model (dropping the last reference stops llama.cpp's loop)."""
    with _LOCK:
        _SERVERS.clear()


class LlamaCppBackend(LLMBackend):
    """A GGUF file through llama.cpp: greedy, JSON-schema constrained, one model per process.

    ``model_path``: the ``.gguf`` file; ``name``: the registered name it came from (it
    makes the spec short); ``n_ctx``: the context (prompt + answer) in tokens;
    ``n_threads``: CPU threads (default: the cores this process may use, at most 8).
    """

    kind = "llamacpp"
    constrains_output = True
    #: ``handle_chat_completions`` returns OpenAI-style ``logprobs.content`` when asked
    #: (``logprobs``/``top_logprobs``). They are the model's distribution at each step
    #: *before* the JSON-schema grammar filters it: renormalise over the allowed tokens.
    gives_logprobs = True

    def __init__(
        self,
        model_path: str | Path,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        cache: bool | str | Path | None = True,
    ) -> None:
        super().__init__(max_new_tokens=max_new_tokens, temperature=temperature, cache=cache)
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise ModelError(f"no GGUF file at {path}; give the path of a .gguf file, or a registered "
                             "name (`rationales llm list`)")
        if int(n_ctx) < 256:
            raise ParameterError(f"n_ctx must be >= 256 tokens, got {n_ctx}")
        self.path = path.resolve()
        self.name = name
        self.n_ctx = int(n_ctx)
        self.n_threads = int(n_threads) if n_threads else default_threads()
        self._size = self.path.stat().st_size

    @property
    def model(self) -> str:
        # The file's name and size identify the weights in cache keys, wherever it lives.
        return f"{self.name or self.path.name}:{self._size}"

    @property
    def spec(self) -> str:
        return f"llamacpp:{self.name or self.path}"

    def prepare(self) -> None:
        load_server(str(self.path), self.n_ctx, self.n_threads)

    def request(self, messages: Messages, params: dict[str, Any]) -> dict[str, Any]:
        """The chat-completions request llama.cpp receives for one conversation."""
        req: dict[str, Any] = {
            "messages": messages,
            "max_tokens": int(params["max_new_tokens"]),
            "temperature": float(params["temperature"]),
            "seed": int(params.get("sample", 0)),
            "cache_prompt": True,
        }
        if params.get("top_logprobs"):
            req["logprobs"] = True
            req["top_logprobs"] = int(params["top_logprobs"])
        if params.get("schema") is not None:
            req["response_format"] = {"type": "json_schema", "json_schema": {"schema": params["schema"]}}
        return req

    def _generate(self, messages: Messages, params: dict[str, Any]) -> str:
        return str(self._generate_reply(messages, params).text)

    def _generate_reply(self, messages: Messages, params: dict[str, Any]) -> Reply:
        server = load_server(str(self.path), self.n_ctx, self.n_threads)
        try:
            body = server.handle_chat_completions(self.request(messages, params))
        except ValueError as err:  # a schema llama.cpp cannot turn into a grammar
            raise LLMError(f"llama.cpp rejected the request: {err}") from None
        if not isinstance(body, dict):
            raise LLMError(f"llama.cpp answered {type(body).__name__}, not a JSON object")
        if "error" in body:
            detail = body["error"]
            raise LLMError(f"llama.cpp: {detail.get('message', detail) if isinstance(detail, dict) else detail}")
        try:
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise LLMError(f"llama.cpp answered without choices: {str(body)[:200]}") from None
        logprobs: tuple[TokenLogprob, ...] | None = None
        if params.get("top_logprobs"):
            try:
                logprobs = tuple(
                    (str(t["token"]), float(t["logprob"]),
                     tuple((str(c["token"]), float(c["logprob"])) for c in t.get("top_logprobs", [])))
                    for t in (choice.get("logprobs") or {}).get("content") or [])
            except (KeyError, TypeError, ValueError):
                raise LLMError(f"llama.cpp answered malformed logprobs: {str(choice)[:200]}") from None
        return Reply(str(text), logprobs=logprobs)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "path": str(self.path), "n_ctx": self.n_ctx,
                "n_threads": self.n_threads, "runtime": "llama.cpp (xllamacpp)"}

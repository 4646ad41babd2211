"""Any OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp's server, APIs).

``POST {base_url}/chat/completions`` with ``{"model", "messages", "max_tokens",
"temperature"}``; the answer is ``choices[0].message.content``. Transient failures (HTTP
429 and 5xx, timeouts, dropped connections, a body that is not the expected JSON) are
retried with exponential backoff (``backoff · 2^attempt`` seconds, or the server's
``Retry-After`` when it sends one, capped at ``max_backoff``); other 4xx answers fail at
once. ``max_concurrency`` requests run at the same time in threads.

The client is ``httpx2`` (the maintained successor of httpx; it is already installed as a
dependency of ``huggingface_hub``, which transformers needs): one pooled client keeps
connections alive across requests and gives separate connect/read timeouts, which the
standard library's urllib does not.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from .base import LLMBackend, LLMError, Messages, Reply

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def split_openai_spec(rest: str) -> tuple[str, str]:
    """``http://h:p/v1/MODEL`` or ``URL#MODEL`` → (base URL, model name)."""
    if "#" in rest:
        base, model = rest.rsplit("#", 1)
    elif "/v1/" in rest:
        base, model = rest.split("/v1/", 1)
        base += "/v1"
    else:
        base, _, model = rest.rstrip("/").rpartition("/")
    if not base.startswith(("http://", "https://")) or not model:
        raise ParameterError(
            f"openai spec {rest!r}: expected 'http(s)://host:port/v1/MODEL' or 'URL#MODEL'"
        )
    return base.rstrip("/"), model


class OpenAIBackend(LLMBackend):
    """Chat completions over HTTP with timeout, retries with backoff and a concurrency limit."""

    kind = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_concurrency: int = 4,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        cache: bool | str | Path | None = True,
    ) -> None:
        super().__init__(max_new_tokens=max_new_tokens, temperature=temperature, cache=cache)
        if not str(base_url).startswith(("http://", "https://")):
            raise ParameterError(f"base_url must start with http:// or https://, got {base_url!r}")
        if timeout <= 0 or max_retries < 0 or backoff < 0 or max_concurrency < 1:
            raise ParameterError(
                "timeout must be > 0, max_retries >= 0, backoff >= 0 and max_concurrency >= 1; got "
                f"{timeout}, {max_retries}, {backoff}, {max_concurrency}"
            )
        self.base_url = str(base_url).rstrip("/")
        self.model_name = str(model)
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_concurrency = int(max_concurrency)
        self._client: Any = None
        self._client_lock = threading.Lock()

    @property
    def model(self) -> str:
        return f"{self.base_url}#{self.model_name}"

    @property
    def spec(self) -> str:
        return f"openai:{self.base_url}#{self.model_name}"

    def client(self) -> Any:
        with self._client_lock:  # the first requests of a batch start in several threads
            return self._client or self._make_client()

    def _make_client(self) -> Any:
        import httpx2

        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx2.Client(
            timeout=self.timeout,
            headers=headers,
            limits=httpx2.Limits(max_connections=self.max_concurrency),
        )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _payload(self, messages: Messages, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "messages": messages,
            "max_tokens": params["max_new_tokens"],
            "temperature": params["temperature"],
        }

    def _generate(self, messages: Messages, params: dict[str, Any]) -> str:
        import httpx2

        url = f"{self.base_url}/chat/completions"
        last = "no attempt was made"
        for attempt in range(self.max_retries + 1):
            wait = self.backoff * (2**attempt)
            try:
                resp = self.client().post(url, json=self._payload(messages, params))
            except httpx2.TimeoutException:
                last = f"timed out after {self.timeout:g} s"
            except httpx2.TransportError as err:
                last = f"connection failed: {err}"
            else:
                if resp.status_code in RETRY_STATUS:
                    last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                    retry_after = resp.headers.get("Retry-After")
                    if retry_after and retry_after.strip().replace(".", "", 1).isdigit():
                        wait = float(retry_after)
                elif resp.status_code >= 400:
                    # A client error (bad key, unknown model) will not fix itself: no retry.
                    raise LLMError(f"{url}: HTTP {resp.status_code}: {resp.text[:300]}")
                else:
                    try:
                        return _content(resp.json())
                    except (ValueError, LookupError, TypeError) as err:
                        last = f"malformed response ({err}): {resp.text[:200]!r}"
            if attempt < self.max_retries:
                time.sleep(min(wait, self.max_backoff))
        raise LLMError(f"{url}: {last} (after {self.max_retries + 1} attempts)")

    def _generate_many(self, conversations: list[Messages], params: dict[str, Any]) -> list[Reply]:
        if len(conversations) <= 1 or self.max_concurrency == 1:
            return super()._generate_many(conversations, params)
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            return list(pool.map(lambda m: self._safe(m, params), conversations))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "timeout": self.timeout, "max_retries": self.max_retries,
                "max_concurrency": self.max_concurrency, "api_key_env": self.api_key_env}


def _content(body: Any) -> str:
    """``choices[0].message.content`` of a chat-completions response, checked."""
    if isinstance(body, dict) and "error" in body and "choices" not in body:
        raise ValueError(f"the server answered an error: {json.dumps(body['error'])[:200]}")
    content = body["choices"][0]["message"]["content"]
    if not isinstance(content, str):
        raise TypeError(f"message content is {type(content).__name__}, not text")
    return content

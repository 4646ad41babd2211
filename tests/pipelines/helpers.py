"""What the pipeline tests share: a tiny random model, a scripted LLM, the quirk fixtures."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from rationales.llm import ReplayBackend

QUIRKS = Path(__file__).resolve().parents[1] / "fixtures" / "xmutest" / "quirks"


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from rationales.models.tiny import minilm_tokenizer

    return minilm_tokenizer()


def tiny(label_names: list[str]) -> Any:
    """A tiny randomly initialised BERT for the pipeline's every model (seconds to train)."""
    from rationales.models.tiny import tiny_classifier

    return tiny_classifier(label_names, max_length=32, tokenizer=_tokenizer())


def last_word(messages: list[dict[str, str]]) -> str:
    """The scripted LLM's answer: the post's last word, as a JSON list."""
    post = re.findall(r"<<<(.*?)>>>", messages[-1]["content"], re.S)[-1]
    return json.dumps([post.split()[-1]], ensure_ascii=False)


def replay(answer: Any = last_word) -> ReplayBackend:
    return ReplayBackend(answer)


#: settings that keep a whole pipeline to seconds
FAST: dict[str, Any] = {"backbone": tiny, "epochs": 1, "max_length": 32, "chunk_size": 4, "progress": False,
                        "params": {"lime": {"n_samples": 20}}}

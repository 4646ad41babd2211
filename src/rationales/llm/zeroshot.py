"""The LLM as a zero-shot classifier (X-MuTeST's first prompt: "hateful? answer 1/0").

A baseline to set beside fine-tuned models: how well does the LLM whose words ``llm`` and
``union`` use classify the posts by itself?
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ..errors import InputError, ParameterError
from ..models.base import InputLike, as_examples
from ..types import Example
from .backends import get_backend
from .base import LLMBackend
from .parse import ParseError, parse_label
from .prompts import LABEL_SCHEMA, zeroshot_messages


@dataclass
class ZeroShotResult:
    """One 1/0 prediction per input (None where the LLM failed, with the reason)."""

    ids: list[str]
    predictions: list[int | None]
    answers: list[str | None]
    failed: list[str | None]
    llm: dict[str, Any] = field(default_factory=dict)

    @property
    def failure_rate(self) -> float:
        return sum(f is not None for f in self.failed) / len(self.failed) if self.failed else 0.0

    def accuracy(self, gold: Sequence[int]) -> dict[str, Any]:
        """Accuracy against 1/0 ``gold``; a failed prediction counts as wrong (and is counted)."""
        if len(gold) != len(self.predictions):
            raise InputError(f"{len(gold)} gold labels for {len(self.predictions)} predictions")
        right = sum(int(p is not None and p == int(g)) for p, g in zip(self.predictions, gold))
        n = len(gold)
        return {"accuracy": right / n if n else 0.0, "n": n,
                "failed": sum(p is None for p in self.predictions),
                "variant": "binary 1=hateful/offensive; failed answers count as wrong"}

    def to_dict(self) -> dict[str, Any]:
        return {"ids": self.ids, "predictions": self.predictions, "answers": self.answers,
                "failed": self.failed, "failure_rate": self.failure_rate, "llm": self.llm}


def classify(
    inputs: InputLike | Iterable[InputLike],
    llm: LLMBackend | str | None = None,
    *,
    question: str | None = None,
    max_new_tokens: int = 8,
) -> ZeroShotResult:
    """Ask the LLM, post by post, whether each is hateful or offensive (1) or not (0).

    ``question`` replaces the prompt; it must contain ``{post}``.
    """
    if question is not None and "{post}" not in question:
        raise ParameterError("question must contain '{post}' where the post goes")
    backend = get_backend(llm)
    exs: list[Example] = as_examples(inputs)
    replies = backend.chat_many([zeroshot_messages(ex.words, question) for ex in exs],
                                max_new_tokens=max_new_tokens, schema=LABEL_SCHEMA)
    preds: list[int | None] = []
    failed: list[str | None] = []
    for r in replies:
        if not r.ok:
            preds.append(None)
            failed.append(f"LLM call failed: {r.error}")
            continue
        try:
            preds.append(parse_label(r.text or ""))
            failed.append(None)
        except ParseError as err:
            preds.append(None)
            failed.append(f"unparseable answer: {err}")
    return ZeroShotResult([ex.id for ex in exs], preds, [r.text for r in replies], failed,
                          backend.describe())

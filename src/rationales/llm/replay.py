"""A backend that replays recorded answers: for tests, demos and re-scoring saved runs.

It goes through the same path as a real backend (cache, ``Reply``, failures), so an
explainer tested with it runs its real prompt building, parsing and phrase mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from .base import LLMBackend, Messages, Reply

Answer = str | Reply | BaseException


class ReplayBackend(LLMBackend):
    """Answers from ``answers``: a function of the messages, or {substring: answer}.

    With a mapping, the first key (in order) found in the conversation's user messages,
    the latest message first, gives the answer; ``default`` answers when none is found (None = an error).
    An answer that is an exception instance is raised, to replay a failure; a
    :class:`Reply` is given as it is (to replay token log-probabilities: pass
    ``gives_logprobs=True``). ``params`` holds the latest call's generation parameters.
    """

    kind = "replay"

    def __init__(
        self,
        answers: Callable[[Messages], Answer] | Mapping[str, Answer],
        *,
        default: Answer | None = None,
        name: str = "replay",
        max_new_tokens: int = 256,
        cache: bool | str | Path | None = None,
        gives_logprobs: bool = False,
    ) -> None:
        super().__init__(max_new_tokens=max_new_tokens, cache=cache)
        self.gives_logprobs = gives_logprobs
        self.params: dict[str, Any] = {}
        self.answers = answers
        self.default = default
        self.name = name
        self.calls: list[Messages] = []

    @property
    def model(self) -> str:
        return self.name

    def _generate(self, messages: Messages, params: dict[str, Any]) -> str:
        return str(self._generate_reply(messages, params).text)

    def _generate_reply(self, messages: Messages, params: dict[str, Any]) -> Reply:
        self.calls.append(messages)
        self.params = dict(params)
        answer: Answer | None
        if callable(self.answers):
            answer = self.answers(messages)
        else:
            users = [m["content"] for m in reversed(messages) if m["role"] == "user"]
            found = next((a for text in users for k, a in self.answers.items() if k in text), None)
            answer = self.default if found is None else found
            if answer is None:
                raise LookupError(f"replay backend {self.name!r} has no answer for this prompt")
        if isinstance(answer, BaseException):
            raise answer
        return answer if isinstance(answer, Reply) else Reply(str(answer))

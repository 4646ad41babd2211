"""The classifier contract every explainer and metric relies on.

A classifier sees words, never raw strings: each input is an :class:`Example` (raw
texts are segmented into words first, see :func:`as_examples`). Every probability goes
through the classifier's forward engine, so repeated questions are answered from cache.

Masks are *keep* masks: ``keep[j, i]`` is True when word ``i`` is present in the j-th
perturbed input. ``removal`` says what happens to an absent word: ``"delete"`` removes
its subword ids, ``"mask"`` replaces each of them by the mask token (pad if the tokenizer
has none).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Hashable, Iterable, Protocol, Sequence, Union, runtime_checkable

import numpy as np

from ..types import Example

REMOVALS = ("delete", "mask")

InputLike = Union[str, Sequence[str], Example]


def as_examples(inputs: InputLike | Iterable[InputLike]) -> list[Example]:
    """Turn a text, a list of words, an Example, or an iterable of those into Examples.

    A plain string is segmented into words by :func:`rationales.words.segment`. A list of
    strings is a list of *texts*; a pre-split text is a list (or tuple) of words inside the
    iterable (``[["they", "said", "so"]]``) or an Example. Generated ids are ``"0"``,
    ``"1"``, ... in input order.
    """
    from ..words import segment

    if isinstance(inputs, (str, Example)):
        inputs = [inputs]
    out: list[Example] = []
    for i, item in enumerate(inputs):
        if isinstance(item, Example):
            out.append(item)
        elif isinstance(item, str):
            out.append(Example(id=str(i), words=tuple(segment(item))))
        elif isinstance(item, (list, tuple)) and all(isinstance(w, str) for w in item):
            out.append(Example(id=str(i), words=tuple(item)))
        else:
            raise TypeError(
                f"input {i}: expected a text, a list of words or an Example, got {type(item).__name__}"
            )
    return out


def check_removal(removal: str) -> str:
    if removal not in REMOVALS:
        raise ValueError(f"removal must be one of {REMOVALS}, got {removal!r}")
    return removal


class Classifier(ABC):
    """A text classifier over words with a batched, cached forward engine.

    Subclasses set ``label_names`` and ``name``, implement the abstract methods, and own
    an ``engine`` (see :mod:`rationales.models.engine`) whose ``stats`` count forward
    passes, tokens and cache hits.
    """

    label_names: list[str]
    name: str
    #: True when the classifier is a :class:`DifferentiableClassifier` (what listings and
    #: model cards show; ``rationales.testing.check_classifier`` checks the two agree).
    differentiable: bool = False
    #: how it was trained (``rationales.train`` fills it in; saved with the model)
    train_config: dict[str, Any]
    #: its training report (``{"eval": {...}, ...}``; saved with the model)
    metrics: dict[str, Any]

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @abstractmethod
    def predict_proba(self, inputs: InputLike | Iterable[InputLike]) -> np.ndarray:
        """Class probabilities, shape (n_inputs, n_labels), rows sum to 1."""

    @abstractmethod
    def predict_proba_masked(
        self, example: Example, keep: np.ndarray, removal: str = "delete"
    ) -> np.ndarray:
        """Probabilities for perturbed copies of one example.

        ``keep`` is a bool array (n_masks, n_words); returns (n_masks, n_labels).
        """

    def predict_proba_masked_many(
        self, requests: Sequence[tuple[Example, np.ndarray]], removal: str = "delete"
    ) -> list[np.ndarray]:
        """``predict_proba_masked`` for several examples at once: one array per request.

        Classifiers with a forward engine send every perturbed input of every request in
        one engine call, so batches are cut across examples (fuller batches, less
        padding); this default asks one example at a time.
        """
        return [self.predict_proba_masked(example, keep, removal) for example, keep in requests]

    def predict(self, inputs: InputLike | Iterable[InputLike]) -> np.ndarray:
        """The most probable label id of each input."""
        return self.predict_proba(inputs).argmax(axis=1)

    def n_words_used(self, example: Example) -> int:
        """How many leading words of ``example`` the model sees (the rest are truncated)."""
        return len(example.words)

    @abstractmethod
    def save(self, directory: str | Path) -> Path:
        """Write everything needed to load this classifier again into ``directory``."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "label_names": list(self.label_names),
                "differentiable": self.differentiable}


# -- capabilities some explainers need, declared (checked at the door, never assumed) --
# Each protocol lists exactly the members an explainer reads; ``isinstance`` against it
# (they are runtime-checkable) says whether a classifier has them.
@runtime_checkable
class WordEncoding(Protocol):
    """One example tokenised: its ids and, per id, the word it came from (-1 = special)."""

    @property
    def input_ids(self) -> Sequence[int]: ...

    @property
    def word_index(self) -> Sequence[int]: ...


@runtime_checkable
class DifferentiableClassifier(Protocol):
    """A classifier gradient explainers (``gradient``, ``grad_input``,
    ``integrated_gradients``) can differentiate: word → subword encoding, the input
    embedding layer, and probabilities computed from input embeddings.

    ``model`` is the torch module (its parameters say which device to put inputs on);
    ``pad_token_id`` and ``mask_token_id`` (None when the tokenizer has none) fill the
    integrated-gradients baseline.
    """

    model: Any
    pad_token_id: int
    mask_token_id: int | None

    def encode(self, example: Example) -> WordEncoding:
        """The encoding of one example: ``input_ids`` and ``word_index`` (-1 = special)."""
        ...

    def embeddings(self) -> Any:
        """The input embedding module (ids → vectors)."""
        ...

    def forward_from_embeddings(self, inputs_embeds: Any, attention_mask: Any | None = None) -> Any:
        """Class probabilities (batch, n_labels) from input embeddings, differentiably."""
        ...


@runtime_checkable
class AttentionClassifier(Protocol):
    """A classifier whose attention weights the ``attention`` explainer reads."""

    def encode(self, example: Example) -> WordEncoding:
        """The encoding of one example: ``input_ids`` and ``word_index`` (-1 = special)."""
        ...

    def attentions(self, example: Example) -> np.ndarray:
        """Attention weights of the unperturbed input, shape (layers, heads, tokens, tokens)."""
        ...


#: explainer flag → (the protocol a classifier must satisfy, what to call it in errors)
CAPABILITIES: dict[str, tuple[type, str]] = {
    "needs_gradients": (DifferentiableClassifier, "gradients (a DifferentiableClassifier)"),
    "needs_attentions": (AttentionClassifier, "attention weights (an AttentionClassifier)"),
}


def missing_capabilities(explainer: Any, classifier: Any) -> list[str]:
    """What ``explainer`` (class or instance) needs that ``classifier`` lacks, in words."""
    return [what for flag, (proto, what) in CAPABILITIES.items()
            if getattr(explainer, flag, False) and not isinstance(classifier, proto)]


class EngineClassifier(Classifier):
    """A classifier whose masked probabilities are engine keys run through ``self.engine``.

    Subclasses give ``masked_keys(example, keep, removal)``: one engine key per row of a
    2-D keep mask. Both masked calls are built on it; ``predict_proba_masked_many`` sends
    every request's keys in one engine call, so batches are cut across examples.
    """

    engine: Any

    @abstractmethod
    def masked_keys(self, example: Example, keep: np.ndarray, removal: str) -> Sequence[Hashable]:
        """The engine key of each row of ``keep`` (bool, shape (n_masks, n_words))."""

    def predict_proba_masked(self, example: Example, keep: np.ndarray, removal: str = "delete") -> np.ndarray:
        return self.predict_proba_masked_many([(example, keep)], removal)[0]

    def predict_proba_masked_many(
        self, requests: Sequence[tuple[Example, np.ndarray]], removal: str = "delete"
    ) -> list[np.ndarray]:
        return self.predict_proba_masked_many_counted(requests, removal)[0]

    def predict_proba_masked_many_counted(
        self, requests: Sequence[tuple[Example, np.ndarray]], removal: str = "delete"
    ) -> tuple[list[np.ndarray], list[int]]:
        """``predict_proba_masked_many`` and the forward passes each request caused.

        A sequence the engine ran counts for the first request that asked for it; cached
        answers and repeats count for none, so the counts add up to the passes run.
        """
        keys: list[Hashable] = []
        sizes: list[int] = []
        for example, keep in requests:
            keep = np.asarray(keep, dtype=bool)
            if keep.ndim == 1:
                keep = keep[None, :]
            found = self.masked_keys(example, keep, removal) if keep.shape[0] else []
            keys += found
            sizes.append(len(found))
        rows = self.engine(keys) if keys else np.zeros((0, self.num_labels))
        ran = set(self.engine.thread_last_ran()) if keys else set()
        ends = np.cumsum(sizes, dtype=np.int64)
        passes = []
        for size, end in zip(sizes, ends):
            mine = ran.intersection(keys[end - size:end])
            passes.append(len(mine))
            ran -= mine
        return [rows[end - size:end] for size, end in zip(sizes, ends)], passes

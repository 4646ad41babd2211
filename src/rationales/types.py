"""The core values every stage passes along: Example, Dataset, Explanation, MetricResult.

They are plain dataclasses. ``to_dict`` gives JSON-serialisable values and ``from_dict``
reads them back, so results can be written to JSONL, sent over HTTP and compared later.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, overload

from .errors import InputError, ParameterError
from .rules import apply_rule, ranking, top_k_mask


def _tuple_or_none(values: Iterable | None, cast: Callable = lambda v: v) -> tuple | None:
    return None if values is None else tuple(cast(v) for v in values)


@dataclass(frozen=True)
class Example:
    """One text as a sequence of words, with an optional label and word rationale.

    ``words`` are the unit humans annotated; ``rationale`` holds one 0/1 per word
    (1 = the word is part of the human rationale) or is None when there is none.
    ``meta`` carries dataset-specific extras (annotator masks, targets, source file).
    """

    id: str
    #: any sequence is accepted; it is stored as a tuple
    words: Sequence[str]
    label: int | None = None
    #: any sequence of 0/1 is accepted; it is stored as a tuple
    rationale: Sequence[int] | None = None
    lang: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", str(self.id))
        object.__setattr__(self, "words", tuple(str(w) for w in self.words))
        object.__setattr__(self, "rationale", _tuple_or_none(self.rationale, int))
        if self.rationale is not None and len(self.rationale) != len(self.words):
            raise InputError(
                f"example {self.id!r}: {len(self.rationale)} rationale values for "
                f"{len(self.words)} words"
            )
        if self.rationale is not None and any(v not in (0, 1) for v in self.rationale):
            raise InputError(f"example {self.id!r}: rationale values must be 0 or 1")

    @property
    def text(self) -> str:
        """The words joined by single spaces (a display form, not the original text)."""
        return " ".join(self.words)

    @property
    def rationale_words(self) -> list[str]:
        if self.rationale is None:
            return []
        return [w for w, r in zip(self.words, self.rationale) if r]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "words": list(self.words),
            "label": self.label,
            "rationale": None if self.rationale is None else list(self.rationale),
            "lang": self.lang,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Example":
        return cls(
            id=d["id"],
            words=d["words"],
            label=d.get("label"),
            rationale=d.get("rationale"),
            lang=d.get("lang"),
            meta=dict(d.get("meta") or {}),
        )


@dataclass
class Dataset:
    """An ordered collection of Examples with the names of its labels.

    Iterable, sliceable (``ds[:10]`` is a Dataset) and filterable. ``report`` holds what
    the loader noticed (skipped rows and why, normalised quirks), never silently.
    """

    examples: list[Example]
    label_names: list[str]
    name: str = "custom"
    split: str | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    @overload
    def __getitem__(self, key: int) -> Example: ...

    @overload
    def __getitem__(self, key: slice) -> "Dataset": ...

    def __getitem__(self, key: int | slice) -> "Example | Dataset":
        if isinstance(key, slice):
            return self._with(self.examples[key])
        return self.examples[key]

    def _with(self, examples: list[Example]) -> "Dataset":
        return Dataset(list(examples), list(self.label_names), self.name, self.split, dict(self.report))

    @property
    def full_name(self) -> str:
        return f"{self.name}:{self.split}" if self.split else self.name

    def filter(
        self,
        fn: Callable[[Example], bool] | None = None,
        *,
        label: int | str | Sequence[int | str] | None = None,
        has_rationale: bool | None = None,
        lang: str | None = None,
    ) -> "Dataset":
        """Keep the examples that pass every given condition.

        ``label`` takes label ids or label names (one or several).
        """
        labels: set[int] | None = None
        if label is not None:
            wanted = [label] if isinstance(label, (int, str)) else list(label)
            labels = {self.label_id(v) for v in wanted}

        def keep(ex: Example) -> bool:
            if labels is not None and ex.label not in labels:
                return False
            if has_rationale is not None and (ex.rationale is not None) != has_rationale:
                return False
            if lang is not None and ex.lang != lang:
                return False
            return fn(ex) if fn is not None else True

        return self._with([ex for ex in self.examples if keep(ex)])

    def label_id(self, label: int | str) -> int:
        if isinstance(label, int):
            if not 0 <= label < len(self.label_names):
                raise ParameterError(f"label id {label} out of range for labels {self.label_names}")
            return label
        if label not in self.label_names:
            raise ParameterError(f"unknown label {label!r}; this dataset's labels are {self.label_names}")
        return self.label_names.index(label)

    def label_counts(self) -> dict[str, int]:
        """Examples per label name; unlabelled examples are counted as ``"(unlabelled)"``.

        A dataset with no labels at all (SemEval Toxic Spans: every post is toxic, the
        task is the spans) gives only ``{"(unlabelled)": n}`` rather than a 0 per name.
        """
        counts = Counter(ex.label for ex in self.examples)
        unlabelled = counts.pop(None, 0)
        out = {name: counts.get(i, 0) for i, name in enumerate(self.label_names)} if counts else {}
        if unlabelled:
            out["(unlabelled)"] = unlabelled
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "split": self.split,
            "label_names": list(self.label_names),
            "report": self.report,
            "examples": [ex.to_dict() for ex in self.examples],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Dataset":
        return cls(
            [Example.from_dict(e) for e in d["examples"]],
            list(d["label_names"]),
            d.get("name", "custom"),
            d.get("split"),
            dict(d.get("report") or {}),
        )


@dataclass(frozen=True)
class Explanation:
    """Word-level scores for one example: higher = more responsible for ``target``.

    ``info`` holds what a method wants to report beside the scores (the prediction, a
    truncation point, an LLM's raw answer, a failure reason, a counterfactual text).
    An explanation whose method failed has ``failed`` set to the reason and all-zero
    scores; metrics skip it and count it.

    It is frozen, and ``info`` and ``params`` are read-only by convention (plain dicts, so
    they stay JSON- and pickle-friendly): nothing changes an explanation once it is made;
    :meth:`with_info` makes a copy with more ``info``.
    """

    example_id: str
    #: any sequences are accepted; they are stored as tuples
    words: Sequence[str]
    scores: Sequence[float]
    target: int
    method: str
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    failed: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "example_id", str(self.example_id))
        object.__setattr__(self, "words", tuple(str(w) for w in self.words))
        object.__setattr__(self, "scores", tuple(float(s) for s in self.scores))
        object.__setattr__(self, "target", int(self.target))
        if len(self.scores) != len(self.words):
            raise InputError(
                f"explanation of {self.example_id!r} by {self.method}: "
                f"{len(self.scores)} scores for {len(self.words)} words"
            )

    def with_info(self, **more: Any) -> "Explanation":
        """A copy whose ``info`` also holds ``more`` (a key given again is replaced); this
        explanation is left as it is."""
        return replace(self, params=dict(self.params), info={**self.info, **more})

    # -- soft scores to a hard rationale (a 0/1 mask over words): rationales.rules ------
    def hard(self, rule: str) -> list[int]:
        """The hard rationale ``rule`` makes of the scores (``top_k=5``, ``xmutest``, ...;
        see :mod:`rationales.rules`)."""
        return apply_rule(self.scores, rule)

    def top_k(self, k: int) -> list[int]:
        """The k highest-scoring words (ties: earlier position first) as a 0/1 mask."""
        return top_k_mask(self.scores, k)

    def ranking(self) -> list[int]:
        """Word positions from most to least responsible (ties: earlier first)."""
        return ranking(self.scores)

    def to_dict(self) -> dict[str, Any]:
        return {
            "example_id": self.example_id,
            "words": list(self.words),
            "scores": list(self.scores),
            "target": self.target,
            "method": self.method,
            "params": self.params,
            "info": self.info,
            "failed": self.failed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Explanation":
        return cls(
            example_id=d["example_id"],
            words=d["words"],
            scores=d["scores"],
            target=d["target"],
            method=d["method"],
            params=dict(d.get("params") or {}),
            info=dict(d.get("info") or {}),
            failed=d.get("failed"),
        )


@dataclass(frozen=True)
class MetricResult:
    """One metric value with its exact variant and what it was computed on.

    ``name`` is the metric (``token_f1``); ``variant`` spells out every choice that
    changes the number (``instance_macro, top_k=5, gold=union``). ``per_example`` holds
    each example's value (None where the example was excluded), ``n`` how many examples
    the value averages, ``excluded`` why the others were left out.
    """

    name: str
    variant: str
    value: float
    n: int
    per_example: Mapping[str, float | None] = field(default_factory=dict, compare=False, hash=False)
    excluded: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    method: str | None = None
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        """The name as printed: ``token_f1[instance_macro, top_k=5]``."""
        return f"{self.name}[{self.variant}]" if self.variant else self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "variant": self.variant,
            "label": self.label,
            "value": self.value,
            "n": self.n,
            "per_example": self.per_example,
            "excluded": self.excluded,
            "method": self.method,
            "params": self.params,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MetricResult":
        return cls(
            name=d["name"],
            variant=d["variant"],
            value=d["value"],
            n=d["n"],
            per_example=dict(d.get("per_example") or {}),
            excluded=dict(d.get("excluded") or {}),
            method=d.get("method"),
            params=dict(d.get("params") or {}),
        )

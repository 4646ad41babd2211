"""Protocols: named presets that fix every choice a metric value depends on.

A protocol says which examples are evaluated, how the gold rationale is built from the
annotators' masks, how soft scores become a hard rationale, how words are removed, and
which averaging each metric uses. Any field can be overridden; ``describe`` prints the
fully resolved protocol so a number is never read under the wrong definition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Iterable, Sequence

from ..errors import InputError, ParameterError
from ..models.base import check_removal
from ..registry import Registry
from ..rules import normalise_rule
from ..types import Dataset, Example

#: ERASER's AOPC bins: fractions of the words removed/kept.
ERASER_BINS = (0.01, 0.05, 0.1, 0.2, 0.5)

#: Label names that mean "not hateful / not toxic": everything else is a "hate" post.
NORMAL_LABELS = {"normal", "non-hate", "non_hate", "nonhate", "not hate", "not_hate", "nothate",
                 "non-toxic", "not toxic", "neither", "none", "clean", "0", "no"}


@dataclass(frozen=True)
class Protocol:
    """Every choice behind a metric value, in one place.

    - ``examples``: ``"non_normal"`` (gold label is not a normal/non-hate label),
      ``"all"``, or label names joined by ``|`` (``"hatespeech|offensive"``).
    - ``gold``: ``"union"`` / ``"majority"`` of the annotators' masks in
      ``meta["annotator_rationales"]`` (falls back to the loaded rationale, and says so), or
      ``"dataset"`` (the rationale as loaded).
    - ``hard``: ``"top_k=5"``, ``"top_fraction=0.3"``, ``"top_fraction=mean_gold"`` (the
      dataset's mean gold rationale fraction, ERASER), ``"threshold=0.0"``, or ``"xmutest"``
      (one word → it; ≤ 10 words → top ⌊n/2⌋; more → top 5): the rules of
      :mod:`rationales.rules`, in their one syntax.
    - ``removal``: ``"delete"`` or ``"mask"``; ``token_average``: ``"instance_macro"`` or
      ``"micro"``; ``iou_threshold``, ``iou_average`` (``macro``/``micro``),
      ``iou_pred_spans`` (``contiguous``/``tokens``); ``aopc``: also compute AOPC over
      ``aopc_bins``; ``tau_loo``: Kendall τ with leave-one-out drops (ferret's taucorr_loo);
      ``classification_on``: ``"dataset"`` (every labelled example given) or ``"protocol"``.
    - ``ground_truth``: the loaded rationale is a ground truth (GECO): also compute the
      ground-truth metrics (:mod:`rationales.evaluation.ground_truth`) and, where examples
      come in pairs (``meta["pair"]``), the pair statistic; ``only_correct``: evaluate
      explanations only of the pairs (or examples) the classifier gets right, as GECOBench
      reports.
    """

    name: str
    description: str = ""
    examples: str = "all"
    gold: str = "dataset"
    hard: str = "top_k=5"
    removal: str = "delete"
    token_average: str = "instance_macro"
    iou_threshold: float = 0.5
    iou_average: str = "macro"
    iou_pred_spans: str = "contiguous"
    aopc: bool = False
    aopc_bins: tuple[float, ...] = ERASER_BINS
    tau_loo: bool = True
    classification_on: str = "dataset"
    ground_truth: bool = False
    only_correct: bool = False

    def __post_init__(self) -> None:
        check_removal(self.removal)
        object.__setattr__(self, "hard", normalise_rule(self.hard))
        if self.gold not in ("union", "majority", "dataset"):
            raise ParameterError(f"gold must be 'union', 'majority' or 'dataset', got {self.gold!r}")
        if self.token_average not in ("instance_macro", "micro"):
            raise ParameterError(f"token_average must be 'instance_macro' or 'micro', got {self.token_average!r}")
        if self.iou_average not in ("macro", "micro"):
            raise ParameterError(f"iou_average must be 'macro' or 'micro', got {self.iou_average!r}")
        if self.iou_pred_spans not in ("contiguous", "tokens"):
            raise ParameterError(f"iou_pred_spans must be 'contiguous' or 'tokens', got {self.iou_pred_spans!r}")
        if self.classification_on not in ("dataset", "protocol"):
            raise ParameterError(f"classification_on must be 'dataset' or 'protocol', got {self.classification_on!r}")
        if not all(0 < b <= 1 for b in self.aopc_bins):
            raise ParameterError(f"aopc_bins must be fractions in (0, 1], got {self.aopc_bins}")

    # -- overrides -------------------------------------------------------------------
    def override(self, **changes: Any) -> "Protocol":
        """A copy with fields changed; ``top_k=``, ``top_fraction=``, ``threshold=`` set ``hard``.

        Values may be strings (from the command line); they are cast to the field's type.
        """
        names = {f.name: f for f in fields(self)}
        out: dict[str, Any] = {}
        for key, value in changes.items():
            if value is None:
                continue
            if key in ("top_k", "top_fraction", "threshold"):
                out["hard"] = f"{key}={value}"
                continue
            if key not in names or key == "name":
                raise ParameterError(
                    f"unknown protocol field {key!r}; fields: "
                    f"{', '.join(n for n in names if n != 'name')} (or top_k / top_fraction / threshold)"
                )
            out[key] = _cast(key, value, getattr(self, key))
        return replace(self, **out) if out else self

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["aopc_bins"] = list(self.aopc_bins)
        return d

    # -- what it selects -------------------------------------------------------------
    def select(self, dataset: Dataset) -> Dataset:
        """The examples this protocol evaluates, in dataset order."""
        if self.examples == "all":
            return dataset
        if self.examples == "non_normal":
            keep = [i for i, n in enumerate(dataset.label_names) if n.strip().lower() not in NORMAL_LABELS]
            if len(keep) == len(dataset.label_names):
                raise ParameterError(
                    f"protocol {self.name!r} keeps non-normal posts, but none of the labels "
                    f"{dataset.label_names} is a normal label ({sorted(NORMAL_LABELS)}); "
                    f"override examples='LABEL|LABEL' with the labels to evaluate"
                )
            return dataset.filter(label=keep)
        return dataset.filter(label=[s.strip() for s in self.examples.split("|") if s.strip()])

    def keep_correct(self, selected: Dataset, predictions: Sequence[int]) -> Dataset:
        """``selected`` less the examples the classifier got wrong (``only_correct``); examples
        that come in pairs (``meta["pair"]``) are kept only when both forms are right."""
        wrong_groups = {ex.meta.get("pair", ("id", ex.id)) for ex, p in zip(selected, predictions)
                        if ex.label is None or int(p) != ex.label}
        return selected.filter(lambda ex: ex.meta.get("pair", ("id", ex.id)) not in wrong_groups)

    def gold_mask(self, example: Example) -> list[int] | None:
        """The gold rationale under this protocol (None when the example has none)."""
        masks = example.meta.get("annotator_rationales") if self.gold != "dataset" else None
        masks = [m for m in (masks or []) if m is not None]
        if not masks:
            return None if example.rationale is None else list(example.rationale)
        cols = list(zip(*masks))
        if self.gold == "union":
            return [1 if any(c) else 0 for c in cols]
        return [1 if sum(1 for v in c if v) * 2 > len(masks) else 0 for c in cols]

    @property
    def needs_data(self) -> bool:
        """Whether a choice depends on the data (``top_fraction=mean_gold``): see :meth:`resolve`."""
        return self.hard == "top_fraction=mean_gold"

    def resolve(self, dataset: Dataset) -> "Protocol":
        """Fix data-dependent choices (``top_fraction=mean_gold`` → the measured fraction)."""
        return self.resolve_from([dataset], dataset.full_name)

    def resolve_from(self, parts: Iterable[Dataset], source: str) -> "Protocol":
        """:meth:`resolve` over a dataset given in parts, one held at a time (a streamed
        corpus): the same value as on the whole, since the mean is over selected examples."""
        if not self.needs_data:
            return self
        total, n = 0.0, 0
        for part in parts:
            for ex in self.select(part):
                g = self.gold_mask(ex)
                if g is not None and len(g) and any(g):
                    total += sum(g) / len(g)
                    n += 1
        if not n:
            raise InputError(
                f"top_fraction=mean_gold needs gold rationales, and {source} has none among the "
                f"examples protocol {self.name!r} selects; give examples a rationale or override the "
                f"rule (e.g. top_fraction=0.3)"
            )
        return replace(self, hard=f"top_fraction={total / n:.4f}")

    def describe(self, dataset: Dataset | None = None) -> str:
        """One readable paragraph with every resolved choice (printed in every header)."""
        where = ""
        if dataset is not None:
            sel = self.select(dataset)
            where = f" of {dataset.full_name} ({len(sel)} of {len(dataset)})"
        gold = {"union": "union of annotator masks", "majority": "majority of annotator masks",
                "dataset": "the rationale as loaded"}[self.gold]
        spans = {"tokens": "one span per selected word (HateXplain's code)",
                 "contiguous": "contiguous runs (ERASER)"}[self.iou_pred_spans]
        parts = [
            f"protocol {self.name}: examples={self.examples}{where}",
            f"gold={gold}",
            f"hard rationale={self.hard}",
            f"removal={self.removal}",
            f"token P/R/F1={self.token_average}",
            f"IOU-F1={self.iou_average} partial match at IOU>={self.iou_threshold:g}, predicted spans={spans}",
            "AUPRC=per-example mean",
            "comprehensiveness/sufficiency at the hard rationale",
        ]
        if self.aopc:
            parts.append("AOPC over bins " + "/".join(f"{b * 100:g}%" for b in self.aopc_bins))
        if self.tau_loo:
            parts.append("Kendall tau-b vs leave-one-out drops (ferret taucorr_loo)")
        on = "every labelled example" if self.classification_on == "dataset" else "the protocol examples"
        parts.append(f"classification on {on}")
        if self.ground_truth:
            parts.append("ground truth: mass accuracy, top-k precision (k = ground-truth words), ROC AUC, "
                         "average precision, precision at specificity > 0.5, on |scores|; pair statistic")
        if self.only_correct:
            parts.append("only examples (pairs) the classifier gets right")
        return "; ".join(parts)


def _cast(key: str, value: Any, current: Any) -> Any:
    if not isinstance(value, str):
        return tuple(value) if isinstance(current, tuple) else value
    if isinstance(current, bool):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ParameterError(f"protocol field {key}: expected true/false, got {value!r}")
    if isinstance(current, float):
        return float(value)
    if isinstance(current, tuple):
        return tuple(float(v) for v in value.replace("/", ",").split(",") if v.strip())
    return value


# -- the presets -----------------------------------------------------------------------
PROTOCOLS: Registry[Protocol] = Registry("protocol")


def _add(p: Protocol) -> None:
    PROTOCOLS.add(p.name, p, p.description)


_add(Protocol(
    "hatexplain",
    "HateXplain paper: non-normal test posts, union of annotator masks, top-5 words, delete, "
    "token F1 instance-macro, IOU spans as HateXplain's code submits them",
    examples="non_normal", gold="union", hard="top_k=5", removal="delete",
    token_average="instance_macro", iou_pred_spans="tokens",
))
_add(Protocol(
    "eraser",
    "ERASER: top-fraction = the mean gold rationale fraction, AOPC over 1/5/10/20/50 %, delete, "
    "contiguous predicted spans",
    examples="all", gold="dataset", hard="top_fraction=mean_gold", removal="delete",
    token_average="instance_macro", iou_pred_spans="contiguous", aopc=True,
))
_add(Protocol(
    "xmutest",
    "X-MuTeST: hate posts, majority rationale, X-MuTeST's hard-rationale rule, mask removal, "
    "token F1 micro",
    examples="non_normal", gold="majority", hard="xmutest", removal="mask",
    token_average="micro", iou_pred_spans="contiguous",
))


_add(Protocol(
    "geco",
    "GECOBench: every test sentence, the ground-truth words as gold, ground-truth metrics on |scores| "
    "(mass accuracy, top-k precision, ROC AUC, AP, precision at specificity > 0.5), the pair statistic, "
    "comprehensiveness/sufficiency at the mean ground-truth fraction",
    examples="all", gold="dataset", hard="top_fraction=mean_gold", removal="delete",
    token_average="instance_macro", iou_pred_spans="contiguous", ground_truth=True,
))


def get_protocol(protocol: "str | Protocol", **overrides: Any) -> Protocol:
    """A registered protocol by name (or a Protocol), with ``overrides`` applied."""
    p = PROTOCOLS.get(protocol) if isinstance(protocol, str) else protocol
    return p.override(**overrides)


def protocol_names() -> Sequence[str]:
    return PROTOCOLS.names()

"""The benchmark: explain with several methods, time them, evaluate.

``benchmark(classifier, dataset, methods, protocol)`` is ferret's ``Benchmark`` done with
named metric variants: one call explains the protocol's examples with every method (a
progress bar per method), measures seconds and forward passes per explanation,
evaluates everything under the protocol, and keeps per-example values so two runs can be
compared (:meth:`BenchmarkRun.compare`). It returns the run; the caller writes the
report (``rationales.report.write_all(run, out)``: JSON, CSV, Markdown and HTML), so
evaluation never reaches up into the report layer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError, ParameterError
from ..methods.request import build_explainers, parse_methods
from ..models.base import Classifier
from ..progress import ProgressLike, progress_from
from ..types import Dataset, Explanation, MetricResult
from . import evaluate
from .classification import classify
from .hardness import SIGNALS, hardness_signals, stratify
from .protocols import Protocol, get_protocol


@dataclass
class BenchmarkRun:
    """Everything one benchmark produced: results, timings, explanations and where files went."""

    model: dict[str, Any]
    dataset: str
    protocol: dict[str, Any]
    protocol_text: str
    methods: list[str]
    n_examples: int
    results: list[MetricResult]
    timing: dict[str, dict[str, float]]
    explanations: list[Explanation] = field(default_factory=list)
    gold: dict[str, list[int] | None] = field(default_factory=dict)
    labels: dict[str, str | None] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    #: the evaluation's seconds and engine counters (``requests``, ``cache_hits``,
    #: ``forward_passes``, ...) and ``cache_share``: the share of requests the cache answered
    evaluation_cost: dict[str, Any] = field(default_factory=dict)
    #: per-tercile metrics by hardness signal (``strata=``): signal → rows of
    #: :func:`rationales.evaluation.hardness.stratify`
    strata: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: signal → example id → value, for the examples evaluated
    hardness: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def value(self, name: str, method: str | None = None) -> float | None:
        """The value of metric ``name`` for ``method`` (None when absent)."""
        for r in self.results:
            if r.name == name and r.method == method:
                return r.value
        return None

    def to_dict(self, explanations: bool = True) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "protocol": self.protocol,
            "protocol_text": self.protocol_text,
            "methods": list(self.methods),
            "n_examples": self.n_examples,
            "results": [r.to_dict() for r in self.results],
            "timing": self.timing,
            "evaluation_cost": self.evaluation_cost,
            "strata": self.strata,
            "hardness": self.hardness,
            "gold": self.gold,
            "labels": self.labels,
            "files": self.files,
            "explanations": [e.to_dict() for e in self.explanations] if explanations else [],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BenchmarkRun":
        return cls(
            model=d["model"], dataset=d["dataset"], protocol=d["protocol"],
            protocol_text=d["protocol_text"], methods=list(d["methods"]), n_examples=d["n_examples"],
            results=[MetricResult.from_dict(r) for r in d["results"]], timing=d["timing"],
            explanations=[Explanation.from_dict(e) for e in d.get("explanations", [])],
            gold=d.get("gold", {}), labels=d.get("labels", {}), files=d.get("files", {}),
            evaluation_cost=d.get("evaluation_cost", {}),
            strata=d.get("strata", {}), hardness=d.get("hardness", {}),
        )

    @classmethod
    def load(cls, path: str | Path) -> "BenchmarkRun":
        """Read a run from its ``results.json`` (or the folder that holds it)."""
        p = Path(path)
        if p.is_dir():
            p = p / "results.json"
        return cls.from_dict(json.loads(p.read_text(encoding="utf-8")))

    def compare(self, other: "BenchmarkRun") -> list[dict[str, Any]]:
        """Metric by metric and method by method: this run's value, the other's, and the
        mean per-example difference over the examples both runs scored.

        Rows whose variants differ are flagged (``same_variant`` False): those numbers are
        not comparable and the difference is left None.
        """
        theirs = {(r.name, r.method): r for r in other.results}
        rows = []
        for r in self.results:
            o = theirs.get((r.name, r.method))
            if o is None:
                continue
            same = r.variant == o.variant
            pairs = [(v, o.per_example.get(k)) for k, v in r.per_example.items()]
            shared = [(a, b) for a, b in pairs if a is not None and b is not None]
            diff = float(np.mean([a - b for a, b in shared])) if shared and same else None
            rows.append({"metric": r.name, "method": r.method, "variant": r.variant, "same_variant": same,
                         "this": r.value, "other": o.value, "per_example_mean_diff": diff,
                         "n_shared": len(shared)})
        return rows


def _stats(classifier: Classifier) -> dict[str, int]:
    engine = getattr(classifier, "engine", None)
    return dict(getattr(engine, "stats", {}) or {})


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def cache_share(stats: dict[str, float]) -> float | None:
    """The share of engine requests answered from its cache (``cache_hits / requests``):
    for the evaluation, the masked inputs an explainer (or another method) had already
    asked, e.g. occlusion's leave-one-out passes behind ``tau_loo``. None without requests."""
    requests = stats.get("requests", 0)
    return float(stats.get("cache_hits", 0)) / requests if requests else None


def benchmark(
    classifier: Classifier,
    dataset: Dataset,
    methods: str | Sequence[str],
    protocol: str | Protocol = "hatexplain",
    limit: int | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    *,
    progress: ProgressLike = True,
    chunk_size: int = 8,
    sample: int = 8,
    strata: str | Sequence[str] | None = None,
    **overrides: Any,
) -> BenchmarkRun:
    """Explain the protocol's examples with every method and evaluate; returns the run.

    ``limit`` keeps the first N examples the protocol selects (in dataset order);
    classification metrics still use every labelled example of ``dataset`` unless the
    protocol says ``classification_on="protocol"``. A method that raises (e.g. a gradient
    method on a non-differentiable model) yields failed explanations with the error as
    reason, so one method never sinks the run. ``sample`` posts keep their gold rationale
    for the report's word heat-maps. ``progress``: a bar per method (True), a callable
    ``progress(done, total)``, or silence. ``strata``: hardness signals
    (``"margin"``, ``"loss"``, ``"correct"``, ``"agreement"``, ``"length"``; ``"hardness"``
    means margin) whose terciles every metric is also reported by (``run.strata``).
    """
    from ..methods import explain

    methods = parse_methods(methods)
    signals = _signals(strata)
    params = dict(params or {})
    build_explainers(methods, params)  # a bad parameter fails before any model work
    proto = get_protocol(protocol, **overrides).resolve(dataset)
    selected = proto.select(dataset)
    if proto.only_correct:
        selected = proto.keep_correct(selected, classifier.predict(list(selected)).tolist())
    if proto.ground_truth and "random" not in methods:
        methods.append("random")  # the null baseline every ground-truth metric is read against
    if limit is not None:
        selected = selected[: int(limit)]
    examples = list(selected)
    if not examples:
        raise InputError(f"protocol {proto.name!r} selects no example of {dataset.full_name}")

    explanations: list[Explanation] = []
    timing: dict[str, dict[str, float]] = {}
    for m in methods:
        with progress_from(progress, len(examples), f"explain {m:>22}", unit="expl") as bar:
            before, t0, got = _stats(classifier), time.perf_counter(), []
            for i in range(0, len(examples), chunk_size):
                chunk = examples[i: i + chunk_size]
                try:
                    got += explain(classifier, chunk, methods=[m], params={m: params[m]} if m in params else None)
                except Exception as err:  # noqa: BLE001 - recorded as failures, see docstring
                    reason = f"{type(err).__name__}: {err}"
                    got += [Explanation(ex.id, ex.words, [0.0] * len(ex.words), 0, m, failed=reason) for ex in chunk]
                bar.advance(len(chunk))
            seconds = time.perf_counter() - t0
            d = _delta(_stats(classifier), before)
            timing[m] = {"seconds": seconds, "explanations": len(got),
                         "seconds_per_explanation": seconds / max(1, len(got)),
                         "forward_passes": d.get("forward_passes", 0), "cache_hits": d.get("cache_hits", 0),
                         "tokens": d.get("tokens", 0), "gradient_forwards": d.get("gradient_forwards", 0),
                         "backward_passes": d.get("backward_passes", 0)}
            explanations += got

    before, t0 = _stats(classifier), time.perf_counter()
    results = evaluate(classifier, explanations, selected, proto, classification=False)
    cost: dict[str, Any] = {"seconds": time.perf_counter() - t0, **_delta(_stats(classifier), before)}
    cost["cache_share"] = cache_share(cost)
    results += classify(classifier, dataset, proto, selected)

    sample_ids = [ex.id for ex in examples if proto.gold_mask(ex) is not None][:sample] or [ex.id for ex in examples[:sample]]
    by_id = {ex.id: ex for ex in examples}
    run = BenchmarkRun(
        model=classifier.describe(), dataset=dataset.full_name, protocol=proto.to_dict(),
        protocol_text=proto.describe(dataset) + (f"; limited to the first {len(examples)}" if limit is not None else ""),
        methods=methods, n_examples=len(examples), results=results, timing=timing,
        explanations=explanations,
        gold={i: proto.gold_mask(by_id[i]) for i in sample_ids},
        labels={ex.id: (dataset.label_names[ex.label] if ex.label is not None else None) for ex in examples},
        evaluation_cost=cost,
    )
    if signals:
        values = hardness_signals(classifier, examples)
        run.hardness = {s: values[s] for s in signals}
        order = [ex.id for ex in examples]
        run.strata = {s: stratify(results, values[s], s, order) for s in signals}
    return run


def _signals(strata: str | Sequence[str] | None) -> list[str]:
    """Hardness signal names from ``"margin,length"`` or a list (``hardness`` = margin)."""
    if strata is None:
        return []
    names = strata.split(",") if isinstance(strata, str) else list(strata)
    out = []
    for n in (x.strip() for x in names if x.strip()):
        n = "margin" if n == "hardness" else n
        if n not in SIGNALS:
            raise ParameterError(f"unknown hardness signal {n!r}; use hardness (= margin) or one of {sorted(SIGNALS)}")
        out.append(n)
    return list(dict.fromkeys(out))

"""Computing a chunk: explain its pending examples and, for evaluate jobs, evaluate them.

:func:`compute_chunk` is all a worker does, on the driver (:class:`LocalEngine`) or on a
Ray actor (:mod:`.ray_runner`): it takes a :class:`~.plan.ChunkTask` and returns a
:class:`ChunkOutput`; it never touches the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from ..errors import DataError, RationalesError
from ..evaluation import evaluate, get_metric
from ..evaluation.protocols import Protocol
from ..methods.request import resolve_targets
from ..types import Dataset, Example, Explanation
from .plan import ChunkTask, MethodPlan


@dataclass
class ChunkOutput:
    """What a worker returns: explanations (as dicts) and per-example metric values."""

    seq: int
    explanations: list[dict[str, Any]] = field(default_factory=list)
    #: (example id, method) → metric label → value
    metrics: dict[tuple[str, str], dict[str, float | None]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: labels of metrics whose value is pooled, not the mean of the per-example values
    non_mean_metrics: list[str] = field(default_factory=list)


def _failed(example: Example, method: str, params: dict[str, Any], target: int, error: BaseException) -> Explanation:
    return Explanation(example.id, example.words, (0.0,) * len(example.words), target, method,
                       params=dict(params), failed=f"{type(error).__name__}: {error}")


def _is_job_error(e: BaseException) -> bool:
    """Errors of the set-up, not of one row: the model cannot do this method, an LLM or a
    model cannot load, the network is down. They stop the job (rerun resumes) instead of
    marking every row failed; per-row failures (LLM answers included) come back as failed
    explanations or as other exceptions."""
    return isinstance(e, RationalesError) and not isinstance(e, DataError)


def _explain_isolated(explainer: Any, classifier: Any, examples: list[Example], targets: list[int]) -> list[Explanation]:
    """Explain a batch; if it fails, explain one by one so only the bad example fails."""
    try:
        return list(explainer.explain(classifier, examples, targets))
    except Exception as e:
        if _is_job_error(e):
            raise
        out = []
        for ex, t in zip(examples, targets):
            try:
                out.extend(explainer.explain(classifier, [ex], [t]))
            except Exception as e1:  # noqa: BLE001 - recorded on the row, the job goes on
                if _is_job_error(e1):
                    raise
                out.append(_failed(ex, explainer.name, explainer.params, t, e1))
        return out


def _evaluate_into(output: ChunkOutput, classifier: Any, method: str, explanations: list[Explanation],
                   examples: list[Example], protocol: Protocol) -> None:
    """Per-example metric values of one method's explanations, labelled ``protocol/metric[variant]``."""
    non_mean = set(output.non_mean_metrics)
    dataset = Dataset(examples, list(classifier.label_names))
    # failed explanations go in too: evaluate counts them (failure_rate)
    for res in evaluate(classifier, explanations, dataset, protocol=protocol, classification=False):
        label = f"{protocol.name}/{res.label}"
        if get_metric(res.name).aggregation(protocol) == "pooled":
            non_mean.add(label)
        for eid, v in res.per_example.items():
            output.metrics.setdefault((str(eid), method), {})[label] = v
    output.non_mean_metrics = sorted(non_mean)


def compute_chunk(classifier: Any, plans: Sequence[MethodPlan], task: ChunkTask, target: int | None,
                  protocol: Protocol | None) -> ChunkOutput:
    """Run every pending (example, method) of a chunk; evaluate too when ``protocol`` is set.

    ``protocol`` is already resolved for the whole input (:func:`.plan.resolve_protocol`),
    so every chunk is evaluated under the same choices.
    """
    targets = resolve_targets(classifier, task.examples, target)
    output = ChunkOutput(task.seq)
    for plan in plans:
        idx = [i for i, ms in enumerate(task.pending) if plan.method in ms]
        if not idx:
            continue
        t0 = time.perf_counter()
        examples = [task.examples[i] for i in idx]
        got = _explain_isolated(plan.explainer, classifier, examples, [targets[i] for i in idx])
        if protocol is not None:
            _evaluate_into(output, classifier, plan.method, got, examples, protocol)
        output.seconds[plan.method] = time.perf_counter() - t0
        output.explanations.extend(e.to_dict() for e in got)
    return output


class LocalEngine:
    """Computes each chunk in this process, as it is submitted."""

    name = "local"
    workers = 1

    def __init__(self, classifier: Any, plans: Sequence[MethodPlan], target: int | None,
                 protocol: Protocol | None) -> None:
        self.classifier, self.plans = classifier, list(plans)
        self.target, self.protocol = target, protocol

    def submit(self, task: ChunkTask) -> Iterator[tuple[ChunkTask, ChunkOutput]]:
        yield task, compute_chunk(self.classifier, self.plans, task, self.target, self.protocol)

    def drain(self) -> Iterator[tuple[ChunkTask, ChunkOutput]]:
        return iter(())

    def close(self) -> None:
        pass

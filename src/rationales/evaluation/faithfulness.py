"""Faithfulness: does the classifier really depend on the words a rationale points at?

Definitions follow ERASER (DeYoung et al., 2020), p = probability of the explanation's
``target`` class, all probabilities through ``classifier.predict_proba_masked`` with KEEP
masks (True = the word is present):

- comprehensiveness = p(x) − p(x without the rationale)
- sufficiency       = p(x) − p(the rationale alone)
- AOPC versions: the same, averaged over rationale sizes ``top_fraction(b)`` for ERASER's
  bins b = 1, 5, 10, 20, 50 % (at least one word per bin), then over examples.
- ``tau_loo``: ferret's ``taucorr_loo`` at the word level: Kendall τ-b between the
  explanation's scores and the leave-one-word-out drops p(x) − p(x without word i).

Edge cases, by definition rather than by a model call: a rationale of every word has
sufficiency 0 (the rationale alone *is* x); an empty rationale has comprehensiveness 0
(nothing is removed). Their counterparts (x with every word removed) are asked of the
classifier like any other input.

Every mask — for every method, size and the leave-one-out set, of up to ``CHUNK``
examples — goes to the classifier in one call, so the forward engine deduplicates across
methods, answers from its cache whatever an explainer (occlusion asks exactly the
leave-one-out inputs) already asked, and batches the rest across examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import InputError, ParameterError
from ..models.base import Classifier, check_removal
from ..types import Example, Explanation, MetricResult

HardFn = Callable[[Explanation], Sequence[int]]

#: Examples whose perturbed inputs go to the classifier in one call: the engine cuts its
#: batches across them (fuller batches, less padding than one example at a time).
CHUNK = 256


@dataclass
class _Plan:
    """The masks one example needs, deduplicated, and where each answer goes."""

    n_words: int
    masks: list[tuple[bool, ...]]
    index: dict[tuple[bool, ...], int]

    def add(self, keep: Sequence[bool]) -> int:
        key = tuple(bool(v) for v in keep)
        if key not in self.index:
            self.index[key] = len(self.masks)
            self.masks.append(key)
        return self.index[key]


def _join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def faithfulness(
    classifier: Classifier,
    explanations: Sequence[Explanation],
    examples: dict[str, Example] | None = None,
    *,
    hard: HardFn,
    hard_name: str,
    removal: str = "delete",
    aopc_bins: Sequence[float] | None = None,
    tau_loo: bool = True,
    context: str = "",
    chunk: int = CHUNK,
) -> dict[str, list[MetricResult]]:
    """Comprehensiveness, sufficiency (and AOPC versions, tau_loo) per method.

    ``hard(explanation)`` gives the 0/1 hard rationale (``hard_name`` names the rule in
    the variant). ``examples`` maps ids to the Examples explained (an Example is rebuilt
    from the explanation's words when missing). Explanations with ``failed`` set are
    excluded and counted. ``chunk``: examples whose inputs go to the classifier in one
    call (1 asks one example at a time). Returns {method: [MetricResult, ...]}.
    """
    if chunk < 1:
        raise ParameterError(f"chunk must be at least 1, got {chunk}")
    check_removal(removal)
    examples = examples or {}
    by_example: dict[str, list[Explanation]] = {}
    for e in explanations:
        by_example.setdefault(e.example_id, []).append(e)
    methods = list(dict.fromkeys(e.method for e in explanations))

    names = ["comprehensiveness", "sufficiency"]
    if aopc_bins:
        names += ["aopc_comprehensiveness", "aopc_sufficiency"]
    if tau_loo:
        names.append("tau_loo")
    per: dict[str, dict[str, dict[str, float | None]]] = {m: {n: {} for n in names} for m in methods}
    excl: dict[str, dict[str, dict[str, int]]] = {m: {n: {} for n in names} for m in methods}

    def exclude(method: str, name: str, ex_id: str, why: str) -> None:
        per[method][name][ex_id] = None
        excl[method][name][why] = excl[method][name].get(why, 0) + 1

    # First every example's plan (validating every explanation before any model call),
    # then the model, CHUNK examples per engine call, then the metrics.
    plans: list[tuple[str, Example, _Plan, int, list, list[int]]] = []
    for ex_id, exps in by_example.items():
        example = examples.get(ex_id) or Example(id=ex_id, words=exps[0].words)
        n = len(example.words)
        plan = _Plan(n, [], {})
        full = plan.add([True] * n)
        todo = []  # (explanation, rationale mask, idx without, idx only, [(bin idx without, idx only)])
        for e in exps:
            if e.failed:
                for name in names:
                    exclude(e.method, name, ex_id, "failed")
                continue
            if tuple(e.words) != tuple(example.words):
                raise InputError(
                    f"explanation of {ex_id!r} by {e.method} has {len(e.words)} words that differ "
                    f"from the example's {n} words; explain the same examples you evaluate"
                )
            r = [bool(v) for v in hard(e)]
            without = plan.add([not v for v in r])
            only = plan.add(r)
            bins = []
            for b in aopc_bins or ():
                rb = [bool(v) for v in e.hard(f"top_fraction={b}")]
                bins.append((plan.add([not v for v in rb]), plan.add(rb)))
            todo.append((e, r, without, only, bins))
        if not todo:
            continue
        loo = [plan.add([j != i for j in range(n)]) for i in range(n)] if tau_loo else []
        plans.append((ex_id, example, plan, full, todo, loo))

    for start in range(0, len(plans), chunk):
        part = plans[start:start + chunk]
        answers = classifier.predict_proba_masked_many(
            [(example, np.array(plan.masks, dtype=bool)) for _, example, plan, _, _, _ in part], removal)
        for (ex_id, _example, plan, full, todo, loo), probs in zip(part, answers):
            probs = np.asarray(probs)
            for e, r, without, only, bins in todo:
                t = e.target
                p0 = float(probs[full, t])
                comp = 0.0 if not any(r) else p0 - float(probs[without, t])
                suff = 0.0 if all(r) else p0 - float(probs[only, t])
                per[e.method]["comprehensiveness"][ex_id] = comp
                per[e.method]["sufficiency"][ex_id] = suff
                if aopc_bins:
                    comps = [p0 - float(probs[w, t]) for w, _ in bins]
                    suffs = [0.0 if all(plan.masks[o]) else p0 - float(probs[o, t]) for _, o in bins]
                    per[e.method]["aopc_comprehensiveness"][ex_id] = float(np.mean(comps))
                    per[e.method]["aopc_sufficiency"][ex_id] = float(np.mean(suffs))
                if tau_loo:
                    tau = _kendall(p0 - probs[loo, t], np.asarray(e.scores, dtype=float))
                    if tau is None:
                        exclude(e.method, "tau_loo", ex_id, "undefined_tau (fewer than 2 words or constant scores)")
                    else:
                        per[e.method]["tau_loo"][ex_id] = tau

    variants = {
        "comprehensiveness": _join(f"hard={hard_name}", f"removal={removal}",
                                   "rationale of all words: p(empty) asked; empty rationale: 0"),
        "sufficiency": _join(f"hard={hard_name}", f"removal={removal}", "rationale of all words: 0 by definition"),
        "aopc_comprehensiveness": _join("bins=" + "/".join(f"{b * 100:g}%" for b in aopc_bins or ()), f"removal={removal}"),
        "aopc_sufficiency": _join("bins=" + "/".join(f"{b * 100:g}%" for b in aopc_bins or ()), f"removal={removal}"),
        "tau_loo": _join("kendall_tau_b vs leave-one-word-out drop", f"removal={removal}"),
    }
    out: dict[str, list[MetricResult]] = {}
    for m in methods:
        res = []
        for name in names:
            vals = [v for v in per[m][name].values() if v is not None]
            value = float(np.mean(vals)) if vals else float("nan")
            res.append(MetricResult(name, _join(variants[name], context), value, len(vals),
                                    per[m][name], excl[m][name], method=m))
        out[m] = res
    return out


def _kendall(a: np.ndarray, b: np.ndarray) -> float | None:
    """Kendall τ-b (scipy, as ferret uses); None where it is undefined."""
    from scipy.stats import kendalltau

    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    tau = kendalltau(a, b)[0]
    return None if tau is None or np.isnan(tau) else float(tau)

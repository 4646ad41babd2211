"""Training data from an explanation JSONL: machine rationales (stage 2) and priors.

Each line is an ``Explanation.to_dict()`` (what ``rationales explain --out`` and corpus
jobs write), of a training example with the same words; one explanation per example.

- :func:`read_machine_rationales` (X-MuTeST stage 2): a line's hard rationale is the
  method's own (``info["rationale"]``: the X-MuTeST union, the words an LLM named) when
  it gives one, else ``rule`` applied to its scores
  (:func:`rationales.rules.machine_rationale`).
- :func:`read_priors` (the ``prior`` rationale loss): a line's soft scores and target,
  as they are.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import DataError
from ..rules import machine_rationale, parse_rule
from ..types import Example, Explanation


def _explanations(path: str | Path, examples: Sequence[Example]) -> Iterator[tuple[int, Explanation, Example]]:
    """Each line's explanation with its training example, checked: an explanation of a
    training example, with the same words, one per example."""
    by_id = {ex.id: ex for ex in examples}
    seen: set[str] = set()
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}", path=str(path))
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                exp = Explanation.from_dict(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise DataError(f"not an explanation ({exc})", path=str(path), line=line_no) from exc
            ex = by_id.get(exp.example_id)
            if ex is None:
                raise DataError(
                    f"example id {exp.example_id!r} is not in the training data; explain the "
                    f"same examples you train on", path=str(path), line=line_no, field="example_id")
            if tuple(exp.words) != tuple(ex.words):
                raise DataError(
                    f"example {exp.example_id!r}: the explanation's {len(exp.words)} words differ "
                    f"from the training example's {len(ex.words)} words", path=str(path),
                    line=line_no, field="words")
            if exp.example_id in seen:
                raise DataError(
                    f"a second explanation of example {exp.example_id!r} (method {exp.method}); "
                    f"give one method's explanations", path=str(path), line=line_no)
            seen.add(exp.example_id)
            yield line_no, exp, ex


def read_machine_rationales(path: str | Path, examples: Sequence[Example],
                            rule: str = "xmutest") -> tuple[list[Example], dict[str, Any]]:
    """Examples with their rationale replaced by the machine rationale from ``path``.

    Every line must be an explanation of a training example with the same words.
    Training examples without a (non-failed) explanation get no rationale.
    """
    parse_rule(rule)  # a bad rule fails before the file is read
    found: dict[str, list[int]] = {}
    failed = 0
    for line_no, exp, ex in _explanations(path, examples):
        if exp.failed:
            failed += 1
            continue
        given = exp.info.get("rationale")
        mask = machine_rationale(exp, rule)
        if given is not None and len(given) != len(ex.words):
            raise DataError(f"rationale has {len(given)} values for {len(ex.words)} words",
                            path=str(path), line=line_no, field="info.rationale")
        found[exp.example_id] = mask
    out = [Example(ex.id, ex.words, ex.label, found.get(ex.id), ex.lang, ex.meta) for ex in examples]
    return out, {"file": str(path), "rule": rule, "with_rationale": len(found),
                 "failed_skipped": failed, "without": len(examples) - len(found)}


def read_priors(path: str | Path, examples: Sequence[Example],
                n_labels: int | None = None) -> tuple[dict[str, tuple[tuple[float, ...], int]], dict[str, Any]]:
    """Attribution priors from ``path``: example id → (scores per word, target class).

    The scores are the explanation's own (any method's, signed or not); the target is
    the class they explain. Failed explanations, and those whose scores are all zero
    (they say nothing about which word matters), give no prior; the report counts them
    and the training examples left without one.
    """
    found: dict[str, tuple[tuple[float, ...], int]] = {}
    failed = zero = 0
    for line_no, exp, _ex in _explanations(path, examples):
        if exp.failed:
            failed += 1
            continue
        if n_labels is not None and not 0 <= exp.target < n_labels:
            raise DataError(f"target {exp.target} is not a class of the {n_labels}-class training data",
                            path=str(path), line=line_no, field="target")
        if not all(math.isfinite(s) for s in exp.scores):
            raise DataError("scores must be finite numbers", path=str(path), line=line_no, field="scores")
        if not any(exp.scores):
            zero += 1
            continue
        found[exp.example_id] = (tuple(exp.scores), exp.target)
    return found, {"file": str(path), "with_prior": len(found), "failed_skipped": failed,
                   "all_zero_skipped": zero, "without": len(examples) - len(found)}

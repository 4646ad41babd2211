"""GECO (GECOBench): gender-controlled sentences whose changed words are the ground truth.

Every sentence appears in a male and a female form (``sentence_idx`` pairs them); the
words that were changed between the two forms are the only words that can carry the
label, so ``ground_truth`` is a ground-truth explanation, not a human opinion. Two
variants: ``all`` (every word referring to the protagonist is gendered) and ``subj``
(only the grammatical subject). Files as the GECOBench repository publishes them
(``data/dataset/binary_gender_{all,subj}/{train,test}.jsonl``, here under
``geco/gender_{all,subj}/``): one JSON object a line with ``sentence`` (words),
``ground_truth`` (0/1 per word), ``gender``, ``target`` (1 = male, 0 = female) and
``sentence_idx``.

Quirks kept and counted in ``ds.report``: a few words carry stray spaces (``"She "``); they
are stripped (``normalised``). ``gender`` must agree with ``target``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import DataError, ParameterError
from ..types import Dataset, Example
from .base import register
from .paths import find_file, not_found
from .reading import Problems, bad, iter_jsonl

FOLDER = "geco"
SPLITS = ["train", "test"]
VARIANTS = ("all", "subj")
LABELS = ["female", "male"]  # target 0 = female, 1 = male


def _file(variant: str, split: str) -> str:
    return f"gender_{variant}/{split}.jsonl"


def _find(data_dir: str | os.PathLike | None) -> list[tuple[str | None, dict]]:
    return [(s, {"variant": v}) for v in VARIANTS for s in SPLITS if find_file(FOLDER, [_file(v, s)], data_dir)]


@register("geco", "GECO (GECOBench): sentences in a male and a female form; the changed words are the "
          "ground-truth explanation (labels female/male)", splits=SPLITS,
          options={"variant": "all (every word referring to the protagonist is gendered, default) or subj "
                              "(only the grammatical subject)"},
          find=_find)
def load_geco(split: str | None, *, data_dir: str | os.PathLike | None = None, problems: Problems,
              variant: str = "all") -> Dataset:
    """GECO sentences with their ground-truth words as the rationale."""
    if variant not in VARIANTS:
        raise ParameterError(f"geco option variant={variant!r}; expected one of {list(VARIANTS)}")
    splits = SPLITS if split is None else [split]
    paths = {s: find_file(FOLDER, [_file(variant, s)], data_dir) for s in splits}
    missing = [_file(variant, s) for s, p in paths.items() if p is None]
    if missing:
        raise not_found("geco", FOLDER, missing, data_dir, fetchable=False,
                        extra="The files are GECOBench's data/dataset/binary_gender_{all,subj}/.")
    examples: list[Example] = []
    for s in splits:
        path = paths[s]
        assert path is not None  # checked above
        for line, rec in iter_jsonl(path, problems):
            try:
                examples.append(_example(rec, s, variant, path, line, problems))
            except DataError as err:
                problems.skip(err)
    ds = Dataset(examples, list(LABELS), "geco", split)
    ds.report = {"files": [str(p) for p in paths.values()], "variant": variant}
    return ds


def _example(rec: dict[str, Any], split: str, variant: str, path: Path, line: int,
             problems: Problems) -> Example:
    raw = rec.get("sentence")
    if not isinstance(raw, list) or not raw or not all(isinstance(w, str) for w in raw):
        raise bad("sentence must be a non-empty list of words", path, line, "sentence", reason="bad sentence")
    truth = rec.get("ground_truth")
    if not isinstance(truth, list) or any(v not in (0, 1) or isinstance(v, bool) for v in truth):
        raise bad("ground_truth must be a list of 0/1", path, line, "ground_truth", reason="bad ground_truth")
    if len(truth) != len(raw):
        raise bad(f"{len(truth)} ground_truth values for {len(raw)} words", path, line, "ground_truth",
                  reason="ground_truth length")
    stray = sum(1 for w in raw if w.strip() and w != w.strip())
    if stray:
        problems.note("stray spaces stripped from words", stray)
    # A "word" of only spaces (" ") is no word: it is dropped. Where it is marked as ground
    # truth it stands for a word the other form has and this one deleted ("Count 's" ->
    # "Countess  "), which no attribution can point at. ``meta["positions"]`` keeps the
    # original position of each word so the two forms of a sentence stay aligned.
    blank = [i for i, w in enumerate(raw) if not w.strip()]
    for i in blank:
        problems.note("words of only spaces dropped" + (" (marked as ground truth)" if truth[i] else ""))
    keep = [i for i in range(len(raw)) if raw[i].strip()]
    words = [raw[i].strip() for i in keep]
    truth = [truth[i] for i in keep]
    target = rec.get("target")
    if target not in (0, 1) or isinstance(target, bool):
        raise bad(f"target must be 0 (female) or 1 (male), got {target!r}", path, line, "target",
                  reason="bad target")
    gender = rec.get("gender")
    if gender is not None and gender != LABELS[target]:
        raise bad(f"gender {gender!r} disagrees with target {target} ({LABELS[target]})", path, line,
                  "gender", reason="gender/target disagree")
    pair = rec.get("sentence_idx")
    if not isinstance(pair, int) or isinstance(pair, bool):
        raise bad("sentence_idx must be an integer", path, line, "sentence_idx", reason="bad sentence_idx")
    return Example(
        id=f"{split}-{pair}-{LABELS[target]}", words=tuple(words), label=int(target), rationale=list(truth),
        lang="en", meta={"source": path.name, "variant": variant, "pair": pair, "ground_truth": True,
                         **({"positions": keep} if blank else {})},
    )

"""HateXplain (Mathew et al., 2021): English posts, 3 annotators, word rationales.

Reads both published forms:

- the Hugging Face JSONL exports ``hatexplain_{train,validation,test}.jsonl`` (labels as
  ints 0 = hatespeech, 1 = normal, 2 = offensive; annotators as parallel lists);
- the original ``Data/dataset.json`` (keyed by post id; annotators as a list of dicts with
  label strings) with ``post_id_divisions.json`` for the official splits.

The label is the majority over the annotators (2 of 3). Posts without a majority are
excluded by default and counted in ``ds.report["no_majority_excluded"]`` (the official
divisions already leave them out, so the JSONL splits have none). The gold rationale
aggregates the annotators' masks: ``union`` (a word any annotator marked, as HateXplain's
code does) or ``majority`` (marked by more than half of the masks given). Every mask is
kept in ``meta["annotator_rationales"]``. The release does not say which annotator drew
which mask (a post can carry 2 masks from 3 non-normal votes), so the masks are a list,
not keyed by annotator. Posts without any mask get ``rationale=None``.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import DataError, ParameterError
from ..types import Dataset, Example
from .base import register
from .paths import find_file, not_found
from .reading import Problems, bad, iter_jsonl, parse_mask

FOLDER = "hatexplain"
LABELS = ["hatespeech", "normal", "offensive"]  # the source's ints 0, 1, 2
BINARY = ["normal", "toxic"]
SPLITS = ["train", "val", "test"]
JSONL_NAMES = {"train": "hatexplain_train.jsonl", "val": "hatexplain_validation.jsonl",
               "test": "hatexplain_test.jsonl"}
ORIGINAL = ("dataset.json", "Data/dataset.json")
DIVISIONS = ("post_id_divisions.json", "Data/post_id_divisions.json")

OPTIONS = {
    "labels": '"3class" (hatespeech/normal/offensive, default) or "binary" (normal/toxic)',
    "rationale": '"union" (default, HateXplain\'s code) or "majority" of the annotators\' masks',
    "no_majority": '"exclude" (default; counted in the report) or "keep" (label None)',
    "source": '"auto" (default: the JSONL export if present, else dataset.json), "jsonl" or "original"',
}


def _find(data_dir: str | os.PathLike | None) -> list[tuple[str | None, dict]]:
    out: list[tuple[str | None, dict]] = []
    original = find_file(FOLDER, ORIGINAL, data_dir) and find_file(FOLDER, DIVISIONS, data_dir)
    for split in SPLITS:
        if original or find_file(FOLDER, [JSONL_NAMES[split]], data_dir):
            out.append((split, {}))
    return out


@register("hatexplain", "HateXplain: English hate/offensive/normal posts with word rationales "
          "from 3 annotators", splits=SPLITS, options=OPTIONS, find=_find,
          aliases={"validation": "val", "dev": "val"})
def load_hatexplain(split: str | None, *, data_dir: str | os.PathLike | None = None,
                    problems: Problems, labels: str = "3class", rationale: str = "union",
                    no_majority: str = "exclude", source: str = "auto") -> Dataset:
    """HateXplain: English hate/offensive/normal posts with word rationales from 3 annotators."""
    _check("labels", labels, ("3class", "binary"))
    _check("rationale", rationale, ("union", "majority"))
    _check("no_majority", no_majority, ("exclude", "keep"))
    _check("source", source, ("auto", "jsonl", "original"))

    records, files = _records(split, data_dir, problems, source)
    label_names = BINARY if labels == "binary" else LABELS
    examples: list[Example] = []
    seen: set[str] = set()
    for rec in records:
        try:
            ex = _example(rec, labels, rationale, no_majority, problems)
        except DataError as err:
            problems.skip(err)
            continue
        if ex is None:
            continue
        if ex.id in seen:
            problems.skip(bad(f"duplicate post id {ex.id!r}", rec["path"], rec["line"], "id",
                              reason="duplicate id"))
            continue
        seen.add(ex.id)
        examples.append(ex)
    ds = Dataset(examples, list(label_names), "hatexplain", split)
    ds.report = {"files": [str(f) for f in files], "rationale": rationale, "labels": labels}
    return ds


def _check(option: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParameterError(f"hatexplain option {option}={value!r}; expected one of {allowed}")


def _records(split: str | None, data_dir: str | os.PathLike | None, problems: Problems,
             source: str) -> tuple[Iterable[dict[str, Any]], list[Path]]:
    """Normalised records {id, labels, annotator_ids, targets, masks, tokens, path, line}."""
    wanted = SPLITS if split is None else [split]
    jsonl = {s: find_file(FOLDER, [JSONL_NAMES[s]], data_dir) for s in wanted}
    if source != "original" and all(jsonl.values()):
        # Lazily, so errors surface in file order.
        paths = [p for p in (jsonl[s] for s in wanted) if p is not None]  # all found (checked above)
        recs = itertools.chain.from_iterable(_from_jsonl(p, problems) for p in paths)
        return recs, paths
    original = find_file(FOLDER, ORIGINAL, data_dir)
    divisions = find_file(FOLDER, DIVISIONS, data_dir)
    if source != "jsonl" and original and divisions:
        return _from_original(original, divisions, split, problems), [original, divisions]
    expected = {
        "jsonl": [JSONL_NAMES[s] for s in wanted],
        "original": ["dataset.json", "post_id_divisions.json"],
        "auto": [" and ".join(JSONL_NAMES[s] for s in wanted)
                 + " (the Hugging Face export), or dataset.json and post_id_divisions.json"],
    }[source]
    raise not_found("hatexplain", FOLDER, expected, data_dir)


def _from_jsonl(path: Path, problems: Problems) -> Iterator[dict[str, Any]]:
    for line, obj in iter_jsonl(path, problems):
        try:
            ann = obj["annotators"]
            rec = {
                "id": obj["id"], "labels": list(ann["label"]),
                "annotator_ids": list(ann.get("annotator_id") or []),
                "targets": [list(t) for t in ann.get("target") or []],
                "masks": obj.get("rationales") or [], "tokens": obj["post_tokens"],
                "path": path, "line": line,
            }
        except (KeyError, TypeError) as e:
            problems.skip(bad(f"missing or malformed field {e}; expected id, annotators "
                              "{label, annotator_id, target}, rationales, post_tokens",
                              path, line, str(e).strip("'"), reason="missing field"))
            continue
        yield rec


def _from_original(path: Path, divisions: Path, split: str | None, problems: Problems
                   ) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        div = json.loads(divisions.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise bad(f"invalid UTF-8 at byte {e.start}", path, reason="invalid UTF-8") from None
    except json.JSONDecodeError as e:
        raise bad(f"not valid JSON ({e.msg})", path, e.lineno, reason="invalid JSON") from None
    if not isinstance(data, dict):
        raise bad("expected a JSON object keyed by post id", path)
    if split is None:
        ids = list(data)
    else:
        if split not in div:
            raise bad(f"no split {split!r}; the file has {sorted(div)}", divisions, field=split)
        ids = div[split]
    recs = []
    for pid in ids:
        post = data.get(pid)
        if not isinstance(post, dict):
            problems.skip(bad(f"post {pid!r} is listed in {divisions.name} but missing here",
                              path, field=pid, reason="post missing from dataset.json"))
            continue
        try:
            anns = post["annotators"]
            recs.append({
                "id": post.get("post_id", pid), "labels": [a["label"] for a in anns],
                "annotator_ids": [a.get("annotator_id") for a in anns],
                "targets": [list(a.get("target") or []) for a in anns],
                "masks": post.get("rationales") or [], "tokens": post["post_tokens"],
                "path": path, "line": None,
            })
        except (KeyError, TypeError) as e:
            problems.skip(bad(f"post {pid!r}: missing or malformed field {e}", path,
                              field=f"{pid}", reason="missing field"))
    return recs


def _example(rec: dict[str, Any], labels: str, how: str, no_majority: str,
             problems: Problems) -> Example | None:
    path, line, pid = rec["path"], rec["line"], str(rec["id"])
    # dataset.json has no lines: the field names the post instead ("<post id>.label").
    where = "" if line is not None else f"{pid}."
    tokens = rec["tokens"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise bad("post_tokens must be a list of strings", path, line, f"{where}post_tokens",
                  reason="post_tokens: not a list of strings")
    if not tokens:
        raise bad("empty text (no post_tokens)", path, line, f"{where}post_tokens",
                  reason="empty text")
    votes = []
    for v in rec["labels"]:
        if isinstance(v, str) and v in LABELS:
            votes.append(LABELS.index(v))
        elif isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(LABELS):
            votes.append(v)
        else:
            raise bad(f"unknown label {v!r}; expected one of {LABELS} or 0-2", path, line,
                      f"{where}label", reason="unknown label")
    if not votes:
        raise bad("no annotator labels", path, line, f"{where}label", reason="no labels")
    masks = [parse_mask(m, len(tokens), path, line, f"{where}rationales[{k}]")
             for k, m in enumerate(rec["masks"])]
    top, n = Counter(votes).most_common(1)[0]
    if n * 2 <= len(votes):
        if no_majority == "exclude":
            problems.count("no_majority_excluded")
            return None
        problems.count("no_majority_kept")
        label = None
    else:
        label = top
    if label is not None and labels == "binary":
        label = 0 if label == LABELS.index("normal") else 1
    gold = None
    if masks:
        need = 1 if how == "union" else len(masks) // 2 + 1
        gold = [1 if sum(col) >= need else 0 for col in zip(*masks)]
    meta = {
        "source": path.name,
        "annotator_labels": [LABELS[v] for v in votes],
        "annotator_ids": rec["annotator_ids"],
        "targets": rec["targets"],
        "annotator_rationales": masks,
        "rationale_aggregation": how,
    }
    if label is None:
        meta["no_majority"] = True
    return Example(id=pid, words=tuple(tokens), label=label, rationale=gold, lang="en", meta=meta)

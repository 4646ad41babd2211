"""A user's own data: a CSV or JSONL file with text (or words), label and rationale columns.

Rationales come in one of three formats (``rationale_format``):

- ``mask``: one 0/1 per word (a list, or a list-string in CSV such as ``"[0, 1, 0]"``);
- ``indices``: the positions of the rationale words (``[1, 4]``);
- ``spans``: character spans into the text, as ``[[start, end], ...]`` (end exclusive) or
  a flat list of character offsets (Toxic Spans style); words touching a span are marked.

Raw text is split into words by :func:`rationales.words.segment`; a ``words_column``
(a list of words) is used as is. Labels may be names or ints: with ``label_names`` given,
a name must be one of them and an int an index into them; without, ints give
``["0", "1", ...]`` and strings their sorted set. ``lang`` is the option's value, else the
script's language ("hi" for Devanagari, "te" for Telugu), else None.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

from ..errors import DataError, DataNotFoundError, ParameterError
from ..types import Dataset, Example
from ..words import detect_lang, segment_with_offsets, words_touching
from .base import register
from .reading import Problems, bad, iter_csv, iter_jsonl, parse_list, parse_mask

FORMATS = ("mask", "indices", "spans")

OPTIONS = {
    "path": "the .csv or .jsonl file (required)",
    "text_column": 'the raw text column (default "text"; segmented into words)',
    "words_column": "a column holding the list of words (instead of text_column)",
    "label_column": 'the label column (default "label" when present; none = unlabelled)',
    "rationale_column": 'the rationale column (default "rationale" when present)',
    "rationale_format": '"mask" (default), "indices" or "spans" (character spans)',
    "label_names": "the label names in id order (default: inferred from the labels)",
    "id_column": "a column of unique ids (default: the row number, from 0)",
    "lang": "the language code (default: detected from the script: hi, te, else None)",
}


def _rows(path: Path, kind: str, problems: Problems) -> tuple[list[str] | None,
                                                               Iterator[tuple[int, int, dict]]]:
    if kind == "csv":
        return iter_csv(path, problems)

    def gen() -> Iterator[tuple[int, int, dict]]:
        for k, (line, obj) in enumerate(iter_jsonl(path, problems)):
            yield k, line, obj

    return None, gen()


def _load(kind: str, split: str | None, problems: Problems, path: Any, text_column: str | None,
          words_column: str | None, label_column: str | None, rationale_column: str | None,
          rationale_format: str, label_names: list[str] | None, id_column: str | None,
          lang: str | None) -> Dataset:
    if path is None:
        raise ParameterError(f"dataset {kind!r} needs path= the .{kind} file")
    if rationale_format not in FORMATS:
        raise ParameterError(f"rationale_format={rationale_format!r}; expected one of {FORMATS}")
    if text_column is not None and words_column is not None:
        raise ParameterError("pass text_column or words_column, not both")
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataNotFoundError(f"{p}: no such file")
    header, rows = _rows(p, kind, problems)
    cols = set(header or [])
    if words_column is None and text_column is None:
        text_column = "text"
    if header is not None:
        for opt, col in (("text_column", text_column), ("words_column", words_column),
                         ("label_column", label_column), ("rationale_column", rationale_column),
                         ("id_column", id_column)):
            if col is not None and col not in cols:
                raise bad(f"no column {col!r} ({opt}); the columns are {header}", p, 1,
                          reason="missing column")
        if label_column is None and "label" in cols:
            label_column = "label"
        if rationale_column is None and "rationale" in cols:
            rationale_column = "rationale"
    else:
        label_column = label_column or "label"
        rationale_column = rationale_column or "rationale"
    if rationale_format == "spans" and text_column is None:
        raise ParameterError("rationale_format='spans' needs a text_column (spans index the text)")

    parsed: list[tuple[int, int, dict[str, Any]]] = []
    n_rows = 0
    for k, line, rec in rows:
        n_rows += 1
        try:
            parsed.append((k, line, _parse(rec, p, line, text_column, words_column, label_column,
                                           rationale_column, rationale_format)))
        except DataError as err:
            problems.skip(err)

    if not n_rows and not problems.skipped:
        what = "only a header row" if header is not None else "no JSON lines"
        raise bad(f"the file has {what}: there is no example to load", p, None, reason="empty file")
    names = list(label_names) if label_names is not None else _infer_names(parsed)
    examples: list[Example] = []
    seen: set[str] = set()
    for k, line, d in parsed:
        try:
            label = _label_id(d["label"], names, label_names is not None, p, line, label_column)
            ex_id = str(d["raw"].get(id_column)) if id_column else str(k)
            if ex_id in seen:
                raise bad(f"duplicate id {ex_id!r}", p, line, id_column or "id",
                          reason="duplicate id")
        except DataError as err:
            problems.skip(err)
            continue
        seen.add(ex_id)
        meta = {"source": p.name}
        if d["text"] is not None:
            meta["text"] = d["text"]
        examples.append(Example(id=ex_id, words=tuple(d["words"]), label=label,
                                rationale=d["rationale"], lang=lang or detect_lang(d["words"]),
                                meta=meta))
    ds = Dataset(examples, names, p.stem, split)
    ds.report = {"files": [str(p)], "rationale_format": rationale_format}
    return ds


def _parse(rec: dict[str, Any], path: Path, line: int, text_column: str | None,
           words_column: str | None, label_column: str | None, rationale_column: str | None,
           fmt: str) -> dict[str, Any]:
    text = None
    if words_column is not None:
        if words_column not in rec:
            raise bad("missing field", path, line, words_column, reason="missing field")
        words = parse_list(rec[words_column], path, line, words_column)
        if not all(isinstance(w, str) for w in words):
            raise bad("expected a list of strings", path, line, words_column,
                      reason="words: not strings")
        offsets = None
    else:
        if text_column not in rec:
            raise bad("missing field", path, line, text_column, reason="missing field")
        text = rec[text_column]
        if not isinstance(text, str):
            raise bad(f"expected a string, got {type(text).__name__}", path, line, text_column,
                      reason="text: not a string")
        offsets = segment_with_offsets(text)
        words = [w for w, _, _ in offsets]
    if not words:
        raise bad("empty text", path, line, words_column or text_column, reason="empty text")
    label = rec.get(label_column) if label_column else None
    if isinstance(label, str) and not label.strip():
        label = None
    rationale = None
    raw = rec.get(rationale_column) if rationale_column else None
    if raw is not None and not (isinstance(raw, str) and not raw.strip()):
        rationale = _rationale(raw, fmt, words, offsets, text, path, line, rationale_column)
    return {"words": words, "text": text, "label": label, "rationale": rationale, "raw": rec}


def _rationale(raw: Any, fmt: str, words: list[str], offsets, text, path, line, field) -> list[int]:
    n = len(words)
    if fmt == "mask":
        return parse_mask(raw, n, path, line, field)
    values = parse_list(raw, path, line, field)
    if fmt == "indices":
        mask = [0] * n
        for v in values:
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < n:
                raise bad(f"word index {v!r} outside 0..{n - 1}", path, line, field,
                          reason="rationale index out of range")
            mask[v] = 1
        return mask
    chars: list[int] = []
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool):
            chars.append(v)
        elif (isinstance(v, (list, tuple)) and len(v) == 2
              and all(isinstance(x, int) and not isinstance(x, bool) for x in v)):
            chars.extend(range(v[0], v[1]))
        else:
            raise bad(f"expected character spans [[start, end], ...] or offsets, got {v!r}",
                      path, line, field, reason="rationale: bad span")
    bad_chars = [c for c in chars if not 0 <= c < len(text)]
    if bad_chars:
        raise bad(f"character offset {bad_chars[0]} outside the text ({len(text)} characters)",
                  path, line, field, reason="span offset out of range")
    return words_touching(offsets, chars)


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        s = v.strip()
        if s.lstrip("-").isdigit():
            return int(s)
    return None


def _infer_names(parsed: list[tuple[int, int, dict[str, Any]]]) -> list[str]:
    labels = [d["label"] for _, _, d in parsed if d["label"] is not None]
    ints = [i for i in (_as_int(v) for v in labels) if i is not None and i >= 0]
    if labels and len(ints) == len(labels):
        return [str(i) for i in range(max(ints) + 1)]
    return sorted({str(v) for v in labels})


def _label_id(value: Any, names: list[str], given: bool, path: Path, line: int,
              field: str | None) -> int | None:
    if value is None:
        return None
    if str(value) in names:
        return names.index(str(value))
    i = _as_int(value)
    if i is not None and 0 <= i < len(names):
        return i
    raise bad(f"unknown label {value!r}; expected one of {names}" + (" or an index into them"
              if given else ""), path, line, field, reason="unknown label")


@register("csv", "Your own CSV: text or words, label and rationale columns (path=)",
          splits=[], options=OPTIONS)
def load_csv(split: str | None, *, data_dir: str | os.PathLike | None = None,
             problems: Problems, path: Any = None, text_column: str | None = None,
             words_column: str | None = None, label_column: str | None = None,
             rationale_column: str | None = None, rationale_format: str = "mask",
             label_names: list[str] | None = None, id_column: str | None = None,
             lang: str | None = None) -> Dataset:
    """Your own CSV file: text or words, label and rationale columns."""
    return _load("csv", split, problems, path, text_column, words_column, label_column,
                 rationale_column, rationale_format, label_names, id_column, lang)


@register("jsonl", "Your own JSONL: text or words, label and rationale fields (path=)",
          splits=[], options=OPTIONS)
def load_jsonl(split: str | None, *, data_dir: str | os.PathLike | None = None,
               problems: Problems, path: Any = None, text_column: str | None = None,
               words_column: str | None = None, label_column: str | None = None,
               rationale_column: str | None = None, rationale_format: str = "mask",
               label_names: list[str] | None = None, id_column: str | None = None,
               lang: str | None = None) -> Dataset:
    """Your own JSONL file: text or words, label and rationale fields."""
    return _load("jsonl", split, problems, path, text_column, words_column, label_column,
                 rationale_column, rationale_format, label_names, id_column, lang)

"""X-MuTeST (English, Hindi, Telugu hate speech with token rationales), as the authors publish it.

We do not ship the files; users obtain them from the authors and pass ``path=`` (a CSV,
a folder of CSVs, or a list of CSVs) or put them in ``<data folder>/xmutest/<lang>/``.

Facts about the published files this loader relies on:

- English: one CSV with columns ``text_english, label, tokens, preprocessed_text,
  cleaned, rationale``; ``tokens`` and ``rationale`` are Python-list strings (read with
  ``ast.literal_eval``/JSON, never ``eval``); ``rationale`` is 0/1 per token; label 1 =
  hate/offensive, 0 = not. There is no split column: the authors split with
  ``train_test_split(test_size=0.15, random_state=42)`` over the rows in file order
  (5,383 / 951 rows); splits ``train`` and ``test`` of a single file are that split (the
  "paper" split, also reachable as ``paper-train`` / ``paper-test``).
- Telugu: separate train and test CSVs (file names containing "train" / "test"). Train
  columns ``text, label, rationale, tokens``; on non-hate rows the ``rationale`` cell is
  not always a list: the published train file (4,000 rows) has 2,061 empty cells and
  free-text notes from the annotators (36 ``no hateful tokens``, 4 ``no context``, 1
  ``no hateful tokens but may be sarcastic``, 1 ``no hateful tokens but sarcasm``), all
  on label-0 rows. Test adds an ``Unnamed: 0`` index column, and its non-hate rows have
  all-zero rationale lists whose length differs from the tokens (256 rows).
- English: one row (file line 3877, a retweet made only of hashtags) has ``tokens``
  ``[]`` and an empty ``cleaned`` text.
- Hindi: a CSV of the same family; the text, tokens, rationale and label columns are
  found by name (options override), and an ambiguous or missing column is an error.

What the loader does with them, so that every published row loads:

- On a label-0 row a rationale cell that is not a list (empty, or any note) becomes an
  all-zero mask, counted in ``ds.report["normalised"]`` by reason; the note is kept in
  ``example.meta["rationale_note"]``. The same note on a label-1 row is an error naming
  file, line and field (an empty cell there means "no rationale": ``rationale`` None,
  counted as ``rows_without_rationale``).
- An all-zero list of the wrong length on a label-0 row becomes all zeros of the right
  length (counted); any other length mismatch is an error.
- A row without tokens is skipped whatever ``on_error`` says (``empty_rows="error"``
  makes it an error instead): it has nothing to classify or explain. It is counted in
  ``ds.report["skipped_by_reason"]`` and its file and line are in
  ``ds.report["rows_without_tokens"]``. The paper split is still taken over every row of
  the file in order, so the split is the authors' (5,382 / 951 on the English file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError, DataNotFoundError, ParameterError
from ..types import Dataset, Example
from ..words import segment
from .base import register
from .paths import candidate_dirs, not_found
from .reading import Problems, bad, iter_csv, parse_list, parse_mask

FOLDER = "xmutest"
LANGS = ("en", "hi", "te")
SPLITS = ["train", "test"]
LABEL_NAMES = ["normal", "hate"]  # the files' 0 and 1
PAPER_SPLIT = {"test_size": 0.15, "random_state": 42}

OPTIONS = {
    "lang": '"en" (default), "hi" or "te"',
    "path": "a CSV file, a folder of CSVs or a list of CSVs (default: <data>/xmutest/<lang>/)",
    "text_column": "the text column (default: found by name: text, text_english, ...)",
    "tokens_column": 'the tokens column (default: found by name, "tokens")',
    "rationale_column": 'the rationale column (default: found by name, "rationale")',
    "label_column": 'the label column (default: found by name, "label")',
    "empty_rows": '"skip" (default: a row without tokens is skipped and reported) or "error"',
}
EMPTY_ROWS = ("skip", "error")


def _csvs(lang: str, path: Any, data_dir: str | os.PathLike | None) -> list[Path]:
    if path is not None:
        items = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        files: list[Path] = []
        for item in items:
            p = Path(item).expanduser()
            if p.is_dir():
                files.extend(sorted(p.glob("*.csv")))
            elif p.is_file():
                files.append(p)
            else:
                raise DataNotFoundError(f"{p}: no such X-MuTeST CSV file or folder")
        if not files:
            raise DataNotFoundError(f"no .csv files in {', '.join(map(str, items))}")
        return files
    for d in candidate_dirs(data_dir):
        files = sorted((d / FOLDER / lang).glob("*.csv"))
        if files:
            return files
    raise not_found("xmutest", f"{FOLDER}/{lang}", ["the X-MuTeST CSV file(s) for this language"],
                    data_dir, fetchable=False,
                    extra="X-MuTeST is not redistributed; obtain the CSVs from its authors.")


def _roles(files: list[Path]) -> dict[str, Path]:
    """{"train": f, "test": f} for separate files, or {"all": f} for one file."""
    if len(files) == 1:
        return {"all": files[0]}
    roles: dict[str, Path] = {}
    for f in files:
        name = f.name.lower()
        role = "train" if "train" in name else "test" if "test" in name else None
        if role is None or role in roles:
            raise DataError(f"cannot tell the train and test files apart in "
                            f"{[x.name for x in files]}: pass one CSV, or two whose names "
                            "contain 'train' and 'test'", path=str(f.parent))
        roles[role] = f
    return roles


def _find(data_dir: str | os.PathLike | None) -> list[tuple[str | None, dict]]:
    out: list[tuple[str | None, dict]] = []
    for lang in LANGS:
        try:
            _csvs(lang, None, data_dir)
        except DataNotFoundError:
            continue
        out.extend((s, {"lang": lang}) for s in SPLITS)
    return out


def detect_columns(header: Sequence[str], path: Path, overrides: dict[str, str | None]
                   ) -> dict[str, str | None]:
    """Map roles (text, tokens, rationale, label) to column names, by name or override."""
    lower = {c: c.strip().lower() for c in header}
    rules = {
        "text": lambda c: (c == "text" or c.startswith("text_") or c.endswith("_text")
                           or c in ("sentence", "post", "tweet", "comment"))
        and "preprocess" not in c and "clean" not in c,
        "tokens": lambda c: c in ("tokens", "token", "words") or c.endswith("_tokens"),
        "rationale": lambda c: "rationale" in c,
        "label": lambda c: c in ("label", "labels", "class") or c.endswith("_label"),
    }
    out: dict[str, str | None] = {}
    for role, rule in rules.items():
        given = overrides.get(role)
        if given is not None:
            if given not in header:
                raise bad(f"no column {given!r} ({role}_column); columns: {list(header)}", path, 1,
                          reason="missing column")
            out[role] = given
            continue
        found = [c for c in header if rule(lower[c])]
        if len(found) > 1:
            raise bad(f"ambiguous {role} column: {found}; pass {role}_column= to choose",
                      path, 1, reason="ambiguous column")
        out[role] = found[0] if found else None
    for role in ("label", "rationale"):
        if out[role] is None:
            raise bad(f"no {role} column found among {list(header)}; pass {role}_column=",
                      path, 1, reason="missing column")
    if out["tokens"] is None and out["text"] is None:
        raise bad(f"no tokens or text column found among {list(header)}; pass tokens_column= "
                  "or text_column=", path, 1, reason="missing column")
    return out


def _label(value: str, path: Path, line: int, field: str) -> int:
    v = value.strip()
    try:
        f = float(v)
    except ValueError:
        f = None
    if f is not None and f in (0.0, 1.0):
        return int(f)
    raise bad(f"unknown label {value!r}; expected 0 (not hate) or 1 (hate/offensive)", path,
              line, field, reason="unknown label")


def _is_list_cell(raw: str) -> bool:
    """Whether a rationale cell is written as a list (possibly a malformed one)."""
    return raw.startswith(("[", "("))


def _rationale(raw: str, label: int, n_words: int, path: Path, line: int, field: str,
               problems: Problems, role: str, meta: dict[str, Any]) -> list[int] | None:
    """The 0/1 mask of one row from its rationale cell (see the module docstring)."""
    if not _is_list_cell(raw):
        if label != 0:
            if not raw:
                problems.count("rows_without_rationale")
                return None
            raise bad(f"rationale {raw!r} is not a list such as [0, 1, 0]; a note instead of a "
                      "list is only accepted on a non-hate (label 0) row", path, line, field,
                      reason="note instead of a rationale on a hate row")
        if raw:
            meta["rationale_note"] = raw
            problems.note(f"{role}: rationale {raw!r} -> all zeros")
        else:
            problems.note(f"{role}: empty rationale -> all zeros")
        return [0] * n_words
    values = parse_mask(raw, n_words, path, line, field, check_length=False)
    if len(values) != n_words:
        if label == 0 and not any(values):
            problems.note(f"{role}: all-zero rationale of the wrong length on a non-hate row "
                          "-> all zeros of the right length")
            return [0] * n_words
        raise bad(f"{len(values)} rationale values for {n_words} words", path, line, field,
                  reason="rationale length != words")
    return values


def _row(rec: dict[str, str], cols: dict[str, str | None], path: Path, line: int, ex_id: str,
         lang: str, problems: Problems, role: str) -> Example:
    text = rec[cols["text"]] if cols["text"] else None
    if cols["tokens"]:
        tokens = parse_list(rec[cols["tokens"]], path, line, cols["tokens"])
        if not all(isinstance(t, str) for t in tokens):
            raise bad("tokens must be a list of strings", path, line, cols["tokens"],
                      reason="tokens: not strings")
    else:
        tokens = segment(text or "")
    if not tokens or not any(t.strip() for t in tokens):
        raise _NoTokens(bad("empty text (no tokens)", path, line, cols["tokens"] or cols["text"],
                            reason="empty text (no tokens)"))
    label_col = cols["label"]
    assert label_col is not None  # detect_columns always finds the label column
    label = _label(rec[label_col], path, line, label_col)
    rfield = cols["rationale"]
    assert rfield is not None  # detect_columns always finds the rationale column
    meta: dict[str, Any] = {"source": path.name}
    rationale = _rationale(rec[rfield].strip(), label, len(tokens), path, line, rfield, problems,
                           role, meta)
    if text is not None:
        meta["text"] = text
    if "Unnamed: 0" in rec:
        meta["index"] = rec["Unnamed: 0"]
    return Example(id=ex_id, words=tuple(tokens), label=label, rationale=rationale, lang=lang,
                   meta=meta)


class _NoTokens(Exception):
    """A row without tokens (wraps its DataError): skipped unless ``empty_rows="error"``."""

    def __init__(self, error: DataError) -> None:
        super().__init__(str(error))
        self.error = error


def _skip_always(problems: Problems, err: DataError) -> None:
    """Count ``err`` as a skipped row even when ``on_error="raise"``."""
    mode, problems.on_error = problems.on_error, "skip"
    try:
        problems.skip(err)
    finally:
        problems.on_error = mode


def _read(path: Path, role: str, lang: str, problems: Problems, overrides: dict[str, str | None],
          empty_rows: str) -> tuple[list[tuple[int, Example]], list[tuple[int, DataError]], int]:
    """The good rows as (row index, Example), the rows without tokens as (row index, error),
    and the file's number of data rows."""
    header, rows = iter_csv(path, problems)
    cols = detect_columns(header, path, overrides)
    out: list[tuple[int, Example]] = []
    empty: list[tuple[int, DataError]] = []
    n = 0
    for k, line, rec in rows:
        n = k + 1
        ex_id = f"{lang}-{k}" if role == "all" else f"{lang}-{role}-{k}"
        try:
            out.append((k, _row(rec, cols, path, line, ex_id, lang, problems, role)))
        except _NoTokens as no_tokens:
            if empty_rows == "error":
                problems.skip(no_tokens.error)
            else:
                empty.append((k, no_tokens.error))
        except DataError as err:
            problems.skip(err)
    return out, empty, n


def _skip_empty(empty: list[tuple[int, DataError]], keep: Any, problems: Problems,
                report: dict[str, Any]) -> None:
    """Count the rows without tokens that belong to the split being loaded."""
    for k, err in empty:
        if keep is None or k in keep:
            _skip_always(problems, err)
            report.setdefault("rows_without_tokens", []).append(
                f"{Path(err.path or '').name} line {err.line}")


@register("xmutest", "X-MuTeST: English, Hindi and Telugu hate speech with token rationales "
          "(CSV files from the authors; lang= en|hi|te)", splits=SPLITS, options=OPTIONS,
          find=_find, aliases={"paper-train": "train", "paper-test": "test"})
def load_xmutest(split: str | None, *, data_dir: str | os.PathLike | None = None,
                 problems: Problems, lang: str = "en", path: Any = None,
                 text_column: str | None = None, tokens_column: str | None = None,
                 rationale_column: str | None = None, label_column: str | None = None,
                 empty_rows: str = "skip") -> Dataset:
    """X-MuTeST: English, Hindi and Telugu hate speech with token rationales."""
    if lang not in LANGS:
        raise ParameterError(f"xmutest option lang={lang!r}; expected one of {LANGS}")
    if empty_rows not in EMPTY_ROWS:
        raise ParameterError(f"xmutest option empty_rows={empty_rows!r}; expected one of {EMPTY_ROWS}")
    overrides = {"text": text_column, "tokens": tokens_column, "rationale": rationale_column,
                 "label": label_column}
    roles = _roles(_csvs(lang, path, data_dir))
    report: dict[str, Any] = {"files": [str(p) for p in roles.values()]}
    examples: list[Example] = []
    if "all" in roles:
        rows, empty, n = _read(roles["all"], "all", lang, problems, overrides, empty_rows)
        keep: set[int] | None = None
        if split is not None:
            from sklearn.model_selection import train_test_split

            # Split row positions, as the authors split their DataFrame in file order.
            train_idx, test_idx = train_test_split(list(range(n)), **PAPER_SPLIT)
            keep = set(train_idx if split == "train" else test_idx)
            report["split_method"] = ("paper: sklearn train_test_split(test_size=0.15, "
                                      f"random_state=42) over the file's {n} rows in order")
        examples = [ex for k, ex in rows if keep is None or k in keep]
        _skip_empty(empty, keep, problems, report)
    else:
        for role in ([split] if split is not None else SPLITS):
            if role not in roles:
                raise DataNotFoundError(f"xmutest {lang}: no {role} CSV among "
                                        f"{[p.name for p in roles.values()]}")
            rows, empty, _ = _read(roles[role], role, lang, problems, overrides, empty_rows)
            examples.extend(ex for _, ex in rows)
            _skip_empty(empty, None, problems, report)
        report["split_method"] = "files"
    ds = Dataset(examples, list(LABEL_NAMES), f"xmutest-{lang}", split)
    ds.report = report
    return ds
